"""The `ordergate` command, run as a user would: a real process on a scratch database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ordergate.db import make_engine, make_session_factory
from ordergate.orders.models import Order, OrderItemException

ORDERGATE = str(Path(sys.executable).with_name("ordergate"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def cli(scratch_url: str, tmp_path: Path):
    env = {
        **os.environ,
        "ORDERGATE_DATABASE_URL": scratch_url,
        "ORDERGATE_SECRET_KEY_FILE": str(tmp_path / "secret"),
        "ORDERGATE_LETZSHOP_MAX_RETRIES": "1",
        "COLUMNS": "120",
    }

    def run(*args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [ORDERGATE, *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == expect, done.stdout + done.stderr
        return done

    return run


def test_upgrade_create_vendor_and_users(cli) -> None:
    cli("db", "upgrade")
    assert (
        "created vendor shop" in cli("vendors", "create", "--code", "shop", "--name", "Shop").stdout
    )
    cli("users", "create", "--email", "a@example.test", "--password", "fjord-violin7", "--admin")
    cli(
        "users",
        "create",
        "--email",
        "s@example.test",
        "--password",
        "fjord-violin7",
        "--vendor",
        "shop",
    )
    duplicate = cli("vendors", "create", "--code", "shop", "--name", "Again", expect=1)
    assert "VENDOR_CODE_TAKEN" in duplicate.stderr
    unknown = cli(
        "users",
        "create",
        "--email",
        "x@example.test",
        "--password",
        "fjord-violin7",
        "--vendor",
        "ghost",
        expect=1,
    )
    assert "VENDOR_NOT_FOUND" in unknown.stderr
    neither = cli(
        "users", "create", "--email", "y@example.test", "--password", "fjord-violin7", expect=2
    )
    assert "--admin" in neither.stderr


def test_demo_imports_from_the_sandbox_and_is_idempotent(
    cli, scratch_url: str, tmp_path: Path
) -> None:
    cli("db", "upgrade")
    port = str(free_port())
    feed = tmp_path / "demo" / "feed.tsv"
    first = cli("demo", "--sandbox-port", port, "--feed", str(feed))
    assert "admin@ordergate.test" in first.stdout
    assert str(feed) in first.stdout.replace("\n", "")
    written = feed.read_bytes()
    engine = make_engine(scratch_url)
    with make_session_factory(engine)() as session:
        orders = session.scalar(select(func.count()).select_from(Order))
        exceptions = session.scalar(select(func.count()).select_from(OrderItemException))
    cli("demo", "--sandbox-port", port, "--feed", str(feed))
    assert feed.read_bytes() == written
    with make_session_factory(engine)() as session:
        # three vendors, 100 orders each
        assert session.scalar(select(func.count()).select_from(Order)) == orders == 300
        assert session.scalar(select(func.count()).select_from(OrderItemException)) == exceptions
        assert exceptions > 0
    engine.dispose()


def test_letzshop_import_reports_unreachable_letzshop(cli) -> None:
    cli("db", "upgrade")
    cli("vendors", "create", "--code", "shop", "--name", "Shop")
    cli(
        "letzshop",
        "set-credentials",
        "--vendor",
        "shop",
        "--api-key",
        "k-1234",
        "--endpoint",
        f"http://127.0.0.1:{free_port()}/graphql",
    )
    failed = cli("letzshop", "import", "--vendor", "shop", expect=1)
    assert "LETZSHOP_UNAVAILABLE" in failed.stdout
    assert "LETZSHOP_UNAVAILABLE" not in cli("letzshop", "sync-all").stdout  # auto_sync is off
    bad_state = cli("letzshop", "import", "--vendor", "shop", "--state", "declined", expect=2)
    assert "unconfirmed, confirmed, all" in bad_state.stderr


def test_the_worker_refuses_to_start_where_jobs_run_inline(
    cli, scratch_url: str, tmp_path: Path
) -> None:
    cli("db", "upgrade")
    env = {
        **os.environ,
        "ORDERGATE_DATABASE_URL": scratch_url,
        "ORDERGATE_SECRET_KEY_FILE": str(tmp_path / "secret"),
        "ORDERGATE_JOBS_MODE": "inline",
    }
    refused = subprocess.run(
        [ORDERGATE, "worker"], env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "a worker needs PostgreSQL and ORDERGATE_JOBS_MODE auto or queue" in refused.stderr
