"""Recording events: the only part of webhooks the other domains call. Each function writes
outbox rows (``webhook_deliveries``) in the caller's transaction, so an event exists exactly when
the change that caused it is committed; nothing here sends anything (``delivery.py`` does).
A vendor without a webhook gets no rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ordergate.db import in_list_batches, utcnow
from ordergate.webhooks import repository
from ordergate.webhooks.models import DeliveryStatus, WebhookEvent

# An exceptions.created body lists at most this many ids (a first sync can create tens of
# thousands); `exception_ids_truncated` says when more were created.
MAX_LISTED_IDS = 1000


def _row(
    vendor_id: int,
    event: WebhookEvent,
    data: dict[str, Any],
    *,
    at: datetime,
    dedupe_key: str | None = None,
) -> dict[str, Any]:
    return {
        "vendor_id": vendor_id,
        "event": event.value,
        "data": data,
        "dedupe_key": dedupe_key,
        "status": DeliveryStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": at,
        "occurred_at": at,
    }


def record_ping(session: Session, *, vendor_id: int) -> int:
    """A ``ping`` for the vendor (which must have a webhook); the delivery's id."""
    now = utcnow()
    (delivery_id,) = repository.insert_deliveries(
        session, [_row(vendor_id, WebhookEvent.PING, {"message": "ping"}, at=now)]
    )
    return delivery_id


def record_sync_exceptions(
    session: Session, *, vendor_id: int, counts: dict[str, Any], exception_ids: Sequence[int]
) -> int | None:
    """One ``exceptions.created`` for a sync run that created exceptions (``counts``: the
    run's id, status and counts); the delivery's id, or None (no webhook, none created)."""
    if not exception_ids or not repository.webhooks_of(session, [vendor_id]):
        return None
    data = {
        **counts,
        "exception_ids": list(exception_ids[:MAX_LISTED_IDS]),
        "exception_ids_truncated": len(exception_ids) > MAX_LISTED_IDS,
    }
    row = _row(vendor_id, WebhookEvent.EXCEPTIONS_CREATED, data, at=utcnow())
    (delivery_id,) = repository.insert_deliveries(session, [row])
    return delivery_id


def record_confirmable_orders(session: Session, *, exception_ids: Sequence[int]) -> int:
    """After exceptions were resolved (``item_exceptions.repository.write_resolution``): one
    ``order.confirmable`` per order whose last blocking exception this was; how many."""
    now = utcnow()
    rows = []
    for batch in in_list_batches(session, list(exception_ids)):
        for vendor_id, order_id, number in repository.confirmable_orders(session, batch):
            data = {"order_id": order_id, "order_number": number}
            rows.append(_row(vendor_id, WebhookEvent.ORDER_CONFIRMABLE, data, at=now))
    return len(repository.insert_deliveries(session, rows))


def record_at_risk_orders(session: Session, *, now: datetime, limit: int = 1000) -> int:
    """One ``order.deadline_at_risk`` per order now at risk (its stored deadline, less than
    24 h left) that was never notified: the unique dedupe key (the order id) makes it once per
    order, also when two scans race; how many were recorded (at most ``limit``)."""
    found = repository.at_risk_orders(session, now=now, limit=limit)
    rows = [
        _row(
            vendor_id,
            WebhookEvent.ORDER_DEADLINE_AT_RISK,
            {
                "order_id": order_id,
                "order_number": number,
                "confirm_by": confirm_by.isoformat(),
            },
            at=now,
            dedupe_key=str(order_id),
        )
        for vendor_id, order_id, number, confirm_by in found
    ]
    return len(repository.insert_deliveries(session, rows))
