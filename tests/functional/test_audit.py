"""The audit service (审计记录): masked who, what, when, result, source; secrets dropped."""

from __future__ import annotations

from chalicelib import clock
from chalicelib.services import audit


def test_record_masks_identifiers_and_drops_secrets(aws):
    now = clock.parse("2026-07-15T09:00:00+08:00")
    item = audit.record("payment.remittance", role="depositor", who="140105198506150617", result=audit.OK, now=now,
                        source="10.1.2.3", details={"phone": "13912345678", "card": "6222021234567890123",
                                                    "password": "secret-pw", "sms_code": "123456",
                                                    "amount": "2126.00"})
    stored = audit.events_of("depositor", "140105198506150617")
    assert len(stored) == 1
    event = stored[0]
    assert event.actor == "depositor:140105********0617" == item.actor
    assert event.at == "2026-07-15T09:00:00+08:00" and event.day == "2026-07-15"
    assert event.source == "10.1.2.3" and event.result == "ok" and event.event == "payment.remittance"
    details = event.details.as_dict()
    assert details == {"phone": "139****5678", "card": "622202*********0123", "amount": "2126.00"}


def test_an_audit_outage_does_not_fail_the_caller(monkeypatch, aws):
    from chalicelib.store.audit import AuditEvent

    def broken(self, *a, **k):
        raise RuntimeError("table gone")

    monkeypatch.setattr(AuditEvent, "save", broken)
    audit.record("auth.logout", role="depositor", who="u1", result=audit.OK)


def test_build_gives_an_unsaved_masked_event_for_a_transaction(aws):
    from pynamodb.transactions import TransactWrite

    from chalicelib.store import base

    event = audit.build("payment.withdrawal", role="depositor", who="13912345678", result=audit.OK,
                        details={"serial_no": "W1"})
    assert audit.events_of("depositor", "13912345678") == []
    with TransactWrite(connection=base.connection()) as tx:
        tx.save(event)
    stored = audit.events_of("depositor", "13912345678")
    assert [e.actor for e in stored] == ["depositor:139****5678"]
