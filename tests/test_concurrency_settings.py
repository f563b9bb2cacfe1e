"""Pool, worker threads and timeouts come from settings, sized together."""

from __future__ import annotations

import pytest
from anyio import to_thread
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import text

from ordergate.app import create_app
from ordergate.config import Settings


def test_more_worker_threads_than_connections_are_refused() -> None:
    with pytest.raises(ValidationError, match="ORDERGATE_WORKER_THREADS"):
        Settings(db_pool_size=4, db_max_overflow=2, worker_threads=7)


def test_the_server_runs_as_many_threads_as_the_pool_has_connections(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"db_pool_size": 3, "db_max_overflow": 2}))
    with TestClient(app) as client:
        threads = client.portal.call(
            lambda: to_thread.current_default_thread_limiter().total_tokens
        )
    app.state.engine.dispose()
    app.state.read_engine.dispose()
    assert threads == 5
    assert app.state.engine.pool.size() == 3


def test_worker_threads_can_be_fewer(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"worker_threads": 4}))
    with TestClient(app) as client:
        threads = client.portal.call(
            lambda: to_thread.current_default_thread_limiter().total_tokens
        )
    app.state.engine.dispose()
    app.state.read_engine.dispose()
    assert threads == 4


@pytest.mark.postgres_only
def test_postgres_connections_carry_the_lock_and_statement_timeouts(
    settings: Settings, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("PostgreSQL's lock_timeout and statement_timeout")
    app = create_app(
        settings.model_copy(update={"db_lock_timeout": 1.5, "db_statement_timeout": 20})
    )
    with app.state.engine.connect() as conn:
        shown = (
            conn.scalar(text("SHOW lock_timeout")),
            conn.scalar(text("SHOW statement_timeout")),
        )
    app.state.engine.dispose()
    app.state.read_engine.dispose()
    assert shown == ("1500ms", "20s")
