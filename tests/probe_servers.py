"""Local servers that are not Letzshop, for the outbound-request tests: one that records every
request and answers redirects, HTML pages and plain JSON; and the ordergate app itself on a port.
Both listen on 127.0.0.1 only."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import uvicorn
from fastapi import FastAPI

# path → (status, content type, body, extra headers)
_ANSWERS: dict[str, tuple[int, str, bytes, dict[str, str]]] = {
    "/redirect": (302, "text/html", b"<a href='/elsewhere'>moved</a>", {"Location": "/elsewhere"}),
    "/html": (404, "text/html", b"<html><body><h1>Not Found</h1></body></html>", {}),
    "/json": (200, "application/json", b'{"status": "ok"}', {}),
}


@dataclass
class RecordingServer:
    url: str
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, Host


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def recording_server(tls: ssl.SSLContext | None = None) -> Iterator[RecordingServer]:
    record = RecordingServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            record.requests.append((self.command, self.path, self.headers.get("Host", "")))
            status, content_type, body, headers = _ANSWERS.get(
                self.path, (404, "text/html", b"<html>nothing here</html>", {})
            )
            self.send_response(status)
            for name, value in {"Content-Type": content_type, **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls else "http"
    record.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield record
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def served_app(app: FastAPI) -> Iterator[str]:
    """The ordergate app on a free loopback port; yields its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("app did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
