"""Where jobs run inline (SQLite, no worker): the API process sends webhooks itself, from one
daemon thread started with the app (``app.py``'s lifespan) that runs ``delivery.run_tick``
every ``webhook_deliver_interval_seconds``. With jobs on the queue a worker's periodic task
does it instead (``jobs/tasks.py``), and ``ordergate webhooks deliver`` is the same tick for
cron. Several API processes may each run one: a delivery is claimed by one of them."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from ordergate.config import Settings
from ordergate.security import SecretBox
from ordergate.webhooks.delivery import run_tick

logger = logging.getLogger(__name__)


class DeliveryThread:
    def __init__(
        self, session_factory: sessionmaker[Session], *, settings: Settings, box: SecretBox
    ) -> None:
        self._session_factory = session_factory
        self._settings = settings
        self._box = box
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="webhook-delivery", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self._settings.webhook_deliver_interval_seconds):
            try:
                run_tick(self._session_factory, settings=self._settings, box=self._box)
            except Exception:
                # A busy or unreachable database: the next tick tries again.
                logger.exception("webhook delivery tick failed")


def delivery_thread_for(
    session_factory: sessionmaker[Session], *, settings: Settings, box: SecretBox
) -> DeliveryThread | None:
    """The thread, where this process must deliver (jobs inline, an interval set)."""
    if settings.jobs_queued or not settings.webhook_deliver_interval_seconds:
        return None
    return DeliveryThread(session_factory, settings=settings, box=box)
