"""Events of the import and of fulfilment, one keyword-only constructor each."""

from __future__ import annotations

from ordergate.events.models import EventAction, EventSubject
from ordergate.events.repository import EventRow
from ordergate.orders.models import ExceptionStatus


def exception_created(
    *,
    exception_id: int,
    vendor_id: int,
    exception_type: str,
    original_gtin: str | None,
    candidate_product_ids: list[int],
) -> EventRow:
    """The import raised an exception for a line it could not match."""
    return EventRow(
        vendor_id=vendor_id,
        actor_user_id=None,
        subject_type=EventSubject.EXCEPTION,
        subject_id=exception_id,
        action=EventAction.CREATED,
        before=None,
        after={
            "status": ExceptionStatus.PENDING,
            "exception_type": exception_type,
            "original_gtin": original_gtin,
            "candidate_product_ids": candidate_product_ids,
        },
    )


def order_status_changed(*, order_id: int, vendor_id: int, before: str, after: str) -> EventRow:
    """The import found the marketplace's units changed, and with them the order's status."""
    return EventRow(
        vendor_id=vendor_id,
        actor_user_id=None,
        subject_type=EventSubject.ORDER,
        subject_id=order_id,
        action=EventAction.STATUS_CHANGED,
        before={"status": before},
        after={"status": after},
    )


def units_decided(
    *,
    order_id: int,
    vendor_id: int,
    actor_user_id: int | None,
    action: EventAction,
    status_before: str,
    status_after: str,
    units: dict[str, str],
) -> EventRow:
    """A person confirmed or declined units at the marketplace (`units`: external id -> state)."""
    return EventRow(
        vendor_id=vendor_id,
        actor_user_id=actor_user_id,
        subject_type=EventSubject.ORDER,
        subject_id=order_id,
        action=action,
        before={"status": status_before},
        after={"status": status_after, "units": units},
    )


def fulfilment_request_event(
    *,
    order_id: int,
    vendor_id: int,
    actor_user_id: int | None,
    action: EventAction,
    request: dict[str, object],
) -> EventRow:
    """A queued confirm/decline was recorded (by the person who asked) or ended without
    landing (by the system): ``request`` holds its id, verdict, item, status and reason."""
    return EventRow(
        vendor_id=vendor_id,
        actor_user_id=actor_user_id,
        subject_type=EventSubject.ORDER,
        subject_id=order_id,
        action=action,
        before=None,
        after=request,
    )
