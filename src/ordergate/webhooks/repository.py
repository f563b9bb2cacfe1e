"""The webhooks' SQL: a vendor's webhook, the outbox rows, and the orders events are about."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, delete, exists, func, select, update
from sqlalchemy.orm import Session

from ordergate.db import (
    PageRequest,
    chunks,
    in_list,
    paginate,
    rows_changed,
    update_vendor_row,
    upsert_insert,
    upsert_vendor_row,
)
from ordergate.orders.deadlines import DeadlineState, deadline_conditions
from ordergate.orders.exception_context import exception_context
from ordergate.orders.models import OrderItemException, OrderItemUnit, UnitState
from ordergate.scope import Scope, VendorScope, scoped
from ordergate.webhooks.models import DeliveryStatus, VendorWebhook, WebhookDelivery, WebhookEvent

EVERY_VENDOR = Scope(actor_user_id=None, vendor_id=None, is_admin=True)
# Rows per INSERT: 8 bound values each, well below SQLite's 32,766 per statement.
INSERT_BATCH_ROWS = 500

# --- the vendor's webhook --------------------------------------------------------------------


def find_webhook(session: Session, scope: VendorScope) -> VendorWebhook | None:
    return session.scalar(scoped(select(VendorWebhook), scope, VendorWebhook.vendor_id))


def update_webhook(
    session: Session, scope: VendorScope, values: dict[str, Any]
) -> VendorWebhook | None:
    """Change the stored webhook; None when there is none. No values: read it."""
    return update_vendor_row(session, VendorWebhook, scope.vendor_id, values)


def upsert_webhook(
    session: Session, scope: VendorScope, *, created: dict[str, Any], changed: dict[str, Any]
) -> VendorWebhook:
    """Insert the vendor's webhook (``created``); if it exists by then, apply ``changed``."""
    return upsert_vendor_row(
        session, VendorWebhook, scope.vendor_id, created=created, changed=changed
    )


def delete_webhook(session: Session, scope: VendorScope) -> bool:
    result = session.execute(
        delete(VendorWebhook)
        .where(VendorWebhook.vendor_id == scope.vendor_id)
        .execution_options(synchronize_session=False)
    )
    return bool(rows_changed(result))


def webhooks_of(session: Session, vendor_ids: Sequence[int]) -> dict[int, VendorWebhook]:
    rows = session.scalars(
        select(VendorWebhook).where(in_list(session, VendorWebhook.vendor_id, vendor_ids))
    )
    return {row.vendor_id: row for row in rows}


# --- the outbox ------------------------------------------------------------------------------


def insert_deliveries(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert outbox rows; a row whose (vendor, event, dedupe key) exists is skipped. Their ids."""
    ids: list[int] = []
    for batch in chunks(rows, INSERT_BATCH_ROWS):
        statement = (
            upsert_insert(session)(WebhookDelivery)
            .values(batch)
            .on_conflict_do_nothing(index_elements=["vendor_id", "event", "dedupe_key"])
            .returning(WebhookDelivery.id)
        )
        ids.extend(session.scalars(statement))
    return ids


def has_webhook(vendor_id: Any) -> Any:
    return exists().where(VendorWebhook.vendor_id == vendor_id)


def deliveries_page(
    session: Session, scope: VendorScope, page: PageRequest, *, status: str | None
) -> tuple[list[WebhookDelivery], int]:
    """The vendor's deliveries, newest first, and how many there are."""
    statement = scoped(select(WebhookDelivery), scope, WebhookDelivery.vendor_id)
    if status is not None:
        statement = statement.where(WebhookDelivery.status == status)
    return paginate(session, statement.order_by(WebhookDelivery.id.desc()), page)


def find_delivery(session: Session, scope: Scope, delivery_id: int) -> WebhookDelivery | None:
    return session.scalar(
        scoped(select(WebhookDelivery), scope, WebhookDelivery.vendor_id).where(
            WebhookDelivery.id == delivery_id
        )
    )


def due_ids(
    session: Session, *, now: datetime, limit: int, only: Sequence[int] | None = None
) -> list[int]:
    statement = select(WebhookDelivery.id).where(
        WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= now
    )
    if only is not None:
        statement = statement.where(WebhookDelivery.id.in_(only))
    statement = statement.order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
    return list(session.scalars(statement.limit(limit)))


def claim(
    session: Session, ids: Sequence[int], *, now: datetime, until: datetime
) -> list[WebhookDelivery]:
    """Take the due rows of ``ids`` for one attempt: counted, and due again only at ``until``
    (a sender that dies leaves them to the next). The condition sits in the UPDATE, so of two
    senders exactly one takes a row."""
    if not ids:
        return []
    statement = (
        update(WebhookDelivery)
        .where(
            in_list(session, WebhookDelivery.id, ids),
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.next_attempt_at <= now,
        )
        .values(attempts=WebhookDelivery.attempts + 1, last_attempt_at=now, next_attempt_at=until)
        .returning(WebhookDelivery)
    )
    rows = session.scalars(statement, execution_options={"populate_existing": True})
    return sorted(rows, key=lambda row: row.id)


def record_outcome(session: Session, delivery_id: int, values: dict[str, Any]) -> None:
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


# --- the orders events are about ---------------------------------------------------------------


def confirmable_orders(session: Session, exception_ids: Sequence[int]) -> list[Any]:
    """(vendor_id, order_id, order_number) of the orders of these just-resolved exceptions that
    await confirmation, whose vendor has a webhook, where the resolved exception had blocked
    (its line is not declined) and no exception blocks any more. One statement."""
    resolved = exception_context.c
    other = exception_context.alias("other")
    line_not_declined = exists().where(
        OrderItemUnit.order_item_id == OrderItemException.order_item_id,
        OrderItemUnit.state != UnitState.CONFIRMED_UNAVAILABLE,
    )
    statement = (
        select(resolved.vendor_id, resolved.order_id, resolved.order_number)
        .join(OrderItemException, OrderItemException.id == resolved.exception_id)
        .where(
            in_list(session, resolved.exception_id, exception_ids),
            resolved.awaiting,
            line_not_declined,
            has_webhook(resolved.vendor_id),
            ~exists().where(other.c.order_id == resolved.order_id, other.c.blocking),
        )
        .distinct()
        .order_by(resolved.order_id)
    )
    return list(session.execute(statement))


def at_risk_orders(session: Session, *, now: datetime, limit: int) -> list[Any]:
    """(vendor_id, order_id, order_number, confirm_by) of orders at risk at ``now`` whose vendor
    has a webhook and that were never notified: one statement over the deadline index."""
    context = exception_context.c
    notified = exists().where(
        WebhookDelivery.vendor_id == context.vendor_id,
        WebhookDelivery.event == WebhookEvent.ORDER_DEADLINE_AT_RISK,
        WebhookDelivery.dedupe_key == cast(context.order_id, String),
    )
    statement = (
        select(
            context.vendor_id,
            context.order_id,
            func.max(context.order_number).label("order_number"),
            func.max(context.due_at).label("confirm_by"),
        )
        .where(
            *deadline_conditions(DeadlineState.AT_RISK, scope=EVERY_VENDOR, now=now),
            has_webhook(context.vendor_id),
            ~notified,
        )
        .group_by(context.vendor_id, context.order_id)
        .order_by(context.order_id)
        .limit(limit)
    )
    return list(session.execute(statement))
