"""An app whose catalog jobs commit every 3 rows, to see batches at work on small data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ordergate.app import create_app
from ordergate.config import Settings

SMALL_BATCH = 3


@pytest.fixture
def small_batch_app(settings: Settings, engine: Engine) -> Iterator[FastAPI]:
    app = create_app(
        settings.model_copy(
            update={"catalog_batch_rows": SMALL_BATCH, "catalog_copy_batch_rows": SMALL_BATCH}
        )
    )
    yield app
    app.state.engine.dispose()


@pytest.fixture
def small_batch_client(small_batch_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(small_batch_app, raise_server_exceptions=False) as client:
        yield client
