"""Jobs on the queue, on a real PostgreSQL: the app in `queue` mode, real `ordergate worker`
processes, the Letzshop sandbox over HTTP. Skipped on SQLite (there jobs run inline; the rest of
the suite covers that)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ordergate.app import create_app
from ordergate.config import Settings
from ordergate.letzshop.models import LetzshopCredentials
from ordergate.security import SecretBox
from ordergate.vendors.models import Vendor
from tests.conftest import TEST_SECRET

ORDERGATE = str(Path(sys.executable).with_name("ordergate"))
PROCRASTINATE_TABLES = (
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_jobs",
    "procrastinate_workers",
)


@pytest.fixture(autouse=True)
def _postgres_only(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("the job queue needs PostgreSQL")


@pytest.fixture
def queue_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"jobs_mode": "queue"})


@pytest.fixture
def queued_app(queue_settings: Settings) -> FastAPI:
    return create_app(queue_settings)


@pytest.fixture
def queued_client(queued_app: FastAPI, engine: Engine) -> Iterator[TestClient]:
    with TestClient(queued_app, raise_server_exceptions=False) as test_client:
        yield test_client
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(PROCRASTINATE_TABLES)} RESTART IDENTITY CASCADE"))


def connect_vendor(
    db: Session,
    *,
    code: str,
    endpoint: str,
    api_key: str,
    sync_interval_minutes: int | None = None,
) -> Vendor:
    vendor = Vendor(code=code, name=f"Shop {code}")
    db.add(vendor)
    db.flush()
    db.add(
        LetzshopCredentials(
            vendor_id=vendor.id,
            endpoint_url=endpoint,
            api_key_encrypted=SecretBox(TEST_SECRET).encrypt(api_key),
            api_key_last4=None,
            sync_interval_minutes=sync_interval_minutes,
        )
    )
    db.commit()
    return vendor


def sandbox_counts(
    control: httpx.Client, api_key: str, *, state: str | None = None
) -> tuple[int, int, int]:
    """(shipments, lines, units) the sandbox holds for the key (only those in ``state`` if
    given): a line per variant."""
    listed = control.get("/control/shipments", params={"api_key": api_key}).json()["shipments"]
    shipments = [
        entry["shipment"]
        for entry in listed
        if state is None or entry["shipment"]["state"] == state
    ]
    lines = {(s["id"], u["variant"]["id"]) for s in shipments for u in s["inventoryUnits"]}
    return len(shipments), len(lines), sum(len(s["inventoryUnits"]) for s in shipments)


def worker_env(database_url: str, **overrides: str) -> dict[str, str]:
    return {
        **os.environ,
        "ORDERGATE_DATABASE_URL": database_url,
        "ORDERGATE_SECRET_KEY": TEST_SECRET,
        "ORDERGATE_JOBS_MODE": "queue",
        "ORDERGATE_LETZSHOP_MAX_RETRIES": "1",
        **overrides,
    }


class Workers:
    """`ordergate worker` processes started by a test; stopped (SIGTERM, then SIGKILL) after."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, **env: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [ORDERGATE, "worker", *args],
            env=worker_env(self.database_url, **env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def workers(database_url: str) -> Iterator[Workers]:
    started = Workers(database_url)
    yield started
    started.stop()


def wait_for(check: Callable[[], Any], *, timeout: float = 90.0, every: float = 0.1) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    pytest.fail(f"not reached within {timeout} s")
