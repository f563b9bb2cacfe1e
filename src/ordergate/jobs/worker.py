"""``ordergate worker``: procrastinate's worker with ordergate's runtime.

Each worker process gets a unique name (host, pid and a random suffix): procrastinate records
it with the worker's heartbeat, and ``retry_stalled_jobs`` tells a dead worker's jobs by it.
Its heartbeat comes every quarter of ``jobs_stalled_seconds``, so a live worker never looks
stalled.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Sequence

import procrastinate

from ordergate.config import Settings
from ordergate.db import make_engine, make_session_factory
from ordergate.heap import startup_objects_frozen
from ordergate.jobs.queue import build_app
from ordergate.jobs.tasks import CONTEXT_KEY, WorkerRuntime
from ordergate.security import SecretBox


def worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def worker_options(
    settings: Settings, *, concurrency: int, queues: Sequence[str] | None, name: str
) -> dict[str, object]:
    return {
        "name": name,
        "concurrency": concurrency,
        "queues": list(queues) if queues else None,
        "update_heartbeat_interval": max(1.0, settings.jobs_stalled_seconds / 4),
        "stalled_worker_timeout": settings.jobs_stalled_seconds,
        "delete_jobs": "successful",
    }


def run_worker(
    settings: Settings,
    *,
    concurrency: int = 1,
    queues: Sequence[str] | None = None,
    name: str | None = None,
    app: procrastinate.App | None = None,
    install_signal_handlers: bool = True,
) -> None:
    """Run a worker until it is stopped (SIGINT/SIGTERM): ``concurrency`` jobs at once, each
    sync job in a thread with its own database connection."""
    engine = make_engine(settings.database_url)
    runtime = WorkerRuntime(
        session_factory=make_session_factory(engine),
        settings=settings,
        box=SecretBox(settings.resolved_secret_key()),
    )
    app = app or build_app(settings, max_pool_size=concurrency + 2)
    try:
        with startup_objects_frozen():
            app.run_worker(
                **worker_options(
                    settings, concurrency=concurrency, queues=queues, name=name or worker_name()
                ),
                additional_context={CONTEXT_KEY: runtime},
                install_signal_handlers=install_signal_handlers,
            )
    finally:
        engine.dispose()
