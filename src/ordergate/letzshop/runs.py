"""Sync runs and their leases: one live run per vendor, dead ones marked abandoned, and where a
new run resumes.

A running run holds a lease: its ``heartbeat_at`` is refreshed with every committed page. A run
whose heartbeat is older than ``letzshop_sync_lease_seconds`` lost its process (killed, crashed,
machine gone) and is marked ``abandoned`` when the vendor's next sync starts, when runs are read
and by ``letzshop sync-all``; it never stays ``running``.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ordergate.db import PageRequest, utcnow
from ordergate.letzshop import repository
from ordergate.letzshop.errors import SyncInProgressError, SyncRunNotFoundError
from ordergate.letzshop.models import SyncRun, SyncRunStatus, SyncState, SyncTrigger
from ordergate.scope import Scope, VendorScope


def _abandoned_error(lease_seconds: float) -> str:
    return f"no heartbeat for more than {lease_seconds:g} s: the run's process stopped"


def abandon_stale_runs(session: Session, *, scope: Scope, lease_seconds: float) -> int:
    """Mark running runs past their lease abandoned (of the scope's vendor, or all); how many.

    Looks first and writes only when there is something to mark, so reading runs does not
    take a write lock in the common case.
    """
    stale_ids = repository.stale_run_ids(session, scope, lease_seconds=lease_seconds)
    if not stale_ids:
        return 0
    return repository.abandon_runs(
        session,
        lease_seconds=lease_seconds,
        error=_abandoned_error(lease_seconds),
        run_ids=stale_ids,
    )


def list_runs(
    session: Session, *, scope: Scope, page: PageRequest, lease_seconds: float
) -> tuple[list[SyncRun], int]:
    """The vendor's runs (an admin's "all vendors" scope: every vendor's), newest first (runs
    past their lease read as abandoned)."""
    abandon_stale_runs(session, scope=scope, lease_seconds=lease_seconds)
    return repository.runs_page(session, scope, page)


def get_run(session: Session, *, scope: Scope, run_id: int, lease_seconds: float) -> SyncRun:
    """One run of the scope's vendor (an admin's "all vendors": of any vendor)."""
    abandon_stale_runs(session, scope=scope, lease_seconds=lease_seconds)
    run = repository.find_run(session, scope, run_id)
    if run is None:
        raise SyncRunNotFoundError(vendor_id=scope.vendor_id, run_id=run_id)
    return run


def claim_run(
    session: Session,
    *,
    scope: VendorScope,
    state: SyncState,
    trigger: SyncTrigger,
    lease_seconds: float,
) -> tuple[SyncRun, SyncRun | None]:
    """Start a run of the vendor (triggered by the scope's actor), and say which earlier run it
    resumes (if any).

    Race-safe on both databases: the first statement writes (on SQLite that takes the write
    lock, whatever the transaction mode) and on PostgreSQL the vendor row is locked, so two
    claims of one vendor run one after the other and the second sees the first's run.
    Raises ``SyncInProgressError`` naming the live run; stale runs are abandoned, not obeyed.
    """
    vendor_id = scope.vendor_id
    repository.abandon_runs(
        session,
        lease_seconds=lease_seconds,
        error=_abandoned_error(lease_seconds),
        vendor_id=vendor_id,
    )
    repository.lock_vendor(session, vendor_id)
    live = repository.live_run(session, vendor_id)
    if live is not None:
        raise SyncInProgressError(live)
    resumed = _resumable(session, vendor_id, state)
    run = SyncRun(
        vendor_id=vendor_id,
        trigger=trigger,
        state_filter=state,
        status=SyncRunStatus.RUNNING,
        triggered_by=scope.actor_user_id,
        failures=[],
        heartbeat_at=utcnow(),
        # Kept until this run commits a page, so a run that fails at once keeps the position.
        last_cursor=resumed.last_cursor if resumed else None,
    )
    session.add(run)
    session.flush()
    return run, resumed


def _resumable(session: Session, vendor_id: int, state: SyncState) -> SyncRun | None:
    """The vendor's latest run of this state filter, if it stopped midway with a cursor."""
    latest = repository.latest_run(session, vendor_id, state)
    if latest is None or latest.status not in SyncRunStatus.resumable() or not latest.last_cursor:
        return None
    return latest
