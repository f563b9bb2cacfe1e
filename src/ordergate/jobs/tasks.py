"""The tasks a worker runs (registered by name on every app, ``register``).

- ``ordergate.sync_vendor`` (queue ``sync``): one queued sync run, deferred by
  ``letzshop.queueing.queue_sync`` with the vendor's ``lock`` and ``queueing_lock``. A sync task:
  procrastinate runs it in a thread, and it owns its transactions as the inline sync does.
- ``ordergate.queue_due_syncs`` (queue ``periodic``, every minute): queues the vendors whose
  ``sync_interval_minutes`` has passed since their latest run.
- ``ordergate.retry_stalled_jobs`` (queue ``periodic``, every minute, no lock): jobs left
  ``doing`` by a worker silent for ``jobs_stalled_seconds`` go back to ``todo``.
- ``ordergate.deliver_webhooks`` (queue ``periodic``, every minute): records the orders newly
  at risk and sends the due webhook deliveries (``webhooks.delivery.run_tick``).
- ``ordergate.fulfil_order`` (queue ``fulfilment``): one attempt at a queued confirm/decline
  (``letzshop.fulfilment_retry``), deferred with the order's ``lock``; retried with
  exponential backoff while Letzshop stays unreachable, up to ``fulfilment_retry_attempts``.
- ``ordergate.sweep_exceptions`` (queue ``periodic``, 03:00 UTC): the auto-match sweep of
  every vendor with pending exceptions (``item_exceptions.sweep``).

What a task needs of ordergate (session factory, settings, secret box) comes in the worker's
``additional_context`` (``worker.run_worker``), never from module state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import procrastinate
from procrastinate import JobContext, RetryStrategy
from sqlalchemy.orm import Session, sessionmaker

from ordergate.config import Settings
from ordergate.db import utcnow
from ordergate.errors import AppError
from ordergate.item_exceptions.sweep import sweep_vendors
from ordergate.letzshop import queueing
from ordergate.letzshop.errors import LetzshopUpstreamError, SyncInProgressError
from ordergate.letzshop.fulfilment_retry import RetryLaterError, end_request, retry_fulfilment
from ordergate.letzshop.sync import run_queued_sync
from ordergate.scope import VendorScope
from ordergate.security import SecretBox
from ordergate.webhooks.delivery import run_tick

logger = logging.getLogger(__name__)

SYNC_VENDOR = "ordergate.sync_vendor"
QUEUE_DUE_SYNCS = "ordergate.queue_due_syncs"
RETRY_STALLED_JOBS = "ordergate.retry_stalled_jobs"
DELIVER_WEBHOOKS = "ordergate.deliver_webhooks"
FULFIL_ORDER = "ordergate.fulfil_order"
SWEEP_EXCEPTIONS = "ordergate.sweep_exceptions"
SYNC_QUEUE = "sync"
PERIODIC_QUEUE = "periodic"
FULFILMENT_QUEUE = "fulfilment"
QUEUES = (SYNC_QUEUE, PERIODIC_QUEUE, FULFILMENT_QUEUE)
SWEEP_CRON = "0 3 * * *"  # nightly, 03:00 UTC
CONTEXT_KEY = "ordergate"
# A sync that finds an inline run of the vendor live (a CLI import) waits for it: retried every
# 30 s, up to 10 minutes (twice the default lease), then its run is marked failed.
LIVE_RUN_RETRIES = 20
LIVE_RUN_WAIT_SECONDS = 30


@dataclass(frozen=True, slots=True)
class WorkerRuntime:
    session_factory: sessionmaker[Session]
    settings: Settings
    box: SecretBox


def runtime_of(context: JobContext) -> WorkerRuntime:
    runtime = context.additional_context[CONTEXT_KEY]
    assert isinstance(runtime, WorkerRuntime)
    return runtime


def sync_vendor(
    context: JobContext, *, vendor_id: int, trigger: str, run_id: int
) -> dict[str, Any]:
    """Run the queued sync run ``run_id`` of the vendor (``trigger`` is the run's, for logs)."""
    runtime = runtime_of(context)
    scope = VendorScope(actor_user_id=None, vendor_id=vendor_id, is_admin=True)
    attempts = context.job.attempts if context.job else 0
    try:
        summary = run_queued_sync(
            runtime.session_factory,
            settings=runtime.settings,
            box=runtime.box,
            scope=scope,
            run_id=run_id,
        )
    except SyncInProgressError as busy:
        if attempts < LIVE_RUN_RETRIES:
            raise  # retried: the live run ends, or is abandoned past its lease
        queueing.end_queued_run(runtime.session_factory, run_id=run_id, error=busy.message)
        return {"run_id": run_id, "status": "failed", "error": busy.code}
    except LetzshopUpstreamError as failed:
        # The run records the failure (status failed, the reason); the job itself did its work.
        logger.warning("sync run %s of vendor %s failed: %s", run_id, vendor_id, failed.message)
        return {"run_id": run_id, "status": "failed", "error": failed.code}
    except AppError as refused:
        # Before the run started (credentials removed, key unreadable): it never will.
        queueing.end_queued_run(runtime.session_factory, run_id=run_id, error=refused.message)
        logger.warning("sync run %s of vendor %s refused: %s", run_id, vendor_id, refused.message)
        return {"run_id": run_id, "status": "failed", "error": refused.code}
    except Exception as exc:
        # The job fails (monitored); a run it had not started must not stay queued for ever.
        queueing.end_queued_run(
            runtime.session_factory, run_id=run_id, error=f"internal error: {type(exc).__name__}"
        )
        raise
    if summary is None:
        logger.info("sync run %s of vendor %s had already ended (%s)", run_id, vendor_id, trigger)
        return {"run_id": run_id, "status": "skipped"}
    return {"run_id": summary.run_id, "status": str(summary.status)}


def queue_due_syncs(context: JobContext, timestamp: int) -> list[int]:
    """Queue every vendor's due scheduled sync; the runs queued."""
    from ordergate.jobs.queue import ProcrastinateSyncQueue

    runtime = runtime_of(context)
    assert context.app is not None
    queue = ProcrastinateSyncQueue(context.app, owns_app=False)
    return queueing.queue_due_syncs(
        runtime.session_factory, queue=queue, box=runtime.box, now=utcnow()
    )


def fulfil_order(context: JobContext, *, request_id: int, order_id: int) -> dict[str, Any]:
    """One attempt at the queued confirm/decline ``request_id`` of ``order_id`` (the order
    names the job's lock)."""
    runtime = runtime_of(context)
    attempts = context.job.attempts if context.job else 0
    last = attempts + 1 >= runtime.settings.fulfilment_retry_attempts
    try:
        status = retry_fulfilment(
            runtime.session_factory,
            settings=runtime.settings,
            box=runtime.box,
            request_id=request_id,
            last_attempt=last,
        )
    except RetryLaterError:
        raise  # procrastinate schedules the next attempt (the retry strategy's backoff)
    except Exception as exc:
        # The job fails (monitored); its request must not read as pending for ever.
        end_request(
            runtime.session_factory,
            request_id=request_id,
            error=f"internal error: {type(exc).__name__}",
        )
        raise
    return {"request_id": request_id, "order_id": order_id, "status": str(status or "ended")}


def sweep_exceptions(context: JobContext, timestamp: int) -> dict[str, int]:
    """The nightly auto-match sweep: vendor code → exceptions resolved."""
    runtime = runtime_of(context)
    swept = dict(sweep_vendors(runtime.session_factory))
    logger.info("nightly sweep resolved %d exception(s)", sum(swept.values()))
    return swept


def fulfilment_retry(settings: Settings) -> RetryStrategy:
    """``fulfil_order``'s backoff: ``wait + 2 ** (attempt + 1)`` seconds, only after an
    attempt that asked to be retried; the task fails the request on its last attempt."""
    return RetryStrategy(
        max_attempts=settings.fulfilment_retry_attempts,
        wait=settings.fulfilment_retry_wait_seconds,
        exponential_wait=2,
        retry_exceptions={RetryLaterError},
    )


async def retry_stalled(app: procrastinate.App, *, seconds_since_heartbeat: float) -> list[int]:
    """Put the jobs of workers silent for ``seconds_since_heartbeat`` back to ``todo``; their
    ids."""
    stalled = await app.job_manager.get_stalled_jobs(
        seconds_since_heartbeat=seconds_since_heartbeat
    )
    retried = []
    for job in stalled:
        await app.job_manager.retry_job(job)
        assert job.id is not None
        retried.append(job.id)
    if retried:
        logger.warning("retried stalled jobs %s", retried)
    return retried


async def retry_stalled_jobs(context: JobContext, timestamp: int) -> list[int]:
    assert context.app is not None
    seconds = runtime_of(context).settings.jobs_stalled_seconds
    return await retry_stalled(context.app, seconds_since_heartbeat=seconds)


def deliver_webhooks(context: JobContext, timestamp: int) -> dict[str, int]:
    """The webhooks' tick: orders newly at risk recorded, due deliveries sent."""
    runtime = runtime_of(context)
    at_risk, report = run_tick(runtime.session_factory, settings=runtime.settings, box=runtime.box)
    return {
        "at_risk": at_risk,
        "delivered": report.delivered,
        "retrying": report.retrying,
        "failed": report.failed,
    }


def register(app: procrastinate.App, settings: Settings) -> None:
    app.task(
        name=FULFIL_ORDER,
        queue=FULFILMENT_QUEUE,
        pass_context=True,
        retry=fulfilment_retry(settings),
    )(fulfil_order)
    app.periodic(cron=SWEEP_CRON, periodic_id="nightly-sweep")(
        app.task(
            name=SWEEP_EXCEPTIONS,
            queue=PERIODIC_QUEUE,
            pass_context=True,
            queueing_lock=SWEEP_EXCEPTIONS,
        )(sweep_exceptions)
    )
    app.task(
        name=SYNC_VENDOR,
        queue=SYNC_QUEUE,
        pass_context=True,
        retry=RetryStrategy(
            max_attempts=LIVE_RUN_RETRIES + 1,
            wait=LIVE_RUN_WAIT_SECONDS,
            retry_exceptions={SyncInProgressError},
        ),
    )(sync_vendor)
    app.periodic(cron="* * * * *", periodic_id="due-syncs")(
        app.task(
            name=QUEUE_DUE_SYNCS,
            queue=PERIODIC_QUEUE,
            pass_context=True,
            # lock: two ticks never run at once (each reads who is due, then queues them one
            # by one; run together, both could queue a vendor whose first run had started).
            lock=QUEUE_DUE_SYNCS,
            queueing_lock=QUEUE_DUE_SYNCS,
        )(queue_due_syncs)
    )
    app.periodic(cron="* * * * *", periodic_id="retry-stalled")(
        app.task(
            name=RETRY_STALLED_JOBS,
            queue=PERIODIC_QUEUE,
            pass_context=True,
            queueing_lock=RETRY_STALLED_JOBS,
        )(retry_stalled_jobs)
    )
    app.periodic(cron="* * * * *", periodic_id="deliver-webhooks")(
        app.task(
            name=DELIVER_WEBHOOKS,
            queue=PERIODIC_QUEUE,
            pass_context=True,
            queueing_lock=DELIVER_WEBHOOKS,
        )(deliver_webhooks)
    )
