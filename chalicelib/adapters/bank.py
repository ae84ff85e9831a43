"""The bank gateway (银行接口): debits for remittances (汇缴扣款) and payouts for withdrawals (提取转账).

Both operations carry our business serial as ``reference``; the bank answers the same for the same
reference, so a retried request never moves money twice (the simulator behaves the same way).

* :class:`LocalBank` (local stage): every debit and payout succeeds, except for cards whose number
  ends in ``0000``, which the bank declines. Results are kept in ``<local_dir>/bank.jsonl``.
* :class:`HttpBank` (AWS stages): JSON over HTTPS to the bank's front processor (``GJJ_BANK_URL``),
  each request signed with HMAC-SHA256 over the body (``GJJ_BANK_KEY``, from SSM in production) and
  each answer's signature verified before it is believed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from chalicelib import adapters, clock, settings


@dataclass(frozen=True)
class BankResult:
    ok: bool
    bank_serial: str | None = None
    reason: str | None = None          # the bank's words when it declines, shown to the citizen


class BankUnavailable(Exception):
    """No answer we can trust (timeout, bad signature, 5xx): the outcome is unknown; retry with the same
    reference."""


class BankGateway(Protocol):
    def debit(self, card_no: str, amount: int, reference: str) -> BankResult: ...

    def payout(self, card_no: str, amount: int, reference: str) -> BankResult: ...


DECLINED_SUFFIX = "0000"


class LocalBank:
    """The local simulator (CONTRACT section 1)."""

    _lock = threading.Lock()

    def __init__(self, path=None):
        self._path = path

    @property
    def path(self):
        """The file under this process's current ``.local/`` (read each time: tests move it)."""
        return self._path or settings.get().local_dir / "bank.jsonl"

    def debit(self, card_no: str, amount: int, reference: str) -> BankResult:
        return self._operate("debit", card_no, amount, reference)

    def payout(self, card_no: str, amount: int, reference: str) -> BankResult:
        return self._operate("payout", card_no, amount, reference)

    def _operate(self, op: str, card_no: str, amount: int, reference: str) -> BankResult:
        if amount <= 0:
            raise ValueError("amount must be positive fen")
        with self._lock:
            for line in self.read():
                if line["op"] == op and line["reference"] == reference:
                    return BankResult(ok=line["ok"], bank_serial=line.get("bank_serial"), reason=line.get("reason"))
            if card_no.endswith(DECLINED_SUFFIX):
                result = BankResult(ok=False, reason="银行拒绝交易：卡状态异常")
            else:
                result = BankResult(ok=True, bank_serial="SIM" + hashlib.sha256(f"{op}#{reference}".encode())
                                    .hexdigest()[:12].upper())
            record = {"op": op, "reference": reference, "card_tail": card_no[-4:], "amount": amount,
                      "ok": result.ok, "bank_serial": result.bank_serial, "reason": result.reason,
                      "at": clock.iso(clock.now())}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            return result

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(x) for x in self.path.read_text(encoding="utf-8").splitlines() if x.strip()]


class HttpBank:
    """The production client: ``POST <url>/{debit|payout}`` with ``X-Signature: hex(hmac(key, body))``."""

    def __init__(self, url: str | None = None, key: bytes | None = None, timeout: float = 8.0):  # float ok: seconds
        self.url = (url or os.environ.get("GJJ_BANK_URL", "")).rstrip("/")
        self._key = key
        self.timeout = timeout

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = _key_from_ssm()
        return self._key

    def sign(self, body: bytes) -> str:
        return hmac.new(self.key, body, hashlib.sha256).hexdigest()

    def debit(self, card_no: str, amount: int, reference: str) -> BankResult:
        return self._call("debit", card_no, amount, reference)

    def payout(self, card_no: str, amount: int, reference: str) -> BankResult:
        return self._call("payout", card_no, amount, reference)

    def _call(self, op: str, card_no: str, amount: int, reference: str) -> BankResult:
        if not self.url:
            raise BankUnavailable("GJJ_BANK_URL is not set")
        body = json.dumps({"card_no": card_no, "amount_fen": amount, "reference": reference},
                          separators=(",", ":")).encode()
        request = urllib.request.Request(f"{self.url}/{op}", data=body, method="POST",
                                         headers={"Content-Type": "application/json", "X-Signature": self.sign(body)})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:  # noqa: S310 (https URL from config)
                answer, signature = resp.read(), resp.headers.get("X-Signature", "")
        except urllib.error.HTTPError as exc:
            if exc.code >= 500:
                raise BankUnavailable(f"bank answered {exc.code}") from None
            answer, signature = exc.read(), exc.headers.get("X-Signature", "")
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise BankUnavailable(f"bank unreachable: {exc.__class__.__name__}") from None
        if not hmac.compare_digest(self.sign(answer), signature):
            raise BankUnavailable("bank answer signature does not verify")
        try:
            data = json.loads(answer)
        except ValueError:
            raise BankUnavailable("bank answer is not JSON") from None
        if data.get("reference") != reference:
            raise BankUnavailable("bank answered for another reference")
        if data.get("status") == "ok":
            return BankResult(ok=True, bank_serial=str(data.get("bank_serial") or ""))
        if data.get("status") == "declined":
            return BankResult(ok=False, reason=str(data.get("reason") or "银行拒绝交易"))
        raise BankUnavailable(f"unknown bank status {data.get('status')!r}")


def _key_from_ssm() -> bytes:
    import boto3

    name = os.environ.get("GJJ_BANK_KEY_PARAMETER", f"/gjj/{settings.get().stage}/bank-key")
    value = boto3.client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    return value.encode()


_gateway: BankGateway | None = None


def gateway() -> BankGateway:
    """The bank of this stage (cached)."""
    global _gateway
    if _gateway is None:
        _gateway = adapters.pick(LocalBank, HttpBank)
    return _gateway


def reset() -> None:
    global _gateway
    _gateway = None
