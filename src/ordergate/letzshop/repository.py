"""The Letzshop domain's SQL: credentials, sync runs, and the orders a sync reconciles."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, case, delete, func, select, update
from sqlalchemy.orm import Session

from ordergate.db import (
    PageRequest,
    UTCDateTime,
    lease_expired,
    paginate,
    rows_changed,
    update_vendor_row,
    upsert_vendor_row,
    utcnow,
)
from ordergate.letzshop.models import LetzshopCredentials, SyncRun, SyncRunStatus
from ordergate.orders.models import Order, OrderStatus
from ordergate.scope import Scope, VendorScope, scoped
from ordergate.vendors.models import Vendor

# --- credentials -------------------------------------------------------------------------------


def find_credentials(session: Session, scope: VendorScope) -> LetzshopCredentials | None:
    return session.scalar(scoped(select(LetzshopCredentials), scope, LetzshopCredentials.vendor_id))


def update_credentials(
    session: Session, scope: VendorScope, values: dict[str, Any]
) -> LetzshopCredentials | None:
    """Change the stored credentials; None when there are none. No values: read them."""
    return update_vendor_row(session, LetzshopCredentials, scope.vendor_id, values)


def upsert_credentials(
    session: Session, scope: VendorScope, *, created: dict[str, Any], changed: dict[str, Any]
) -> LetzshopCredentials:
    """Insert the vendor's credentials (``created``); if they exist by then, apply ``changed``."""
    return upsert_vendor_row(
        session, LetzshopCredentials, scope.vendor_id, created=created, changed=changed
    )


