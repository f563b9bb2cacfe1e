"""The procrastinate app on ordergate's PostgreSQL database, and the sync queue the API and
the dashboard defer to (``letzshop.queueing.SyncQueue``).

One app per process: the API opens a small synchronous pool on first defer; a worker opens
procrastinate's asynchronous one (``worker.run_worker``). Every task is registered on each app
built here under a fixed name, so an app built in a test and one in a worker process agree.
"""

from __future__ import annotations

import threading

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Status
from sqlalchemy.engine import make_url

from ordergate.config import Settings
from ordergate.jobs import tasks
from ordergate.letzshop.errors import SyncAlreadyQueuedError

# The API defers one job per request: a few connections are plenty.
DEFER_POOL_MAX = 4


def libpq_url(database_url: str) -> str:
    """``postgresql+psycopg://…`` (SQLAlchemy's spelling) as libpq's ``postgresql://…``."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError("the job queue needs PostgreSQL")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def build_app(settings: Settings, *, max_pool_size: int = DEFER_POOL_MAX) -> procrastinate.App:
    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_url(settings.database_url), min_size=1, max_size=max_pool_size
    )
    app = procrastinate.App(connector=connector)
    tasks.register(app, settings)
    return app


def sync_lock(vendor_id: int) -> str:
    """The lock and queueing lock of a vendor's syncs: one runs at a time, one waits."""
    return f"letzshop-sync-vendor-{vendor_id}"


def fulfilment_lock(order_id: int) -> str:
    """The lock of an order's queued confirm/decline: one attempt at a time per order."""
    return f"fulfil-order-{order_id}"


class ProcrastinateSyncQueue:
    """``letzshop.queueing.SyncQueue`` on procrastinate: ``sync_vendor`` jobs with the
    vendor's ``lock`` and ``queueing_lock``; and ``letzshop.queueing.FulfilmentQueue``:
    ``fulfil_order`` jobs with the order's ``lock`` (one app and pool for both)."""

    def __init__(self, app: procrastinate.App, *, owns_app: bool = True) -> None:
        self.app = app
        self._owns_app = owns_app
        self._opened = not owns_app  # a worker's app is open already
        self._lock = threading.Lock()

    def _open(self) -> None:
        with self._lock:
            if not self._opened:
                self.app.open()
                self._opened = True

    def defer_sync(self, *, vendor_id: int, run_id: int, trigger: str) -> int:
        self._open()
        lock = sync_lock(vendor_id)
        deferrer = self.app.configure_task(
            tasks.SYNC_VENDOR, lock=lock, queueing_lock=lock, queue=tasks.SYNC_QUEUE
        )
        try:
            return deferrer.defer(vendor_id=vendor_id, trigger=str(trigger), run_id=run_id)
        except AlreadyEnqueued as exc:
            raise SyncAlreadyQueuedError(vendor_id=vendor_id, run_id=None) from exc

    def defer_fulfilment(self, *, request_id: int, order_id: int) -> int:
        self._open()
        lock = fulfilment_lock(order_id)
        deferrer = self.app.configure_task(
            tasks.FULFIL_ORDER, lock=lock, queueing_lock=lock, queue=tasks.FULFILMENT_QUEUE
        )
        return deferrer.defer(request_id=request_id, order_id=order_id)

    def job_pending(self, job_id: int) -> bool:
        self._open()
        found = list(self.app.job_manager.list_jobs(id=job_id))
        # Job.from_row keeps the column's text: read it as a Status either way.
        return bool(found) and Status(found[0].status) in (Status.TODO, Status.DOING)

    def close(self) -> None:
        with self._lock:
            if self._opened and self._owns_app:
                self.app.close()
            self._opened = False
