"""``ordergate catalog import-csv`` and ``ordergate exceptions sweep`` against the test database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from ordergate.catalog.models import CatalogImportRun, MarketplaceProduct
from ordergate.cli import app
from ordergate.config import get_settings
from ordergate.orders.models import OrderItemException
from tests.factories import (
    make_pending_exception,
    make_product,
    make_vendor,
    reload,
    row_count,
    tsv,
)

GTIN = "4006381333931"
runner = CliRunner()


@pytest.fixture
def cli_env(database_url: str, engine: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ORDERGATE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("cli_env")
def test_import_csv_imports_and_summarises(db: Session, tmp_path: Path) -> None:
    feed = tmp_path / "feed.tsv"
    feed.write_bytes(tsv(["id", "title", "price"], ["p1", "Mug", "1.00 EUR"], ["p2", "", ""]))
    result = runner.invoke(
        app, ["catalog", "import-csv", "--file", str(feed), "--marketplace", "ls"]
    )
    assert result.exit_code == 0, result.output
    assert "run 1: 2 rows: 1 created, 0 updated, 0 unchanged, 1 failed, 0 warnings" in result.output
    assert "row 3: title is missing" in result.output
    rows = db.execute(select(MarketplaceProduct.marketplace, MarketplaceProduct.title)).all()
    assert [tuple(r) for r in rows] == [("ls", "Mug")]


@pytest.mark.usefixtures("cli_env")
def test_import_csv_of_an_empty_file_exits_1_and_writes_nothing(
    db: Session, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.tsv"
    feed.write_bytes(b"")
    result = runner.invoke(app, ["catalog", "import-csv", "--file", str(feed)])
    assert result.exit_code == 1
    assert "CSV_EMPTY" in result.output
    assert row_count(db, MarketplaceProduct) == 0


@pytest.mark.usefixtures("cli_env")
def test_sweep_resolves_a_vendors_missed_matches(db: Session) -> None:
    vendor = make_vendor(db)
    exception = make_pending_exception(db, vendor_id=vendor.id, gtin=GTIN)
    product = make_product(db, vendor_id=vendor.id, gtin=GTIN)
    db.commit()
    result = runner.invoke(app, ["exceptions", "sweep", "--vendor", vendor.code])
    assert result.exit_code == 0, result.output
    assert "shop1: 1 resolved" in result.output
    assert reload(db, OrderItemException, exception.id).resolved_product_id == product.id


@pytest.mark.usefixtures("cli_env")
def test_sweep_without_vendor_covers_every_vendor_with_pending_exceptions(db: Session) -> None:
    for code in ("a", "b"):
        vendor = make_vendor(db, code=code)
        make_pending_exception(db, vendor_id=vendor.id, gtin=GTIN)
        make_product(db, vendor_id=vendor.id, gtin=GTIN)
    db.commit()
    result = runner.invoke(app, ["exceptions", "sweep"])
    assert result.exit_code == 0, result.output
    assert "a: 1 resolved" in result.output
    assert "b: 1 resolved" in result.output
    assert row_count(db, OrderItemException, OrderItemException.status == "resolved") == 2


@pytest.mark.usefixtures("cli_env")
def test_sweep_for_unknown_vendor_exits_1(db: Session) -> None:
    result = runner.invoke(app, ["exceptions", "sweep", "--vendor", "ghost"])
    assert result.exit_code == 1
    assert "VENDOR_NOT_FOUND" in result.output


@pytest.mark.usefixtures("cli_env")
def test_import_csv_records_its_run(db: Session, tmp_path: Path) -> None:
    feed = tmp_path / "feed.tsv"
    feed.write_bytes(tsv(["id", "title", "gtin"], ["p1", "Mug", "123"]))
    result = runner.invoke(app, ["catalog", "import-csv", "--file", str(feed)])
    assert result.exit_code == 0, result.output
    assert "row 2: warning: gtin '123' is not a valid GTIN" in result.output
    run = reload(db, CatalogImportRun, 1)
    assert (run.status, run.filename, run.rows_created, run.warnings_count) == (
        "succeeded",
        "feed.tsv",
        1,
        1,
    )


@pytest.mark.usefixtures("cli_env")
def test_import_csv_dry_run_writes_no_product(db: Session, tmp_path: Path) -> None:
    feed = tmp_path / "feed.tsv"
    feed.write_bytes(tsv(["id", "title"], ["p1", "Mug"], ["p2", "Cup"]))
    result = runner.invoke(app, ["catalog", "import-csv", "--file", str(feed), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "2 rows: 2 would be created, 0 would be updated, 0 unchanged" in result.output
    assert row_count(db, MarketplaceProduct) == 0
    assert reload(db, CatalogImportRun, 1).dry_run is True
