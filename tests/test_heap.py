"""The app keeps its start-up objects out of the collector's full passes while it runs
(ordergate/heap.py) and gives them back when it stops."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from ordergate.app import create_app
from ordergate.config import Settings


def test_the_running_app_freezes_its_start_up_objects_and_unfreezes_them_at_shutdown(
    settings: Settings,
) -> None:
    gc.unfreeze()
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            assert gc.get_freeze_count() > 10_000
            assert client.get("/health").status_code == 200
        assert gc.get_freeze_count() == 0
    finally:
        app.state.engine.dispose()
