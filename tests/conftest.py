"""Test fixtures: a migrated database (SQLite, or PostgreSQL when ORDERGATE_TEST_DATABASE_URL is
set), the real app behind an HTTP client, and small keyword-only factories."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from ordergate import migrate
from ordergate.app import create_app
from ordergate.config import Settings
from ordergate.db import make_engine, make_session_factory
from ordergate.models import Base
from ordergate.sandbox import SandboxHandle
from ordergate.security import use_cheap_password_hashing  # noqa: E402

use_cheap_password_hashing()

TEST_SECRET = "test-secret-key-for-ordergate-tests"
PASSWORD = "correct-horse-battery"


def _fresh_postgres_database(admin_url: str) -> str:
    url = make_url(admin_url)
    name = f"ordergate_test_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    pg_url = os.environ.get("ORDERGATE_TEST_DATABASE_URL")
    if pg_url:
        url = _fresh_postgres_database(pg_url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        env="test",
        database_url=database_url,
        secret_key=TEST_SECRET,
        secret_key_file=Path(tmp_path_factory.mktemp("secret")) / "secret",
        letzshop_max_retries=2,
        # The suite's sync endpoints answer inline on both databases; tests/jobs/ queue.
        jobs_mode="inline",
        # No webhook thread in the app's lifespan: tests send when they call deliver_due
        # (tests/webhooks/test_thread.py runs the thread).
        webhook_deliver_interval_seconds=0,
    )


@pytest.fixture(scope="session")
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture(scope="session")
def _engine(database_url: str) -> Iterator[Engine]:
    # Deferred transactions: a test reading through `db` must not hold SQLite's write lock
    # while the app serves a request.
    engine = make_engine(database_url, sqlite_immediate=False)
    yield engine
    engine.dispose()


def _clean(engine: Engine) -> None:
    tables = [t.name for t in Base.metadata.sorted_tables]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(tables):
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def engine(_engine: Engine) -> Iterator[Engine]:
    """The migrated database, emptied after the test."""
    yield _engine
    _clean(_engine)


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session for setting up and inspecting data; commit to make rows visible to the app."""
    session = make_session_factory(engine)()
    yield session
    session.close()


@pytest.fixture
def client(app: FastAPI, engine: Engine) -> Iterator[TestClient]:
    # Tests log in a lot from one address: each starts with fresh login-throttle counters.
    app.state.login_throttle.reset()
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def scratch_url(database_url: str, tmp_path: Path, is_postgres: bool) -> str:
    """An empty database of the suite's kind, separate from the shared test database."""
    if not is_postgres:
        return f"sqlite:///{tmp_path / 'roundtrip.db'}"
    url = make_url(database_url)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "ordergate_roundtrip" WITH (FORCE)'))
        conn.execute(text('CREATE DATABASE "ordergate_roundtrip"'))
    admin.dispose()
    return url.set(database="ordergate_roundtrip").render_as_string(hide_password=False)


@pytest.fixture
def control(sandbox: SandboxHandle) -> Iterator[httpx.Client]:
    """The control API of the test module's (or folder's) `sandbox` fixture, reset before and
    after each test."""
    with httpx.Client(base_url=sandbox.url, timeout=10.0) as http:
        http.post("/control/reset").raise_for_status()
        yield http
        http.post("/control/reset").raise_for_status()


@pytest.fixture(params=["admin", "vendor"])
def caller(request: pytest.FixtureRequest, client: TestClient, db: Session) -> Any:
    """One test, both trees: an admin acting on vendor `shop1`, then shop1's own staff member
    (`tests.factories.Caller`)."""
    from tests.factories import make_caller

    return make_caller(client, db, request.param)
