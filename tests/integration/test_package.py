"""`make package` output: a CloudFormation template cfn-lint accepts, declaring what operations need."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _package(out: Path) -> Path:
    env = {**os.environ, "AWS_DEFAULT_REGION": "cn-north-1"}
    subprocess.run([sys.executable, "-m", "deploy.template", "--stage", "prod", "--out", str(out / "extra")],
                   cwd=ROOT, check=True, env=env, capture_output=True)
    chalice = Path(sys.executable).parent / "chalice"
    result = subprocess.run([str(chalice), "package", "--stage", "prod", "--merge-template",
                             str(out / "extra" / "resources.json"), str(out / "prod")],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return out / "prod" / "sam.json"


@pytest.fixture(scope="module")
def template(tmp_path_factory, worker_id) -> Path:
    """One `chalice package` per test run: pytest-xdist workers share the run's base temp dir and take turns
    under a file lock, so a second worker reuses the first one's template instead of building it again."""
    import fcntl

    if worker_id == "master":
        return _package(tmp_path_factory.mktemp("package"))
    shared = tmp_path_factory.getbasetemp().parent / "package"
    shared.mkdir(exist_ok=True)
    with open(shared / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        sam = shared / "prod" / "sam.json"
        return sam if sam.exists() else _package(shared)


def resources(path: Path) -> dict:
    return json.loads(path.read_text())["Resources"]


def test_cfn_lint_accepts_the_template(template):
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), "--format", "parseable", str(template)], capture_output=True, text=True,
                            timeout=300)
    errors = [line for line in result.stdout.splitlines() if ":E" in line.split(" ")[0] or ":E" in line]
    assert result.returncode & 2 == 0 and not errors, result.stdout[-3000:]   # warnings (4) and info (8) allowed


