"""Feed imports as jobs: committed batches, recorded runs, background runs and their progress,
abandoned runs, file-level errors that write nothing."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ordergate.catalog import jobs, service
from ordergate.catalog.errors import FeedEncodingError
from ordergate.catalog.models import CatalogImportRun, MarketplaceProduct
from ordergate.config import Settings
from ordergate.db import make_session_factory, utcnow
from tests.factories import admin_headers, reload, row_count, tsv

IMPORT = "/api/v1/admin/marketplace-products/import"
RUNS = "/api/v1/admin/marketplace-products/import-runs"
HEADER = ["id", "title", "price"]


def _feed(n: int) -> bytes:
    return tsv(HEADER, *[[f"p{i}", f"Mug {i}", "1.00 EUR"] for i in range(n)])


def _upload(client: TestClient, headers: dict[str, str], content: bytes, **params: Any) -> Any:
    return client.post(
        IMPORT, headers=headers, params=params, files={"file": ("feed.tsv", content, "text/plain")}
    )


def _start_run(db: Session, **kw: Any) -> int:
    run = service.start_import_run(db, marketplace="letzshop", filename="f.tsv", **kw)
    db.commit()
    return run.id


def test_job_commits_each_batch_as_it_goes(engine: Engine, db: Session, tmp_path: Path) -> None:
    path = tmp_path / "feed.tsv"
    path.write_bytes(_feed(10))
    run_id = _start_run(db, dry_run=False)
    visible: list[int] = []

    def look(summary: service.ImportSummary) -> None:
        # Another connection sees each batch once it is committed.
        visible.append(row_count(db, MarketplaceProduct))

    summary = jobs.run_feed_import(
        make_session_factory(engine),
        run_id=run_id,
        path=path,
        marketplace="letzshop",
        dry_run=False,
        batch_rows=3,
        max_listed=1000,
        on_progress=look,
    )
    assert visible == [3, 6, 9, 10]
    assert (summary.created, summary.status) == (10, "succeeded")
    run = reload(db, CatalogImportRun, run_id)
    assert (run.status, run.rows_seen, run.rows_created, run.finished_at is not None) == (
        "succeeded",
        10,
        10,
        True,
    )


def test_duplicate_ids_across_batches_are_row_errors(
    engine: Engine, db: Session, tmp_path: Path
) -> None:
    path = tmp_path / "feed.tsv"
    path.write_bytes(tsv(HEADER, ["a", "A", ""], ["b", "B", ""], ["c", "C", ""], ["a", "A2", ""]))
    summary = jobs.run_feed_import(
        make_session_factory(engine),
        run_id=_start_run(db, dry_run=False),
        path=path,
        marketplace="letzshop",
        dry_run=False,
        batch_rows=2,
        max_listed=1000,
    )
    assert [(f.row, f.error) for f in summary.failed] == [(5, "id 'a' repeats row 2; row skipped")]
    assert (summary.created, summary.status) == (3, "partial")


def test_unreadable_bytes_after_several_batches_write_nothing(
    small_batch_client: TestClient, db: Session
) -> None:
    headers = admin_headers(small_batch_client, db)
    data = _feed(20) + "p99\tCafé\t\n".encode("latin-1")
    response = _upload(small_batch_client, headers, data)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "CSV_NOT_UTF8"
    assert row_count(db, MarketplaceProduct) == 0
    (run,) = small_batch_client.get(RUNS, headers=headers).json()["runs"]
    assert run["status"] == "failed"
    assert run["error"].startswith("CSV_NOT_UTF8")


def test_job_raises_file_errors_and_records_the_run_failed(
    engine: Engine, db: Session, tmp_path: Path
) -> None:
    path = tmp_path / "feed.tsv"
    path.write_bytes("id\ttitle\nq\tCafé\n".encode("latin-1"))
    run_id = _start_run(db, dry_run=False)
    with pytest.raises(FeedEncodingError):
        jobs.run_feed_import(
            make_session_factory(engine),
            run_id=run_id,
            path=path,
            marketplace="letzshop",
            dry_run=False,
            batch_rows=100,
            max_listed=1000,
        )
    assert reload(db, CatalogImportRun, run_id).status == "failed"


def test_synchronous_import_answers_with_its_run_id(
    small_batch_client: TestClient, db: Session
) -> None:
    headers = admin_headers(small_batch_client, db)
    body = _upload(small_batch_client, headers, _feed(7)).json()
    assert body["created"] == 7
    run = small_batch_client.get(f"{RUNS}/{body['run_id']}", headers=headers).json()
    assert {k: run[k] for k in ("status", "rows_seen", "rows_created", "rows_failed")} == {
        "status": "succeeded",
        "rows_seen": 7,
        "rows_created": 7,
        "rows_failed": 0,
    }


def _wait_for(client: TestClient, headers: dict[str, str], run_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run: dict[str, Any] = client.get(f"{RUNS}/{run_id}", headers=headers).json()
        if run["status"] != "running":
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} still running after 30 s")


def test_background_import_answers_202_and_reports_progress(
    small_batch_client: TestClient, db: Session
) -> None:
    headers = admin_headers(small_batch_client, db)
    data = _feed(8) + b"bad\t\t\n"
    response = _upload(small_batch_client, headers, data, background="true")
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "running"
    run = _wait_for(small_batch_client, headers, accepted["run_id"])
    assert {
        k: run[k] for k in ("status", "rows_seen", "rows_created", "rows_failed", "errors")
    } == {
        "status": "partial",
        "rows_seen": 9,
        "rows_created": 8,
        "rows_failed": 1,
        "errors": [{"row": 10, "error": "title is missing"}],
    }
    assert row_count(db, MarketplaceProduct) == 8


def test_background_file_error_marks_the_run_failed(
    small_batch_client: TestClient, db: Session
) -> None:
    headers = admin_headers(small_batch_client, db)
    response = _upload(small_batch_client, headers, b"id,title\n", background="true")
    assert response.status_code == 202
    run = _wait_for(small_batch_client, headers, response.json()["run_id"])
    assert run["status"] == "failed"
    assert run["error"].startswith("CSV_HEADER_INVALID")
    assert row_count(db, MarketplaceProduct) == 0


def test_run_whose_heartbeat_is_older_than_the_lease_reads_abandoned(
    client: TestClient, db: Session, settings: Settings
) -> None:
    headers = admin_headers(client, db)
    stale = utcnow() - timedelta(seconds=settings.catalog_import_lease_seconds + 5)
    db.add_all(
        [
            CatalogImportRun(marketplace="letzshop", started_at=stale, heartbeat_at=stale),
            CatalogImportRun(marketplace="letzshop", heartbeat_at=utcnow()),
        ]
    )
    db.commit()
    runs = client.get(RUNS, headers=headers).json()["runs"]
    assert [(r["id"], r["status"]) for r in runs] == [(2, "running"), (1, "abandoned")]
    assert client.get(f"{RUNS}/1", headers=headers).json()["status"] == "abandoned"


def test_starting_an_import_records_stale_runs_as_abandoned(
    client: TestClient, db: Session, settings: Settings
) -> None:
    headers = admin_headers(client, db)
    stale = utcnow() - timedelta(seconds=settings.catalog_import_lease_seconds + 5)
    db.add(CatalogImportRun(marketplace="letzshop", started_at=stale, heartbeat_at=stale))
    db.commit()
    _upload(client, headers, _feed(1))
    run = reload(db, CatalogImportRun, 1)
    assert (run.status, run.finished_at is not None) == ("abandoned", True)


def test_unknown_run_is_404(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    response = client.get(f"{RUNS}/999", headers=headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "CATALOG_IMPORT_RUN_NOT_FOUND"
