"""Start a sync without waiting for it: the dashboard's "Import now".

``start_sync`` runs the one sync job (``sync.run_sync``, which owns its transactions) in a
thread of its own and returns as soon as the run is claimed and committed, so the caller can
show the run while its pages are imported (the run row is updated with every committed page).
Errors before the claim (no credentials, a live run: 409 ``SYNC_IN_PROGRESS``) are raised to
the caller; later ones are recorded on the run by the job itself, as for the API.

This is the one place the dashboard starts syncs. With jobs on the queue (PostgreSQL,
docs/jobs.md) it queues the run through ``queueing.queue_sync``, the service the API calls, and
a worker runs it; the page stays as it is (a queued run shows as queued until it starts).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from ordergate.config import Settings
from ordergate.errors import AppError
from ordergate.letzshop.models import SyncState, SyncTrigger
from ordergate.letzshop.queueing import SyncQueue, queue_sync
from ordergate.letzshop.sync import SyncSummary, run_sync
from ordergate.scope import VendorScope
from ordergate.security import SecretBox

logger = logging.getLogger(__name__)
# How long the caller waits for the claim (a connection, the vendor's lock, one insert) before
# it reports the sync as started anyway; the thread carries on regardless.
CLAIM_WAIT_SECONDS = 30.0


class _Start:
    def __init__(self) -> None:
        self.ready = threading.Event()
        self.run_id: int | None = None
        self.error: BaseException | None = None

    def started(self, summary: SyncSummary) -> None:
        self.run_id = summary.run_id
        self.ready.set()


def start_sync(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    box: SecretBox,
    scope: VendorScope,
    trigger: SyncTrigger,
    state: SyncState = SyncState.UNCONFIRMED,
    queue: SyncQueue | None = None,
) -> int | None:
    """The id of the run now importing in the background or queued (None if the claim took
    longer than ``CLAIM_WAIT_SECONDS``); raises what the job raised before it claimed a run."""
    if queue is not None:
        return queue_sync(
            session_factory, queue=queue, box=box, scope=scope, trigger=trigger, state=state
        ).id
    start = _Start()

    def work() -> None:
        try:
            run_sync(
                session_factory,
                settings=settings,
                box=box,
                scope=scope,
                trigger=trigger,
                state=state,
                on_start=start.started,
            )
        except AppError as exc:
            # Before the claim the caller reports it; after it, the run records it.
            start.error = exc
            logger.info("background sync of vendor %s: %s", scope.vendor_id, exc.message)
        except BaseException as exc:
            start.error = exc
            logger.exception("background sync of vendor %s failed", scope.vendor_id)
        finally:
            start.ready.set()

    thread = threading.Thread(target=work, name=f"letzshop-sync-{scope.vendor_id}", daemon=True)
    thread.start()
    start.ready.wait(CLAIM_WAIT_SECONDS)
    if start.run_id is None and start.error is not None:
        raise start.error
    return start.run_id
