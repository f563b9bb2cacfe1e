"""Syncs through the job queue: the one service the API, the dashboard and the scheduler call
to queue a vendor's sync (docs/jobs.md).

``queue_sync`` records a ``queued`` run (at most one waits per vendor: a second request is 409
``SYNC_ALREADY_QUEUED`` and writes nothing), then hands its id to the queue (``SyncQueue``, the
port that ``ordergate.jobs`` implements with procrastinate, whose per-vendor ``queueing_lock``
refuses a second waiting job too, and whose ``lock`` keeps two syncs of a vendor from running
at once). A worker then runs it with ``sync.run_queued_sync``.

Letzshop does not know of the queue: this module holds the rules, ``ordergate.jobs`` the engine.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from ordergate.db import utcnow
from ordergate.errors import AppError
from ordergate.letzshop import repository, runs
from ordergate.letzshop.credentials import connection_for
from ordergate.letzshop.errors import SyncAlreadyQueuedError, SyncQueueUnavailableError
from ordergate.letzshop.models import SyncRun, SyncRunStatus, SyncState, SyncTrigger
from ordergate.scope import VendorScope
from ordergate.security import SecretBox

logger = logging.getLogger(__name__)


class SyncQueue(Protocol):
    """Where queued runs go (``ordergate.jobs.queue.ProcrastinateSyncQueue``)."""

    def defer_sync(self, *, vendor_id: int, run_id: int, trigger: str) -> int:
        """Queue the job that runs ``run_id``; the job's id. Raises ``SyncAlreadyQueuedError``
        when a job of the vendor already waits; any other error means the queue is unusable."""
        ...

    def job_pending(self, job_id: int) -> bool:
        """Whether the job still waits or runs (False: it ended, or is gone)."""
        ...


class FulfilmentQueue(Protocol):
    """Where queued confirms/declines go (``ordergate.jobs.queue.ProcrastinateSyncQueue``,
    which serves both ports on one procrastinate app)."""

    def defer_fulfilment(self, *, request_id: int, order_id: int) -> int:
        """Queue the job that retries the request; the job's id. Any error means the queue is
        unusable."""
        ...


# A queued run with no job id this long after it was queued lost its defer (the process stopped
# between the two steps of ``queue_sync``).
UNRECORDED_JOB_SECONDS = 60.0


def queue_sync(
    session_factory: sessionmaker[Session],
    *,
    queue: SyncQueue,
    box: SecretBox,
    scope: VendorScope,
    trigger: SyncTrigger,
    state: SyncState = SyncState.UNCONFIRMED,
) -> SyncRun:
    """Queue a sync of the scope's vendor; the ``queued`` run (with its job id).

    Refused before anything is written: no credentials (400), an unreadable key (409), a run
    already queued (409 ``SYNC_ALREADY_QUEUED``). When the queue refuses or fails, the run it
    had recorded is removed (refused) or marked failed (503 ``SYNC_QUEUE_UNAVAILABLE``)."""
    with session_factory() as session:
        connection_for(session, scope=scope, box=box)
        session.commit()
        try:
            run = runs.queue_run(session, scope=scope, state=state, trigger=trigger)
        except SyncAlreadyQueuedError:
            session.rollback()
            if not _release_orphan(session, queue, scope.vendor_id):
                raise
            run = runs.queue_run(session, scope=scope, state=state, trigger=trigger)
        session.commit()
        run_id = run.id
    try:
        job_id = queue.defer_sync(vendor_id=scope.vendor_id, run_id=run_id, trigger=trigger)
    except SyncAlreadyQueuedError:
        with session_factory() as session:
            repository.delete_queued_run(session, run_id)
            session.commit()
        raise
    except Exception as exc:
        logger.exception("the job queue did not take sync run %s", run_id)
        end_queued_run(session_factory, run_id=run_id, error="the job queue did not take it")
        raise SyncQueueUnavailableError(vendor_id=scope.vendor_id, run_id=run_id) from exc
    with session_factory() as session:
        repository.set_run_job(session, run_id, job_id)
        session.commit()
        queued = repository.find_run(session, scope, run_id)
        assert queued is not None  # only this module deletes queued runs, before this point
        session.expunge(queued)
    return queued


def _release_orphan(session: Session, queue: SyncQueue, vendor_id: int) -> bool:
    """End the vendor's queued run if no job will ever run it (its job failed or was removed,
    or its defer was never recorded); whether it did. Leaves the vendor's row locked."""
    repository.lock_vendor(session, vendor_id)
    waiting = repository.queued_run(session, vendor_id)
    if waiting is None:
        return True
    if waiting.job_id is not None:
        try:
            orphaned = not queue.job_pending(waiting.job_id)
        except Exception:
            logger.exception("could not read job %s of sync run %s", waiting.job_id, waiting.id)
            return False
    else:
        age = utcnow() - (waiting.queued_at or waiting.started_at)
        orphaned = age.total_seconds() > UNRECORDED_JOB_SECONDS
    if not orphaned:
        return False
    repository.end_run(
        session,
        waiting.id,
        status=SyncRunStatus.FAILED,
        error="its job ended without running it",
        only=SyncRunStatus.QUEUED,
    )
    session.flush()
    return True


def end_queued_run(session_factory: sessionmaker[Session], *, run_id: int, error: str) -> bool:
    """Mark a run that never started failed (its job cannot run it); False if it had started."""
    with session_factory() as session:
        ended = repository.end_run(
            session,
            run_id,
            status=SyncRunStatus.FAILED,
            error=error,
            only=SyncRunStatus.QUEUED,
        )
        session.commit()
    return ended


def due_vendor_ids(session: Session, *, now: datetime) -> list[int]:
    """Vendors whose scheduled sync is due: interval set, no run queued or running, and their
    latest run started at least an interval ago (or never)."""
    return [
        vendor_id
        for vendor_id, interval, last_started, live in repository.scheduled_vendors(session)
        if not live and (last_started is None or last_started <= now - timedelta(minutes=interval))
    ]


def queue_due_syncs(
    session_factory: sessionmaker[Session], *, queue: SyncQueue, box: SecretBox, now: datetime
) -> list[int]:
    """Queue a scheduled sync of every due vendor; the runs queued. A vendor that cannot be
    queued (no key, a run waiting meanwhile) is logged and skipped, never stops the others."""
    with session_factory() as session:
        due = due_vendor_ids(session, now=now)
    queued = []
    for vendor_id in due:
        scope = VendorScope(actor_user_id=None, vendor_id=vendor_id, is_admin=True)
        try:
            run = queue_sync(
                session_factory, queue=queue, box=box, scope=scope, trigger=SyncTrigger.SCHEDULE
            )
        except AppError as exc:
            logger.info("scheduled sync of vendor %s not queued: %s", vendor_id, exc.message)
            continue
        queued.append(run.id)
    return queued
