"""The import job: pull a vendor's shipments page by page and import them.

A job runner, not a service: it owns its transactions. The run row is claimed and committed
first (one live run per vendor, see ``runs.py``), then each page is imported and committed with
the run's counts, heartbeat and cursor, so progress survives a later failure and every shipment
is written whole or not at all. When Letzshop stays unreachable the run is recorded as failed
with the reason, and the caller gets a 502 ``AppError`` naming the run.

Resuming: after an abandoned or failed run of the same state filter, the walk starts at that
run's last committed cursor and goes to the end, then walks the pages before the cursor until
it meets a shipment it already read. Only the second walk sees what changed or appeared before
the cursor (and, with offset-based cursors, shipments that moved up when others left the list),
so a resumed run reads what a full walk would, new shipments first.

Reconciling (default state ``unconfirmed`` only): a shipment Letzshop decided leaves the
unconfirmed list, so an order still pending locally that the walk did not see is looked up in
the confirmed list (newest first), within ``letzshop_reconcile_days``, and its unit states are
applied by the importer. The walk stops once every such order is found or the pages are older
than the oldest of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ordergate.config import Settings
from ordergate.db import utcnow
from ordergate.letzshop import repository
from ordergate.letzshop.adapter import CHANNEL, deferred_order
from ordergate.letzshop.client import LetzshopClient
from ordergate.letzshop.connection import VendorConnection, open_client, upstream_error
from ordergate.letzshop.credentials import connection_for
from ordergate.letzshop.errors import LetzshopError, LetzshopGraphQLError, SyncRunAbandonedError
from ordergate.letzshop.models import SyncRun, SyncRunStatus, SyncState, SyncTrigger
from ordergate.letzshop.runs import claim_run, start_queued_run
from ordergate.letzshop.types import Shipment, ShipmentPage
from ordergate.orders.importer import import_orders
from ordergate.orders.intake import ImportFailure, ImportResult
from ordergate.scope import VendorScope
from ordergate.security import SecretBox
from ordergate.webhooks.outbox import record_sync_exceptions

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class SyncSummary:
    run_id: int
    status: SyncRunStatus
    shipments_seen: int = 0
    orders_created: int = 0
    orders_updated: int = 0  # includes orders_reconciled
    exceptions_created: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    pages_done: int = 0
    orders_reconciled: int = 0
    resumed_from_run_id: int | None = None
    exception_ids: list[int] = field(default_factory=list)  # created by this run


def run_sync(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    box: SecretBox,
    scope: VendorScope,
    trigger: SyncTrigger,
    state: SyncState = SyncState.UNCONFIRMED,
    on_page: Callable[[SyncSummary], None] | None = None,
    on_start: Callable[[SyncSummary], None] | None = None,
) -> SyncSummary:
    """Import the scope's vendor's shipments of ``state`` (the run is triggered by the scope's
    actor); a failed Letzshop request fails the run and raises ``LetzshopUpstreamError``.
    ``on_start`` hears of the run once it is claimed and committed (before the first page),
    ``on_page`` after each committed page."""
    with session_factory() as session:
        connection = connection_for(session, scope=scope, box=box)
        session.commit()  # the claim must open its own transaction with a write
        run, resumed = claim_run(
            session,
            scope=scope,
            state=state,
            trigger=trigger,
            lease_seconds=settings.letzshop_sync_lease_seconds,
        )
        session.commit()
        summary, resume_cursor = _summary_of(run, resumed)
    if on_start:
        on_start(summary)
    return _execute(
        session_factory, settings, scope, connection, summary, resume_cursor, state, on_page
    )


def run_queued_sync(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    box: SecretBox,
    scope: VendorScope,
    run_id: int,
) -> SyncSummary | None:
    """Run the queued run ``run_id`` (a worker's job, ``runs.start_queued_run``): as
    ``run_sync`` with the run's own state filter; None when the run had already ended."""
    with session_factory() as session:
        connection = connection_for(session, scope=scope, box=box)
        session.commit()
        started = start_queued_run(
            session,
            scope=scope,
            run_id=run_id,
            lease_seconds=settings.letzshop_sync_lease_seconds,
        )
        if started is None:
            return None
        run, resumed = started
        state = SyncState(run.state_filter or SyncState.UNCONFIRMED)
        session.commit()
        summary, resume_cursor = _summary_of(run, resumed)
    return _execute(session_factory, settings, scope, connection, summary, resume_cursor, state)


def _summary_of(run: SyncRun, resumed: SyncRun | None) -> tuple[SyncSummary, str | None]:
    summary = SyncSummary(
        run_id=run.id,
        status=SyncRunStatus.RUNNING,
        resumed_from_run_id=resumed.id if resumed else None,
    )
    return summary, resumed.last_cursor if resumed else None


def _execute(
    session_factory: sessionmaker[Session],
    settings: Settings,
    scope: VendorScope,
    connection: VendorConnection,
    summary: SyncSummary,
    resume_cursor: str | None,
    state: SyncState,
    on_page: Callable[[SyncSummary], None] | None = None,
) -> SyncSummary:
    job = SyncJob(session_factory, scope.vendor_id, summary, on_page)
    listed = None if state == SyncState.ALL else str(state)
    try:
        with open_client(connection, settings) as client:
            seen = _walk(client, job, listed, resume_cursor)
            if state == SyncState.UNCONFIRMED and settings.letzshop_reconcile_days:
                _reconcile(client, job, seen, days=settings.letzshop_reconcile_days)
    except LetzshopError as exc:
        job.finish(status=SyncRunStatus.FAILED, error=exc.message)
        raise upstream_error(
            scope.vendor_id,
            exc,
            run_id=summary.run_id,
            orders_created=summary.orders_created,
            orders_updated=summary.orders_updated,
        ) from exc
    except Exception as exc:
        # Never leave a run "running": record the failure, then let the error surface.
        job.finish(status=SyncRunStatus.FAILED, error=f"internal error: {type(exc).__name__}")
        raise
    job.finish(status=SyncRunStatus.PARTIAL if summary.failed else SyncRunStatus.SUCCEEDED)
    return summary


def _walk(
    client: LetzshopClient, job: SyncJob, state: str | None, resume_cursor: str | None
) -> set[str]:
    """Import the whole list; returns the ids of every shipment read."""
    if resume_cursor is None:
        return job.import_pages(client.iter_shipment_pages(state))
    ahead = job.import_pages(_pages_after(client, state, resume_cursor))
    return ahead | job.import_pages(client.iter_shipment_pages(state), stop_at=ahead)


def _pages_after(client: LetzshopClient, state: str | None, cursor: str) -> Iterator[ShipmentPage]:
    """The pages after ``cursor``; none when Letzshop refuses the cursor (expired, or from an
    older API), so the walk from the first page that follows covers everything."""
    pages = client.iter_shipment_pages(state, after=cursor)
    try:
        first = next(pages)
    except LetzshopGraphQLError as exc:
        logger.warning("resume cursor refused (%s); walking from the first page", exc.message)
        return
    yield first
    yield from pages


def _reconcile(client: LetzshopClient, job: SyncJob, seen: set[str], *, days: int) -> None:
    """Apply Letzshop's unit states to orders pending locally that left the unconfirmed list."""
    targets = job.pending_since(utcnow() - timedelta(days=days), excluding=seen)
    if not targets:
        return
    oldest = min(targets.values())
    order = _AgeOrder()
    for page in client.iter_shipment_pages(SyncState.CONFIRMED.value):
        wanted = [shipment for shipment in page.shipments if shipment.id in targets]
        job.import_page(page, only=wanted)
        for shipment in wanted:
            del targets[shipment.id]
        if not targets or order.all_older(page.shipments, oldest):
            return


class _AgeOrder:
    """Tells when a newest-first list has passed a date. The listing order is not documented:
    if dates ever rise from one shipment to the next, the list is not newest first and no
    early stop is made (the walk then ends when every order is found or the list ends)."""

    def __init__(self) -> None:
        self.newest_first = True
        self.previous: datetime | None = None

    def all_older(self, shipments: list[Shipment], cutoff: datetime) -> bool:
        dates = [s.order.completed_at for s in shipments]
        known = [d for d in dates if d is not None]
        chain = [self.previous, *known] if self.previous else known
        if any(later > earlier for earlier, later in zip(chain, chain[1:], strict=False)):
            self.newest_first = False
        self.previous = known[-1] if known else self.previous
        return self.newest_first and bool(dates) and len(known) == len(dates) and known[0] < cutoff


@dataclass(slots=True)
class SyncJob:
    """The per-page work of one run: import, count, heartbeat, commit (``bench/`` times it)."""

    session_factory: sessionmaker[Session]
    vendor_id: int
    summary: SyncSummary
    on_page: Callable[[SyncSummary], None] | None

    def import_pages(
        self, pages: Iterable[ShipmentPage], *, stop_at: set[str] | None = None
    ) -> set[str]:
        """Import pages of the run's list, saving each page's cursor; stop after the first page
        holding a shipment of ``stop_at``. Returns the ids read."""
        seen: set[str] = set()
        for page in pages:
            ids = {s.id for s in page.shipments}
            ids.update(f.external_id for f in page.failures if f.external_id)
            self.import_page(page, cursor=page.end_cursor)
            seen |= ids
            if stop_at is not None and ids & stop_at:
                break
        return seen

    def import_page(
        self,
        page: ShipmentPage,
        *,
        cursor: str | None = None,
        only: list[Shipment] | None = None,
    ) -> None:
        """Import one page and commit it with the run's counts and heartbeat. ``only``: a
        reconciling page, of which just these shipments are applied (no cursor kept: it is
        another list's)."""
        reconciling = only is not None
        shipments = page.shipments if only is None else only
        orders = [deferred_order(self.vendor_id, shipment) for shipment in shipments]
        with self.session_factory() as session:
            result = import_orders(
                session, vendor_id=self.vendor_id, channel=CHANNEL, orders=orders
            )
            if not reconciling:
                result.shipments_seen += len(page.failures)
                result.failed.extend(ImportFailure(f.external_id, f.reason) for f in page.failures)
            _add(self.summary, result, reconciling=reconciling)
            self.summary.pages_done += 1
            self._heartbeat(session, cursor, failures_changed=bool(result.failed))
            session.commit()
        self.summary.exception_ids.extend(result.exception_ids)  # committed: for the event
        if self.on_page:
            self.on_page(self.summary)

    def _heartbeat(self, session: Session, cursor: str | None, *, failures_changed: bool) -> None:
        values = _counts(self.summary, failures_changed=failures_changed)
        values.update(heartbeat_at=utcnow(), pages_done=self.summary.pages_done)
        if cursor:
            values["last_cursor"] = cursor
        if not repository.update_running_run(session, self.summary.run_id, values):
            session.rollback()
            self.summary.pages_done -= 1
            raise SyncRunAbandonedError(vendor_id=self.vendor_id, run_id=self.summary.run_id)

    def pending_since(self, since: datetime, *, excluding: set[str]) -> dict[str, datetime]:
        """Orders pending locally, placed since ``since``, that the walk did not read: id →
        placed at."""
        with self.session_factory() as session:
            rows = repository.pending_orders_placed_since(
                session, vendor_id=self.vendor_id, channel=CHANNEL, since=since
            )
        return {shipment_id: at for shipment_id, at in rows if shipment_id not in excluding}

    def finish(self, *, status: SyncRunStatus, error: str | None = None) -> None:
        self.summary.status = status
        values = _counts(self.summary, failures_changed=True)
        values.update(status=status, finished_at=utcnow())
        if error is not None:
            values["error"] = error
        with self.session_factory() as session:
            # A run abandoned meanwhile stays abandoned: its lease went to someone else.
            repository.update_running_run(session, self.summary.run_id, values)
            # Its exceptions were created all the same: one event for the run, committed with
            # its end (docs/webhooks.md).
            record_sync_exceptions(
                session,
                vendor_id=self.vendor_id,
                counts=_event_counts(self.summary),
                exception_ids=self.summary.exception_ids,
            )
            session.commit()


def _add(summary: SyncSummary, result: ImportResult, *, reconciling: bool) -> None:
    if reconciling:
        summary.orders_reconciled += result.orders_updated
    else:
        summary.shipments_seen += result.shipments_seen
    summary.orders_created += result.orders_created
    summary.orders_updated += result.orders_updated
    summary.exceptions_created += result.exceptions_created
    summary.failed.extend({"external_id": f.external_id, "reason": f.reason} for f in result.failed)


def _counts(summary: SyncSummary, *, failures_changed: bool) -> dict[str, Any]:
    """The run's counts; the failure list only when it grew (it can be long)."""
    values: dict[str, Any] = {
        "shipments_seen": summary.shipments_seen,
        "orders_created": summary.orders_created,
        "orders_updated": summary.orders_updated,
        "exceptions_created": summary.exceptions_created,
    }
    if failures_changed:
        values["failures"] = list(summary.failed)
    return values


def _event_counts(summary: SyncSummary) -> dict[str, Any]:
    """What an ``exceptions.created`` event tells of its run."""
    return {
        "sync_run_id": summary.run_id,
        "status": str(summary.status),
        "shipments_seen": summary.shipments_seen,
        "orders_created": summary.orders_created,
        "orders_updated": summary.orders_updated,
        "exceptions_created": summary.exceptions_created,
    }
