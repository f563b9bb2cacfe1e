"""Sync runs and their leases: one live run per vendor, dead ones marked abandoned, and where a
new run resumes.

On the job queue (docs/jobs.md) a run is first ``queued`` (``queue_run``: at most one waits
per vendor) and a worker turns it ``running`` (``start_queued_run``).

A running run holds a lease: its ``heartbeat_at`` is refreshed with every committed page. A run
whose heartbeat is older than ``letzshop_sync_lease_seconds`` lost its process (killed, crashed,
machine gone) and is marked ``abandoned`` when the vendor's next sync starts, when runs are read
and by ``letzshop sync-all``; it never stays ``running``.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ordergate.db import PageRequest, utcnow
from ordergate.letzshop import repository
from ordergate.letzshop.errors import (
    SyncAlreadyQueuedError,
    SyncInProgressError,
    SyncRunNotFoundError,
)
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


def queue_run(
    session: Session, *, scope: VendorScope, state: SyncState, trigger: SyncTrigger
) -> SyncRun:
    """A ``queued`` run of the vendor (triggered by the scope's actor), for a worker to start.

    At most one waits per vendor: under the vendor's row lock, a run already queued raises
    ``SyncAlreadyQueuedError`` naming it (a running one does not: the new run waits for it).
    """
    repository.lock_vendor(session, scope.vendor_id)
    waiting = repository.queued_run(session, scope.vendor_id)
    if waiting is not None:
        raise SyncAlreadyQueuedError(vendor_id=scope.vendor_id, run_id=waiting.id)
    now = utcnow()
    run = SyncRun(
        vendor_id=scope.vendor_id,
        trigger=trigger,
        state_filter=state,
        status=SyncRunStatus.QUEUED,
        triggered_by=scope.actor_user_id,
        failures=[],
        queued_at=now,
        started_at=now,
    )
    session.add(run)
    session.flush()
    return run


RETRIED_ERROR = "its worker stopped mid-run; the job was retried as a new run"


def start_queued_run(
    session: Session, *, scope: VendorScope, run_id: int, lease_seconds: float
) -> tuple[SyncRun, SyncRun | None] | None:
    """Start the queued run ``run_id`` (a worker's job) and say which run it resumes; None
    when the run has already ended (nothing to do).

    A run found ``running`` belongs to this same job, retried because its worker stopped
    (procrastinate's stalled-job retry): it is marked abandoned now, without waiting for its
    lease, and a new run takes over from its last cursor. A live run of another process (an
    inline sync) raises ``SyncInProgressError``.
    """
    repository.abandon_runs(
        session,
        lease_seconds=lease_seconds,
        error=_abandoned_error(lease_seconds),
        vendor_id=scope.vendor_id,
    )
    repository.lock_vendor(session, scope.vendor_id)
    run = repository.find_run(session, scope, run_id)
    if run is None:
        raise SyncRunNotFoundError(vendor_id=scope.vendor_id, run_id=run_id)
    if run.status == SyncRunStatus.RUNNING:
        repository.end_run(
            session,
            run.id,
            status=SyncRunStatus.ABANDONED,
            error=RETRIED_ERROR,
            only=SyncRunStatus.RUNNING,
        )
        session.expire(run)
        taking_over = VendorScope(
            actor_user_id=run.triggered_by, vendor_id=scope.vendor_id, is_admin=True
        )
        new_run, resumed = claim_run(
            session,
            scope=taking_over,
            state=SyncState(run.state_filter or SyncState.UNCONFIRMED),
            trigger=SyncTrigger(run.trigger),
            lease_seconds=lease_seconds,
        )
        new_run.job_id = run.job_id
        return new_run, resumed
    if run.status != SyncRunStatus.QUEUED:
        return None
    live = repository.live_run(session, scope.vendor_id)
    if live is not None:
        raise SyncInProgressError(live)
    resumed = _resumable(
        session, scope.vendor_id, SyncState(run.state_filter or SyncState.UNCONFIRMED)
    )
    now = utcnow()
    run.status = SyncRunStatus.RUNNING
    run.started_at = now
    run.heartbeat_at = now
    run.last_cursor = resumed.last_cursor if resumed else None
    session.flush()
    return run, resumed


def _resumable(session: Session, vendor_id: int, state: SyncState) -> SyncRun | None:
    """The vendor's latest run of this state filter, if it stopped midway with a cursor."""
    latest = repository.latest_run(session, vendor_id, state)
    if latest is None or latest.status not in SyncRunStatus.resumable() or not latest.last_cursor:
        return None
    return latest
