"""The dashboard's "Import now" goes through the same queueing service as the API: a queued
run, its page polling while it waits, and a second import sent to the waiting run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ordergate.letzshop.models import SyncRun
from ordergate.sandbox import SandboxHandle, SandboxState, run_in_thread
from tests.factories import make_user
from tests.jobs.conftest import connect_vendor
from tests.web.pages import post_form, web_login


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    handle = run_in_thread(SandboxState(seed=51, shipments_per_vendor=5))
    yield handle
    handle.stop()


def test_import_now_queues_the_run_and_a_second_import_goes_to_it(
    queued_client: TestClient, db: Session, sandbox: SandboxHandle
) -> None:
    vendor = connect_vendor(db, code="shop1", endpoint=sandbox.graphql_url, api_key="sandbox-key-1")
    make_user(db, email="staff@shop1.test", vendors=["shop1"])
    db.commit()
    csrf = web_login(queued_client, "staff@shop1.test")

    started = post_form(queued_client, "/sync/import", csrf)

    assert started.status_code == 303
    db.rollback()
    [run] = db.scalars(select(SyncRun)).all()
    assert (run.vendor_id, run.status, run.trigger) == (vendor.id, "queued", "api")
    assert started.headers["location"] == f"/sync/runs/{run.id}"
    job = db.execute(text("SELECT id, status FROM procrastinate_jobs")).one()
    assert tuple(job) == (run.job_id, "todo")
    page = queued_client.get(f"/sync/runs/{run.id}")
    assert "Waiting for a worker to start it" in page.text
    assert f'hx-get="/sync/runs/{run.id}" hx-trigger="every 1s"' in page.text

    again = post_form(queued_client, "/sync/import", csrf)

    assert again.headers["location"] == f"/sync/runs/{run.id}"
    db.rollback()
    assert [r.id for r in db.scalars(select(SyncRun))] == [run.id]
    assert db.scalar(text("SELECT count(*) FROM procrastinate_jobs")) == 1
