"""A saturated database answers 503 DATABASE_BUSY with Retry-After, never 500, and the request's
writes are rolled back whole; other operational errors keep 503 DATABASE_UNAVAILABLE."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ordergate.app import create_app
from ordergate.config import Settings
from ordergate.errors import is_database_busy
from tests.factories import (
    exception_state,
    make_actors,
    make_product,
    make_unmatched_line,
)
from tests.live_server import live_server

pg_only = pytest.mark.postgres_only


def assert_busy(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "DATABASE_BUSY"
    assert response.headers["Retry-After"] == "2"
    assert response.json()["error"]["details"] == {"retry_after_seconds": 2}


def test_a_request_not_admitted_in_time_is_503_database_busy(settings: Settings) -> None:
    """One request slot, held by a request whose body is still arriving: the next request is
    turned away after the pool timeout instead of waiting for a thread or a connection."""
    one_slot = {"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout": 0.3}
    released = threading.Event()

    def slow_body() -> Iterator[bytes]:
        yield b'{"notes": '
        released.wait(timeout=10)
        yield b'"x"}'

    with (
        live_server(settings.model_copy(update=one_slot)) as server,
        httpx.Client(base_url=server.url, timeout=10) as http,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        holder = pool.submit(
            http.post,
            "/api/v1/vendor/order-exceptions/1/ignore",
            content=slow_body(),
            headers={"content-type": "application/json"},
        )
        time.sleep(0.3)  # the holder is admitted and reading its body
        turned_away = http.get("/api/v1/vendor/orders")
        released.set()
        assert holder.result().status_code == 401  # it went on normally (no token)
    assert_busy(turned_away)


@pytest.fixture
def locking_engine(database_url: str) -> Iterator[Engine]:
    """A separate connection pool for the test's own lock holder."""
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pg_only
@pytest.mark.parametrize(
    "timeouts",
    [
        pytest.param({"db_lock_timeout": 0.3}, id="lock_timeout"),
        pytest.param({"db_lock_timeout": 0, "db_statement_timeout": 0.3}, id="statement_timeout"),
    ],
)
def test_a_lock_held_too_long_is_503_and_nothing_is_written(
    settings: Settings,
    db: Session,
    is_postgres: bool,
    locking_engine: Engine,
    timeouts: dict[str, float],
) -> None:
    if not is_postgres:
        pytest.skip("PostgreSQL's lock_timeout and statement_timeout")
    app = create_app(settings.model_copy(update=timeouts))
    with TestClient(app, raise_server_exceptions=False) as client:
        actors = make_actors(client, db)
        exception = make_unmatched_line(db, vendor_id=actors.vendor.id)
        product = make_product(db, vendor_id=actors.vendor.id, title="Right one")
        db.commit()
        before = exception_state(db, exception.id)
        with locking_engine.begin() as holder:
            # The exception's UPDATE goes through; re-pointing its line then waits on this lock.
            holder.execute(
                text("SELECT id FROM order_items WHERE id = :id FOR UPDATE"),
                {"id": exception.order_item_id},
            )
            response = client.post(
                f"/api/v1/vendor/order-exceptions/{exception.id}/resolve",
                headers=actors.vendor_headers,
                json={"product_id": product.id},
            )
    app.state.engine.dispose()
    app.state.read_engine.dispose()
    assert_busy(response)
    assert exception_state(db, exception.id) == before


def _real_error(engine: Engine, cause: Callable[[Engine], Any]) -> OperationalError:
    with pytest.raises(OperationalError) as caught:
        cause(engine)
    return caught.value


@pg_only
def test_deadlocks_and_serialization_failures_count_as_busy(
    locking_engine: Engine, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("PostgreSQL's SQLSTATE 40P01 and 40001")
    with locking_engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS busy_probe (id int PRIMARY KEY, n int)"))
        conn.execute(text("TRUNCATE busy_probe"))
        conn.execute(text("INSERT INTO busy_probe VALUES (1, 0), (2, 0)"))
    try:
        deadlock = _two_writers(locking_engine, "READ COMMITTED", crossed=True)
        serialization = _two_writers(locking_engine, "SERIALIZABLE", crossed=False)
    finally:
        with locking_engine.begin() as conn:
            conn.execute(text("DROP TABLE busy_probe"))
    assert deadlock.orig.sqlstate == "40P01"  # type: ignore[union-attr]
    assert serialization.orig.sqlstate == "40001"  # type: ignore[union-attr]
    assert is_database_busy(deadlock)
    assert is_database_busy(serialization)


def _two_writers(engine: Engine, isolation: str, *, crossed: bool) -> OperationalError:
    """Two transactions that collide; the database's error for the one it refuses. Each
    writes its own row; ``crossed``: then the other's (a deadlock), else it only read the
    other's before (write skew, refused under SERIALIZABLE)."""
    barrier = threading.Barrier(2)
    read = text("SELECT n FROM busy_probe WHERE id = :i")
    write = text("UPDATE busy_probe SET n = n + 1 WHERE id = :i")

    def writer(own: int) -> OperationalError | None:
        other = 3 - own
        conn = engine.connect().execution_options(isolation_level=isolation)
        try:
            with conn, conn.begin():
                conn.execute(read, {"i": other})
                conn.execute(write, {"i": own})
                barrier.wait(timeout=10)
                if crossed:
                    conn.execute(write, {"i": other})
        except OperationalError as exc:
            return exc
        return None

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(writer, [1, 2]))
    [error] = [r for r in results if r is not None]
    return error


def test_sqlite_database_is_locked_counts_as_busy(tmp_path: Any) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (n int)")
    holder.execute("BEGIN IMMEDIATE")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    try:
        error = _real_error(engine, _write)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        engine.dispose()
    assert "database is locked" in str(error.orig)
    assert is_database_busy(error)


def _write(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))


def test_other_operational_errors_are_not_busy(tmp_path: Any) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'missing' / 'no.db'}")
    try:
        error = _real_error(engine, _write)
    finally:
        engine.dispose()
    assert "unable to open database file" in str(error.orig)
    assert not is_database_busy(error)
