"""The import job: pull a vendor's shipments page by page and import them.

A job runner, not a service: it owns its transactions. The run row is committed first, then each
page is imported and committed with the run's counts, so progress survives a later failure and
every shipment is written whole or not at all. When Letzshop stays unreachable the run is
recorded as failed with the reason, and the caller gets ``LetzshopSyncError``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from ordergate.config import Settings
from ordergate.db import utcnow
from ordergate.letzshop.adapter import CHANNEL, to_incoming_order
from ordergate.letzshop.errors import LetzshopError
from ordergate.letzshop.models import SyncRun
from ordergate.letzshop.service import connection_for, open_client, upstream_error
from ordergate.letzshop.types import ShipmentPage
from ordergate.orders.importer import import_orders
from ordergate.orders.intake import ImportFailure, ImportResult
from ordergate.security import SecretBox
from ordergate.vendors.service import get_vendor

SyncState = Literal["unconfirmed", "confirmed", "all"]


@dataclass(slots=True)
class SyncSummary:
    run_id: int
    status: str
    shipments_seen: int = 0
    orders_created: int = 0
    orders_updated: int = 0
    exceptions_created: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)


def run_sync(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    box: SecretBox,
    vendor_id: int,
    trigger: str,
    state: SyncState = "unconfirmed",
    triggered_by: int | None = None,
    on_page: Callable[[SyncSummary], None] | None = None,
) -> SyncSummary:
    with session_factory() as session:
        get_vendor(session, vendor_id=vendor_id)
        connection = connection_for(session, vendor_id=vendor_id, box=box)
        run = SyncRun(
            vendor_id=vendor_id,
            channel=CHANNEL,
            trigger=trigger,
            state_filter=state,
            status="running",
            triggered_by=triggered_by,
            failures=[],
        )
        session.add(run)
        session.commit()
        summary = SyncSummary(run_id=run.id, status="running")
    client = open_client(connection, settings)
    try:
        with client:
            for page in client.iter_shipment_pages(None if state == "all" else state):
                _import_page(session_factory, vendor_id, page, summary)
                if on_page:
                    on_page(summary)
    except LetzshopError as exc:
        _finish(session_factory, summary, status="failed", error=exc.message)
        raise upstream_error(
            vendor_id,
            exc,
            run_id=summary.run_id,
            orders_created=summary.orders_created,
            orders_updated=summary.orders_updated,
        ) from exc
    except Exception as exc:
        # Never leave a run "running": record the failure, then let the error surface.
        _finish(
            session_factory, summary, status="failed", error=f"internal error: {type(exc).__name__}"
        )
        raise
    _finish(session_factory, summary, status="partial" if summary.failed else "succeeded")
    return summary


def _import_page(
    session_factory: sessionmaker[Session], vendor_id: int, page: ShipmentPage, summary: SyncSummary
) -> None:
    orders = [to_incoming_order(vendor_id, shipment) for shipment in page.shipments]
    with session_factory() as session:
        result = import_orders(session, vendor_id=vendor_id, channel=CHANNEL, orders=orders)
        result.shipments_seen += len(page.failures)
        result.failed.extend(ImportFailure(f.external_id, f.reason) for f in page.failures)
        _add(summary, result)
        _save(session, summary, status="running", failures_changed=bool(result.failed))
        session.commit()


def _add(summary: SyncSummary, result: ImportResult) -> None:
    summary.shipments_seen += result.shipments_seen
    summary.orders_created += result.orders_created
    summary.orders_updated += result.orders_updated
    summary.exceptions_created += result.exceptions_created
    summary.failed.extend({"external_id": f.external_id, "reason": f.reason} for f in result.failed)


def _save(
    session: Session,
    summary: SyncSummary,
    *,
    status: str,
    error: str | None = None,
    failures_changed: bool = True,
) -> None:
    """Write the run's counts; the failure list only when it grew (it can be long)."""
    values: dict[str, Any] = {
        "status": status,
        "shipments_seen": summary.shipments_seen,
        "orders_created": summary.orders_created,
        "orders_updated": summary.orders_updated,
        "exceptions_created": summary.exceptions_created,
    }
    if failures_changed:
        values["failures"] = list(summary.failed)
    if error is not None:
        values["error"] = error
    if status != "running":
        values["finished_at"] = utcnow()
    session.execute(update(SyncRun).where(SyncRun.id == summary.run_id).values(**values))


def _finish(
    session_factory: sessionmaker[Session],
    summary: SyncSummary,
    *,
    status: str,
    error: str | None = None,
) -> None:
    summary.status = status
    with session_factory() as session:
        _save(session, summary, status=status, error=error)
        session.commit()
