#!/usr/bin/env python3
"""Run a command against a throwaway PostgreSQL cluster that this script starts and removes.

    python scripts/with_postgres.py -- pytest -q

The command sees ORDERGATE_TEST_DATABASE_URL pointing at an empty database. PostgreSQL's
server binaries come from PG_BIN (default: the newest /usr/lib/postgresql/*/bin); as root they
run as the `postgres` user. Missing binaries are installed with apt-get when running as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def find_pg_bin() -> Path:
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates and os.geteuid() == 0:
        print("PostgreSQL not found; installing it with apt-get", flush=True)
        subprocess.run(["apt-get", "update", "-q"], check=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-q", "postgresql"], check=True, env=env)
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        sys.exit("PostgreSQL server binaries not found; install postgresql or set PG_BIN")
    return Path(candidates[-1]).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def as_pg_user(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


def wait_ready(pg_bin: Path, port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = subprocess.run(
            [str(pg_bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
            capture_output=True,
        )
        if ready.returncode == 0:
            return
        time.sleep(0.2)
    sys.exit("PostgreSQL did not become ready in time")


def main() -> int:
    argv = sys.argv[1:]
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        sys.exit(__doc__)
    pg_bin = find_pg_bin()
    workdir = Path(tempfile.mkdtemp(prefix="ordergate-pg-"))
    data_dir, socket_dir = workdir / "data", workdir / "sock"
    socket_dir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres")
        shutil.chown(socket_dir, "postgres")
    port = free_port()
    subprocess.run(
        as_pg_user(
            [
                str(pg_bin / "initdb"),
                "-D",
                str(data_dir),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    options = (
        f"-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
    )
    subprocess.run(
        as_pg_user(
            [
                str(pg_bin / "pg_ctl"),
                "-D",
                str(data_dir),
                "-o",
                options,
                "-l",
                str(workdir / "server.log"),
                "-w",
                "start",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_ready(pg_bin, port)
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        env = {**os.environ, "ORDERGATE_TEST_DATABASE_URL": url}
        print(f"PostgreSQL ({pg_bin.parent.name}) running on port {port}", flush=True)
        return subprocess.run(argv, env=env).returncode
    finally:
        subprocess.run(
            as_pg_user([str(pg_bin / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "stop"]),
            stdout=subprocess.DEVNULL,
        )
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
