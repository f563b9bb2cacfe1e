"""Running the sandbox: in a background thread (tests, demo) or in the foreground (CLI)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import uvicorn

from ordergate.sandbox.app import create_sandbox_app
from ordergate.sandbox.state import SandboxState

_START_TIMEOUT_SECONDS = 10.0


@dataclass(slots=True)
class SandboxHandle:
    """A sandbox serving in a daemon thread. ``url`` is the base URL, without a trailing slash."""

    url: str
    state: SandboxState
    _server: uvicorn.Server
    _thread: threading.Thread

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=_START_TIMEOUT_SECONDS)


def uvicorn_config(state: SandboxState, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        create_sandbox_app(state),
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        # A request parked by the timeout fault must not hold shutdown for long.
        timeout_graceful_shutdown=1,
    )


def run_in_thread(state: SandboxState, host: str = "127.0.0.1", port: int = 0) -> SandboxHandle:
    """Start serving ``state`` and return once the socket accepts; ``port=0`` picks a free one."""
    server = uvicorn.Server(uvicorn_config(state, host, port))
    thread = threading.Thread(target=server.run, name="ordergate-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"sandbox did not start on {host}:{port}")
        time.sleep(0.01)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    return SandboxHandle(f"http://{host}:{bound_port}", state, server, thread)