def test_every_table_is_declared_protected_and_on_demand(template):
    from chalicelib.store import base

    tables = {r["Properties"]["TableName"]: r["Properties"] for r in resources(template).values()
              if r["Type"] == "AWS::DynamoDB::Table"}
    for model in base.all_models():
        props = tables[f"gjj-prod-{model.Meta.logical_name}"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["DeletionProtectionEnabled"] is True
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        indexes = {i["IndexName"] for i in props.get("GlobalSecondaryIndexes", [])}
        assert indexes == {i["index_name"] for i in model._get_schema()["global_secondary_indexes"]}


def test_bucket_is_private_and_encrypted(template):
    bucket = resources(template)["UploadsBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]


def test_scheduled_functions_have_failure_destinations_and_own_roles(template):
    from chalicelib import jobs

    res = resources(template)
    for job in jobs.JOBS.values():
        name = "".join(p.capitalize() for p in job.function_name.split("_"))
        config = res[f"{name}InvokeConfig"]["Properties"]
        assert config["DestinationConfig"]["OnFailure"]["Destination"]
        assert config["MaximumRetryAttempts"] <= 2 and config["MaximumEventAgeInSeconds"] <= 21600
        assert res[name]["Properties"]["Role"]["Fn::GetAtt"][0] == f"{name}Role"


def test_log_retention_is_at_least_180_days(template):
    groups = [r for r in resources(template).values() if r["Type"] == "AWS::Logs::LogGroup"]
    assert groups and all(g["Properties"]["RetentionInDays"] >= 180 for g in groups)


def test_job_roles_reach_only_their_own_tables(template):
    res = resources(template)
    role = res["OpenRemittanceWindowRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    table_arns = [json.dumps(arn) for s in role
                  for arn in (s.get("Resource") if isinstance(s.get("Resource"), list) else [])
                  if "dynamodb" in json.dumps(arn)]
    assert table_arns and all("gjj-prod-state" in arn for arn in table_arns)


def _function_names(res: dict) -> list[str]:
    return [name for name, r in res.items() if r["Type"] in ("AWS::Serverless::Function", "AWS::Lambda::Function")]


def test_every_function_has_its_own_log_group_kept_180_days(template):
    res = resources(template)
    groups = {json.dumps(r["Properties"]["LogGroupName"]): r["Properties"]["RetentionInDays"]
              for r in res.values() if r["Type"] == "AWS::Logs::LogGroup"}
    for name in _function_names(res):
        [retention] = [days for group, days in groups.items() if "${" + name + "}" in group]
        assert retention >= 180, name


def _statements(res: dict, function: str) -> list[dict]:
    role = res[function]["Properties"]["Role"]["Fn::GetAtt"][0]
    return [s for p in res[role]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


def test_only_the_api_and_dispatch_sms_may_send_sms_and_only_to_phone_numbers(template):
    res = resources(template)
    senders = {name for name in _function_names(res)
               if any("sns:Publish" in s["Action"] for s in _statements(res, name))}
    assert senders == {"APIHandler", "DispatchSms"}
    for name in senders:
        [sms] = [s for s in _statements(res, name) if "sns:Publish" in s["Action"]]
        assert "Resource" not in sms and "sns:*:*:*" in json.dumps(sms["NotResource"])   # every topic excluded


def test_policies_name_arns_in_the_stacks_own_partition(template):
    # China regions are the aws-cn partition: a literal "arn:aws:" would grant nothing there
    res = resources(template)
    for name in _function_names(res):
        text = json.dumps(_statements(res, name))
        assert '"arn:aws:' not in text, (name, text[:500])


def test_the_web_hall_is_a_private_bucket_behind_cloudfront_with_the_api_on_the_same_origin(template):
    res = resources(template)
    bucket = res["WebHallBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    [read] = [s for s in res["WebHallBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
              if s["Effect"] == "Allow"]
    assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"} and read["Action"] == "s3:GetObject"
    assert "${WebHallDistribution}" in json.dumps(read["Condition"])        # that distribution only
    config = res["WebHallDistribution"]["Properties"]["DistributionConfig"]
    origins = {o["Id"]: o for o in config["Origins"]}
    assert config["DefaultCacheBehavior"]["TargetOriginId"] == "web" and config["DefaultRootObject"] == "index.html"
    assert origins["web"]["OriginAccessControlId"]
    [api] = config["CacheBehaviors"]
    assert api["PathPattern"] == "/v1/*" and api["TargetOriginId"] == "api" and "POST" in api["AllowedMethods"]
    assert "${RestAPI}" in json.dumps(origins["api"]["DomainName"])
    assert origins["api"]["OriginPath"] == "/api"      # chalice's api_gateway_stage in .chalice/config.json
    assert api["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"   # AWS's managed CachingDisabled
    # the deployed API has no page routes of its own (the local stage's blueprint is not registered)
    paths = res["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    assert paths and all(p.startswith("/v1/") for p in paths)


def test_the_job_worker_takes_one_message_at_a_time_from_a_dead_lettered_queue(template):
    # issue 18: shards' messages on their own queue, failures to the jobs DLQ (which has the alarm), the worker's
    # concurrency capped by the stage config, its role limited to the fan-out jobs' tables and that queue
    from deploy import template as tpl

    res = resources(template)
    queue = res["JobsQueue"]["Properties"]
    assert queue["QueueName"] == "gjj-prod-jobs"
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}
    assert queue["VisibilityTimeout"] > res["JobWorker"]["Properties"]["Timeout"] == 900
    [event] = res["JobWorker"]["Properties"]["Events"].values()
    assert event["Type"] == "SQS" and event["Properties"]["BatchSize"] == 1
    assert event["Properties"]["Queue"] == {"Fn::Sub": "${JobsQueue.Arn}"}
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]["prod"]
    assert res["JobWorker"]["Properties"]["ReservedConcurrentExecutions"] == \
        config["lambda_functions"]["job_worker"]["reserved_concurrency"]
    statements = _statements(res, "JobWorker")
    tables = {arn["Fn::Sub"].split("table/gjj-prod-")[1].split("/")[0] for s in statements
              for arn in (s["Resource"] if isinstance(s.get("Resource"), list) else []) if "dynamodb" in json.dumps(arn)}
    assert tables == set(tpl.worker_tables()) >= set(tpl.JOB_TABLES["settle-annual-interest"]) | set(
        tpl.JOB_TABLES["import"])
    [sqs] = [s for s in statements if any(a.startswith("sqs:") for a in s["Action"])]
    assert sqs["Resource"] == {"Fn::GetAtt": ["JobsQueue", "Arn"]} and "sqs:ReceiveMessage" in sqs["Action"]
    coordinator = [s for s in _statements(res, "SettleAnnualInterest") if "sqs:SendMessage" in s["Action"]]
    assert {"Fn::GetAtt": ["JobsQueue", "Arn"]} in [s["Resource"] for s in coordinator]
