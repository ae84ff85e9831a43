"""SMS (短信): Amazon SNS in AWS stages, the `.local/sms.jsonl` outbox in the local stage."""

from __future__ import annotations

import json
import threading
from typing import Protocol

from chalicelib import adapters, clock, settings


class SmsError(Exception):
    """The provider did not accept the message (the caller decides: 503 for codes, retry for queued)."""


class SmsSender(Protocol):
    def send(self, phone: str, text: str) -> str:
        """Send ``text`` to ``phone``; returns the provider's message id. Raises SmsError."""


class LocalOutbox:
    """Appends ``{"phone", "text", "sent_at"}`` lines to ``<local_dir>/sms.jsonl`` (local stage only)."""

    _lock = threading.Lock()

    def __init__(self, path=None):
        self._path = path

    @property
    def path(self):
        """The file under this process's current ``.local/`` (read each time: tests move it)."""
        return self._path or settings.get().local_dir / "sms.jsonl"

    def send(self, phone: str, text: str) -> str:
        line = json.dumps({"phone": phone, "text": text, "sent_at": clock.iso(clock.now())}, ensure_ascii=False)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        return f"local-{self.path.stat().st_size}"

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]


class SnsSms:
    """Amazon SNS direct publish to a phone number (transactional)."""

    def __init__(self, client=None, sender_id: str = "GJJ"):
        self._client = client
        self.sender_id = sender_id

    @property
    def client(self):
        if self._client is None:
            import boto3

            self._client = boto3.client("sns")
        return self._client

    def send(self, phone: str, text: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        number = phone if phone.startswith("+") else f"+86{phone}"
        try:
            answer = self.client.publish(
                PhoneNumber=number,
                Message=text,
                MessageAttributes={
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                    "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": self.sender_id},
                },
            )
        except (BotoCoreError, ClientError) as exc:
            raise SmsError(str(exc)) from exc
        return answer["MessageId"]


_sender: SmsSender | None = None


def sender() -> SmsSender:
    global _sender
    if _sender is None:
        _sender = adapters.pick(LocalOutbox, SnsSms)
    return _sender


def reset() -> None:
    global _sender
    _sender = None
