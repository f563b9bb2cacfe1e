"""Catalog jobs that write in committed batches: the feed import and copy-to-catalog.

The feed import reads an uploaded feed from a file and imports it batch by batch.

A job runner, not a service: it owns its transactions and knows nothing of HTTP, so the API
(in the foreground or a background thread), the CLI and a later task queue all run this one
function. The file is checked whole first, so a file that cannot be read writes nothing. Then
each batch is parsed outside any transaction and written in one short transaction together
with the run's counts and heartbeat: a long feed never holds SQLite's write lock (or
PostgreSQL's row locks) for more than one batch, every row is written whole or not at all, and
a re-run after a crash updates what was already written instead of duplicating it.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from sqlalchemy.orm import Session, sessionmaker

from ordergate.catalog import service
from ordergate.catalog.errors import FeedFormatError
from ordergate.catalog.feed import (
    FeedProduct,
    FeedRowError,
    FeedRowWarning,
    check_feed,
    read_feed,
)
from ordergate.catalog.models import ImportRunStatus
from ordergate.catalog.ports import GtinMatching
from ordergate.scope import VendorScope

SessionFactory = sessionmaker[Session]
MAX_CHANGES = 100  # first changes a dry run reports
_SPOOL_CHUNK = 1 << 20

logger = logging.getLogger(__name__)


def run_feed_import(
    session_factory: SessionFactory,
    *,
    run_id: int,
    path: Path,
    marketplace: str,
    dry_run: bool,
    batch_rows: int,
    max_listed: int,
    on_progress: Callable[[service.ImportSummary], None] | None = None,
) -> service.ImportSummary:
    """Import the feed at ``path`` into the run ``run_id`` (already recorded) in batches of
    ``batch_rows``, keeping the first ``max_listed`` row errors and warnings, and finish the
    run. A file-level ``FeedFormatError`` marks the run failed and is raised."""
    summary = service.ImportSummary(run_id=run_id, dry_run=dry_run, max_listed=max_listed)
    try:
        with path.open("rb") as stream:
            check_feed(stream)
        with path.open("rb") as stream, SeenIds() as seen:
            for results in _batches(read_feed(stream), batch_rows):
                products = _sort_out(results, seen, summary)
                _write_batch(session_factory, summary, marketplace, products)
                summary.bytes_read = stream.tell()
                if on_progress is not None:
                    on_progress(summary)
    except FeedFormatError as exc:
        _finish(session_factory, summary, ImportRunStatus.FAILED, f"{exc.code}: {exc.message}")
        raise
    except Exception as exc:
        # Never leave a run "running": record the failure, then let the error surface.
        _finish(
            session_factory,
            summary,
            ImportRunStatus.FAILED,
            f"internal error: {type(exc).__name__}",
        )
        raise
    done = ImportRunStatus.PARTIAL if summary.failed_count else ImportRunStatus.SUCCEEDED
    _finish(session_factory, summary, done)
    return summary


def _batches(
    results: Iterator[FeedProduct | FeedRowError], size: int
) -> Iterator[list[FeedProduct | FeedRowError]]:
    while batch := list(islice(results, size)):
        yield batch


def _sort_out(
    results: list[FeedProduct | FeedRowError], seen: SeenIds, summary: service.ImportSummary
) -> list[FeedProduct]:
    """The batch's good rows; row errors, repeated ids and warnings go to the summary."""
    summary.total_rows += len(results)
    first_rows = seen.first_rows(r.key for r in results if isinstance(r, FeedProduct))
    products: list[FeedProduct] = []
    for result in results:
        if isinstance(result, FeedRowError):
            summary.add_error(result)
            continue
        first = first_rows.setdefault(result.key, result.row)
        if first != result.row:
            summary.add_error(
                FeedRowError(result.row, f"id '{result.key}' repeats row {first}; row skipped")
            )
            continue
        for warning in result.warnings:
            summary.add_warning(FeedRowWarning(result.row, warning))
        products.append(result)
    seen.add((p.key, p.row) for p in products)
    return products


