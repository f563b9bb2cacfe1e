"""The real app served by uvicorn on a free port in a background thread (not TestClient), so
requests run on uvicorn's event loop and AnyIO's worker threads exactly as in production."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from ordergate.app import create_app
from ordergate.config import Settings

_START_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class LiveServer:
    url: str
    app: FastAPI


@contextmanager
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """Serve ``create_app(settings)``; stop it (and its pools) after."""
    app = create_app(settings)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="ordergate-live", daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("ordergate did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        thread.join(timeout=_START_TIMEOUT_SECONDS)
        app.state.engine.dispose()
        app.state.read_engine.dispose()
