"""The QC workflow's events, one keyword-only constructor each (payloads as written since 0001)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from ordergate.events.models import EventAction, EventSubject
from ordergate.events.repository import EventRow
from ordergate.orders.models import ExceptionStatus, ExceptionType


class ResolvedVia(StrEnum):
    """How a person resolved an exception: `after.via` of a `resolved` event (the KPIs count
    by it). Events written before it existed have no `via`: `bulk_gtin` present means GTIN,
    else one."""

    ONE = "one"  # POST …/{id}/resolve
    GTIN = "gtin"  # POST …/bulk-resolve, every pending line with one GTIN
    SELECTION = "selection"  # POST …/bulk/resolve, chosen ids
    NEW_PRODUCT = "new_product"  # POST …/{id}/create-product


class MatchCause(StrEnum):
    """Why the system matched an exception: `after.cause` of an `auto_matched` event."""

    CATALOG = "catalog"  # products entered the catalog (created, copied, imported)
    SWEEP = "sweep"  # a sweep over the whole catalog (`ordergate exceptions sweep`)


def _exception_event(
    action: EventAction,
    *,
    exception_id: int,
    vendor_id: int,
    actor_user_id: int | None,
    before: dict[str, Any],
    after: dict[str, Any],
) -> EventRow:
    return EventRow(
        vendor_id=vendor_id,
        actor_user_id=actor_user_id,
        subject_type=EventSubject.EXCEPTION,
        subject_id=exception_id,
        action=action,
        before=before,
        after=after,
    )


def exception_resolved(
    *,
    exception_id: int,
    vendor_id: int,
    actor_user_id: int | None,
    status_before: str,
    product_before: int,
    product_id: int,
    notes: str | None,
    via: ResolvedVia,
    bulk_gtin: str | None = None,
) -> EventRow:
    """A person assigned `product_id` to the line (`via` says how; by GTIN: `bulk_gtin`)."""
    after: dict[str, Any] = {
        "status": ExceptionStatus.RESOLVED,
        "product_id": product_id,
        "resolved_product_id": product_id,
        "notes": notes,
        "via": via,
    }
    if bulk_gtin is not None:
        after["bulk_gtin"] = bulk_gtin
    return _exception_event(
        EventAction.RESOLVED,
        exception_id=exception_id,
        vendor_id=vendor_id,
        actor_user_id=actor_user_id,
        before={"status": status_before, "product_id": product_before, "resolved_product_id": None},
        after=after,
    )


def exception_ignored(
    *,
    exception_id: int,
    vendor_id: int,
    actor_user_id: int | None,
    product_id: int,
    notes: str,
) -> EventRow:
    return _exception_event(
        EventAction.IGNORED,
        exception_id=exception_id,
        vendor_id=vendor_id,
        actor_user_id=actor_user_id,
        before={"status": ExceptionStatus.PENDING, "product_id": product_id},
        after={"status": ExceptionStatus.IGNORED, "product_id": product_id, "notes": notes},
    )


def exception_reopened(
    *,
    exception_id: int,
    vendor_id: int,
    actor_user_id: int | None,
    status_before: str,
    product_before: int,
    resolved_product_before: int | None,
    resolved_by_before: int | None,
    notes_before: str | None,
    placeholder_id: int,
    notes: str,
    mapping_removed: dict[str, Any] | None,
) -> EventRow:
    """A person sent a resolved or ignored exception back to pending: the line is on the
    placeholder again, and the remembered mapping that re-applied the resolution (if any) is
    gone (`after.mapping_removed`)."""
    return _exception_event(
        EventAction.REOPENED,
        exception_id=exception_id,
        vendor_id=vendor_id,
        actor_user_id=actor_user_id,
        before={
            "status": status_before,
            "product_id": product_before,
            "resolved_product_id": resolved_product_before,
            "resolved_by": resolved_by_before,
            "resolution_notes": notes_before,
        },
        after={
            "status": ExceptionStatus.PENDING,
            "product_id": placeholder_id,
            "resolved_product_id": None,
            "notes": notes,
            "mapping_removed": mapping_removed,
        },
    )


def exception_auto_matched(
    *,
    exception_id: int,
    vendor_id: int,
    exception_type: str,
    order_item_id: int,
    product_before: int,
    product_id: int,
    cause: MatchCause,
) -> EventRow:
    """The system matched the line to the vendor's one product with its GTIN (`cause`: why
    it looked)."""
    return _exception_event(
        EventAction.AUTO_MATCHED,
        exception_id=exception_id,
        vendor_id=vendor_id,
        actor_user_id=None,
        before={
            "status": ExceptionStatus.PENDING,
            "exception_type": exception_type,
            "resolved_product_id": None,
            "order_item_id": order_item_id,
            "order_item_product_id": product_before,
        },
        after={
            "status": ExceptionStatus.RESOLVED,
            "exception_type": exception_type,
            "resolved_product_id": product_id,
            "order_item_id": order_item_id,
            "order_item_product_id": product_id,
            "cause": cause,
        },
    )


def exception_marked_duplicate(
    *,
    exception_id: int,
    vendor_id: int,
    type_before: str,
    gtin_normalized: str,
    candidate_product_ids: list[int],
    cause: MatchCause = MatchCause.CATALOG,
) -> EventRow:
    """A second active product took the line's GTIN: the exception becomes `duplicate_gtin`
    (`cause`: why the system looked, as for `exception_auto_matched`)."""
    return _exception_event(
        EventAction.MARKED_DUPLICATE,
        exception_id=exception_id,
        vendor_id=vendor_id,
        actor_user_id=None,
        before={"status": ExceptionStatus.PENDING, "exception_type": type_before},
        after={
            "status": ExceptionStatus.PENDING,
            "exception_type": ExceptionType.DUPLICATE_GTIN,
            "gtin_normalized": gtin_normalized,
            "candidate_product_ids": candidate_product_ids,
            "cause": cause,
        },
    )
