import json

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters import sms


def test_local_outbox_appends_one_json_line_per_sms(local_dir):
    outbox = sms.LocalOutbox()
    outbox.send("13812345678", "您的验证码为 123456，5分钟内有效")
    outbox.send("13812345679", "second")
    lines = (local_dir / "sms.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["phone"] == "13812345678" and "123456" in first["text"] and "+08:00" in first["sent_at"]


def test_local_stage_picks_the_outbox(local_dir):
    sms.reset()
    assert isinstance(sms.sender(), sms.LocalOutbox)
    sms.reset()


def test_other_stages_pick_sns_and_cannot_be_switched(local_dir, monkeypatch):
    from chalicelib import settings

    monkeypatch.setenv("GJJ_STAGE", "prod")
    settings.reset()
    sms.reset()
    try:
        assert isinstance(sms.sender(), sms.SnsSms)
    finally:
        sms.reset()
        monkeypatch.setenv("GJJ_STAGE", "local")
        settings.reset()


def test_sns_publishes_to_the_phone_in_e164():
    with mock_aws():
        client = boto3.client("sns", region_name="us-east-1")
        message_id = sms.SnsSms(client=client).send("13812345678", "hello")
        assert message_id
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.sns.models import sns_backends

        sent = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages
        assert any(number == "+8613812345678" and text == "hello" for number, text in sent.values())


def test_sns_failure_becomes_sms_error():
    class Failing:
        def publish(self, **kwargs):
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "Publish")

    with pytest.raises(sms.SmsError):
        sms.SnsSms(client=Failing()).send("13812345678", "x")