def _write_batch(
    session_factory: SessionFactory,
    summary: service.ImportSummary,
    marketplace: str,
    products: list[FeedProduct],
) -> None:
    listed = (len(summary.failed), len(summary.warnings))
    with session_factory() as session:
        if products:
            outcome = service.apply_feed_batch(
                session, marketplace=marketplace, products=products, dry_run=summary.dry_run
            )
            summary.add_batch(outcome, max_changes=MAX_CHANGES if summary.dry_run else 0)
        grew = listed != (len(summary.failed), len(summary.warnings))
        service.save_import_run(session, summary, lists_changed=grew)
        session.commit()


def _finish(
    session_factory: SessionFactory,
    summary: service.ImportSummary,
    status: ImportRunStatus,
    error: str | None = None,
) -> None:
    summary.status = status
    with session_factory() as session:
        service.save_import_run(session, summary, lists_changed=True, error=error)
        session.commit()


class SeenIds:
    """The ids already imported by this run and their rows, in a private temporary SQLite
    database (on disk, deleted on close): memory stays flat however many ids a feed has, where
    a dict grows with them."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("")
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE seen (id TEXT PRIMARY KEY, row INTEGER) WITHOUT ROWID")

    def first_rows(self, ids: Iterable[str]) -> dict[str, int]:
        wanted = list(set(ids))
        found: dict[str, int] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(self._db.execute(f"SELECT id, row FROM seen WHERE id IN ({marks})", chunk))
        return found

    def add(self, rows: Iterable[tuple[str, int]]) -> None:
        self._db.executemany("INSERT INTO seen (id, row) VALUES (?, ?)", rows)

    def __enter__(self) -> SeenIds:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._db.close()


def spool_upload(stream: BinaryIO, *, directory: Path | None) -> Path:
    """Copy an upload to a file of its own, a chunk at a time, for a job that outlives the
    request (the caller removes it)."""
    with tempfile.NamedTemporaryFile(dir=directory, suffix=".tsv", delete=False) as target:
        shutil.copyfileobj(stream, target, _SPOOL_CHUNK)
    return Path(target.name)


def run_in_background(job: Callable[[], object], *, remove_after: Path) -> None:
    """Run ``job`` in a thread of this process and remove its file when done. A job records its
    own failure on the run; a process that dies leaves the run to be read as abandoned."""

    def run() -> None:
        try:
            job()
        except FeedFormatError:
            pass  # recorded on the run as its error
        except Exception:
            logger.exception("catalog import job failed")
        finally:
            remove_after.unlink(missing_ok=True)

    threading.Thread(target=run, name="catalog-import", daemon=True).start()


def run_copy_to_catalog(
    session_factory: SessionFactory,
    *,
    scope: VendorScope,
    marketplace_product_ids: Sequence[int],
    batch_rows: int,
    matching: GtinMatching,
) -> service.CopySummary:
    """Copy marketplace products into a vendor's catalog ``batch_rows`` at a time, then
    auto-match its pending exceptions ``matching.batch_size`` GTINs at a time, each batch
    committed. Unknown ids fail before anything is written; a re-run skips what was copied and
    finishes the matching."""
    with session_factory() as session:
        ids = service.checked_copy_ids(
            session, scope=scope, marketplace_product_ids=marketplace_product_ids
        )
        session.rollback()
    created, gtins = 0, set()
    for start in range(0, len(ids), batch_rows):
        with session_factory() as session:
            copied = service.copy_products(
                session, scope=scope, marketplace_product_ids=ids[start : start + batch_rows]
            )
            session.commit()
        created += copied.created
        gtins |= copied.gtins
    with session_factory() as session:
        ordered = sorted(gtins & matching.pending(session, vendor_id=scope.vendor_id))
        session.rollback()
    auto_matched = 0
    # Only GTINs some exception waits for, a batch at a time: each batch finds its exceptions
    # through an IN list on the index instead of reading all the vendor's pending exceptions.
    size = matching.batch_size
    for start in range(0, len(ordered), size):
        with session_factory() as session:
            outcome = matching.match(
                session, vendor_id=scope.vendor_id, gtins=ordered[start : start + size]
            )
            session.commit()
        auto_matched += outcome.resolved
    return service.CopySummary(
        created=created, skipped=len(ids) - created, auto_matched=auto_matched
    )
