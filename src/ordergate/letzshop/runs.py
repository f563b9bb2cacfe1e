"""Sync runs and their leases: one live run per vendor, dead ones marked abandoned, and where a
new run resumes.

A running run holds a lease: its ``heartbeat_at`` is refreshed with every committed page. A run
whose heartbeat is older than ``letzshop_sync_lease_seconds`` lost its process (killed, crashed,
machine gone) and is marked ``abandoned`` when the vendor's next sync starts, when runs are read
and by ``letzshop sync-all``; it never stays ``running``.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from ordergate.db import lease_expired, utcnow
from ordergate.errors import AppError, NotFoundError
from ordergate.letzshop.models import SyncRun
from ordergate.letzshop.service import list_sync_runs
from ordergate.vendors.models import Vendor

RESUMABLE_STATUSES = ("abandoned", "failed")


class SyncInProgressError(AppError):
    status_code = 409
    code = "SYNC_IN_PROGRESS"


class SyncRunAbandonedError(AppError):
    """This run's lease was taken (it was marked abandoned while it still ran); it stops."""

    status_code = 409
    code = "SYNC_RUN_ABANDONED"


class SyncRunNotFoundError(NotFoundError):
    code = "SYNC_RUN_NOT_FOUND"


def _abandon(session: Session, *conditions: ColumnElement[bool], lease_seconds: float) -> int:
    result = session.execute(
        update(SyncRun)
        .where(*conditions, *lease_expired(SyncRun, lease_seconds=lease_seconds))
        .values(
            status="abandoned",
            finished_at=utcnow(),
            error=f"no heartbeat for more than {lease_seconds:g} s: the run's process stopped",
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def abandon_stale_runs(
    session: Session, *, lease_seconds: float, vendor_id: int | None = None
) -> int:
    """Mark running runs past their lease abandoned (of one vendor, or all); how many.

    Looks first and writes only when there is something to mark, so reading runs does not
    take a write lock in the common case.
    """
    scope = [SyncRun.vendor_id == vendor_id] if vendor_id is not None else []
    stale = lease_expired(SyncRun, lease_seconds=lease_seconds)
    stale_ids = list(session.scalars(select(SyncRun.id).where(*scope, *stale)))
    if not stale_ids:
        return 0
    return _abandon(session, SyncRun.id.in_(stale_ids), lease_seconds=lease_seconds)


def list_runs(
    session: Session, *, vendor_id: int, skip: int, limit: int, lease_seconds: float
) -> tuple[list[SyncRun], int]:
    abandon_stale_runs(session, vendor_id=vendor_id, lease_seconds=lease_seconds)
    return list_sync_runs(session, vendor_id=vendor_id, skip=skip, limit=limit)


def get_run(session: Session, *, vendor_id: int, run_id: int, lease_seconds: float) -> SyncRun:
    abandon_stale_runs(session, vendor_id=vendor_id, lease_seconds=lease_seconds)
    run = session.scalar(
        select(SyncRun).where(SyncRun.id == run_id, SyncRun.vendor_id == vendor_id)
    )
    if run is None:
        raise SyncRunNotFoundError(
            f"Sync run {run_id} not found for vendor {vendor_id}",
            details={"vendor_id": vendor_id, "run_id": run_id},
        )
    return run


def claim_run(
    session: Session,
    *,
    vendor_id: int,
    state: str,
    trigger: str,
    triggered_by: int | None,
    lease_seconds: float,
) -> tuple[SyncRun, SyncRun | None]:
    """Start a run of the vendor, and say which earlier run it resumes (if any).

    Race-safe on both databases: the first statement writes (on SQLite that takes the write
    lock, whatever the transaction mode) and on PostgreSQL the vendor row is locked, so two
    claims of one vendor run one after the other and the second sees the first's run.
    Raises ``SyncInProgressError`` naming the live run; stale runs are abandoned, not obeyed.
    """
    _abandon(session, SyncRun.vendor_id == vendor_id, lease_seconds=lease_seconds)
    session.execute(select(Vendor.id).where(Vendor.id == vendor_id).with_for_update())
    live = session.scalar(
        select(SyncRun)
        .where(SyncRun.vendor_id == vendor_id, SyncRun.status == "running")
        .order_by(SyncRun.id.desc())
        .limit(1)
    )
    if live is not None:
        raise SyncInProgressError(
            f"Vendor {vendor_id} already has sync run {live.id} in progress (last heartbeat "
            f"{live.heartbeat_at.isoformat() if live.heartbeat_at else 'never'}); retry later",
            details={"vendor_id": vendor_id, "run_id": live.id},
        )
    resumed = _resumable(session, vendor_id, state)
    run = SyncRun(
        vendor_id=vendor_id,
        trigger=trigger,
        state_filter=state,
        status="running",
        triggered_by=triggered_by,
        failures=[],
        heartbeat_at=utcnow(),
        # Kept until this run commits a page, so a run that fails at once keeps the position.
        last_cursor=resumed.last_cursor if resumed else None,
    )
    session.add(run)
    session.flush()
    return run, resumed


def _resumable(session: Session, vendor_id: int, state: str) -> SyncRun | None:
    """The vendor's latest run of this state filter, if it stopped midway with a cursor."""
    latest = session.scalar(
        select(SyncRun)
        .where(SyncRun.vendor_id == vendor_id, SyncRun.state_filter == state)
        .order_by(SyncRun.id.desc())
        .limit(1)
    )
    if latest is None or latest.status not in RESUMABLE_STATUSES or not latest.last_cursor:
        return None
    return latest
