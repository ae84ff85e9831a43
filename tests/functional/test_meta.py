import json


def test_health_reports_the_stage_clock(aws, client, clock_file):
    # GIVEN the local clock file says it is 15 July, 09:00 China time
    clock_file("2026-07-15T09:00:00+08:00")
    # WHEN the health route is called
    response = client.http.get("/v1/health")
    # THEN it answers with that time
    assert response.status_code == 200
    assert response.json_body["now"] == "2026-07-15T09:00:00+08:00"


def test_openapi_document_lists_itself(aws, client):
    response = client.http.get("/v1/openapi.json")
    assert response.status_code == 200
    doc = json.loads(response.body)
    assert doc["openapi"] == "3.1.0"
    assert "/v1/openapi.json" in doc["paths"]