def record_check(session: Session, scope: VendorScope, values: dict[str, Any]) -> bool:
    """Store the vendor's last contract check on its credentials; False when it has none."""
    result = session.execute(
        update(LetzshopCredentials)
        .where(LetzshopCredentials.vendor_id == scope.vendor_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(rows_changed(result))


def scheduled_vendor_codes(session: Session) -> list[str]:
    """Codes of active vendors whose Letzshop credentials have scheduled syncs on."""
    rows = session.scalars(
        select(Vendor.code)
        .join(LetzshopCredentials, LetzshopCredentials.vendor_id == Vendor.id)
        .where(LetzshopCredentials.sync_interval_minutes.is_not(None), Vendor.is_active.is_(True))
        .order_by(Vendor.code)
    )
    return list(rows)


def scheduled_vendors(session: Session) -> list[tuple[int, int, datetime | None, bool]]:
    """(vendor id, interval in minutes, start of its latest run, whether a run is queued or
    running) of every active vendor with scheduled syncs on: one query."""
    live = case((SyncRun.status.in_((SyncRunStatus.QUEUED, SyncRunStatus.RUNNING)), 1), else_=0)
    runs = (
        select(
            SyncRun.vendor_id,
            func.max(SyncRun.started_at, type_=UTCDateTime).label("last_started"),
            func.max(live).label("live"),
        )
        .group_by(SyncRun.vendor_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Vendor.id, LetzshopCredentials.sync_interval_minutes, runs.c.last_started, runs.c.live
        )
        .join(LetzshopCredentials, LetzshopCredentials.vendor_id == Vendor.id)
        .outerjoin(runs, runs.c.vendor_id == Vendor.id)
        .where(LetzshopCredentials.sync_interval_minutes.is_not(None), Vendor.is_active.is_(True))
        .order_by(Vendor.id)
    )
    return [(vendor_id, interval, last, bool(live)) for vendor_id, interval, last, live in rows]


# --- sync runs ---------------------------------------------------------------------------------


def runs_page(session: Session, scope: Scope, page: PageRequest) -> tuple[list[SyncRun], int]:
    """Runs, newest first, and how many there are."""
    statement = scoped(select(SyncRun), scope, SyncRun.vendor_id).order_by(SyncRun.id.desc())
    return paginate(session, statement, page)


def find_run(session: Session, scope: Scope, run_id: int) -> SyncRun | None:
    return session.scalar(
        scoped(select(SyncRun), scope, SyncRun.vendor_id).where(SyncRun.id == run_id)
    )


def stale_run_ids(session: Session, scope: Scope, *, lease_seconds: float) -> list[int]:
    """Running runs whose heartbeat is older than the lease."""
    stale = lease_expired(SyncRun, running=SyncRunStatus.RUNNING, lease_seconds=lease_seconds)
    return list(session.scalars(scoped(select(SyncRun.id), scope, SyncRun.vendor_id).where(*stale)))


def abandon_runs(
    session: Session,
    *,
    lease_seconds: float,
    error: str,
    vendor_id: int | None = None,
    run_ids: Sequence[int] | None = None,
) -> int:
    """Mark running runs past their lease abandoned (of the vendor, or these ones); how many."""
    conditions = lease_expired(SyncRun, running=SyncRunStatus.RUNNING, lease_seconds=lease_seconds)
    if vendor_id is not None:
        conditions.append(SyncRun.vendor_id == vendor_id)
    if run_ids is not None:
        conditions.append(SyncRun.id.in_(run_ids))
    result = session.execute(
        update(SyncRun)
        .where(*conditions)
        .values(status=SyncRunStatus.ABANDONED, finished_at=utcnow(), error=error)
        .execution_options(synchronize_session=False)
    )
    return rows_changed(result)


def lock_vendor(session: Session, vendor_id: int) -> None:
    """Lock the vendor's row until the transaction ends (PostgreSQL; SQLite holds its write
    lock already)."""
    session.execute(select(Vendor.id).where(Vendor.id == vendor_id).with_for_update())


def live_run(session: Session, vendor_id: int) -> SyncRun | None:
    return session.scalar(
        select(SyncRun)
        .where(SyncRun.vendor_id == vendor_id, SyncRun.status == SyncRunStatus.RUNNING)
        .order_by(SyncRun.id.desc())
        .limit(1)
    )


def queued_run(session: Session, vendor_id: int) -> SyncRun | None:
    return session.scalar(
        select(SyncRun)
        .where(SyncRun.vendor_id == vendor_id, SyncRun.status == SyncRunStatus.QUEUED)
        .order_by(SyncRun.id)
        .limit(1)
    )


def latest_run(session: Session, vendor_id: int, state_filter: str) -> SyncRun | None:
    """The vendor's latest run of the state filter that started (queued ones have not)."""
    return session.scalar(
        select(SyncRun)
        .where(
            SyncRun.vendor_id == vendor_id,
            SyncRun.state_filter == state_filter,
            SyncRun.status != SyncRunStatus.QUEUED,
        )
        .order_by(SyncRun.id.desc())
        .limit(1)
    )


SYNC_RUNS = cast(Table, SyncRun.__table__)


def update_running_run(session: Session, run_id: int, values: dict[str, Any]) -> bool:
    """Update the run if it is still running; False when it is not (it lost its lease). Runs
    once per imported page, so on the table, without the ORM's bookkeeping (no caller holds a
    loaded run to synchronise)."""
    result = session.execute(
        update(SYNC_RUNS)
        .where(SYNC_RUNS.c.id == run_id, SYNC_RUNS.c.status == SyncRunStatus.RUNNING)
        .values(**values)
    )
    return bool(rows_changed(result))


def set_run_job(session: Session, run_id: int, job_id: int) -> None:
    session.execute(
        update(SyncRun)
        .where(SyncRun.id == run_id)
        .values(job_id=job_id)
        .execution_options(synchronize_session=False)
    )


def delete_queued_run(session: Session, run_id: int) -> None:
    session.execute(
        delete(SyncRun)
        .where(SyncRun.id == run_id, SyncRun.status == SyncRunStatus.QUEUED)
        .execution_options(synchronize_session=False)
    )


def end_run(session: Session, run_id: int, *, status: str, error: str, only: str) -> bool:
    """End the run with ``status`` and ``error`` if it is still in state ``only``."""
    result = session.execute(
        update(SyncRun)
        .where(SyncRun.id == run_id, SyncRun.status == only)
        .values(status=status, error=error, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(rows_changed(result))


# --- orders a sync reconciles -------------------------------------------------------------------


def pending_orders_placed_since(
    session: Session, *, vendor_id: int, channel: str, since: datetime
) -> list[tuple[str, datetime]]:
    """(shipment id, placed at) of the vendor's orders pending locally, placed since ``since``
    (an order without a date counts from its import)."""
    placed = func.coalesce(Order.order_date, Order.created_at)
    rows = session.execute(
        select(Order.external_shipment_id, placed).where(
            Order.vendor_id == vendor_id,
            Order.channel == channel,
            Order.status == OrderStatus.PENDING,
            placed >= since,
        )
    )
    return [(shipment_id, at) for shipment_id, at in rows]
