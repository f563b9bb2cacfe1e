"""A vendor's Letzshop health in plain words, for the dashboard's sync page: what stops orders
from arriving or from being confirmed. Built from the same reads as the API (credentials, the
latest sync run, the catalog, the last contract check); no query of its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy.orm import Session

from ordergate.catalog.service import has_products
from ordergate.db import PageRequest
from ordergate.letzshop import runs
from ordergate.letzshop.credentials import find_credentials
from ordergate.letzshop.models import CheckStatus, SyncRun, SyncRunStatus
from ordergate.scope import VendorScope


class Level(StrEnum):
    OK = "ok"
    WARN = "warn"
    BAD = "bad"


@dataclass(frozen=True, slots=True)
class Finding:
    level: Level
    text: str


@dataclass(slots=True)
class VendorHealth:
    vendor_id: int
    connected: bool
    auto_sync: bool
    latest_run: SyncRun | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def level(self) -> Level:
        levels = {f.level for f in self.findings}
        return Level.BAD if Level.BAD in levels else Level.WARN if levels else Level.OK


def vendor_health(session: Session, *, scope: VendorScope, lease_seconds: float) -> VendorHealth:
    """The vendor's connection, auto-sync, latest run, catalog and contract check, as findings
    (none: healthy)."""
    credentials = find_credentials(session, scope=scope)
    latest, _ = runs.list_runs(
        session, scope=scope, page=PageRequest(skip=0, limit=1), lease_seconds=lease_seconds
    )
    run = latest[0] if latest else None
    health = VendorHealth(
        vendor_id=scope.vendor_id,
        connected=credentials is not None,
        auto_sync=bool(credentials and credentials.auto_sync),
        latest_run=run,
    )
    add = health.findings.append
    if credentials is None:
        add(Finding(Level.BAD, "No Letzshop credentials: an owner must set the API key first"))
    elif not credentials.auto_sync:
        add(Finding(Level.WARN, "Auto-sync is off: orders arrive only when someone imports them"))
    if run is None:
        if credentials is not None:
            add(Finding(Level.WARN, "Never imported: no sync run yet"))
    elif run.status in (SyncRunStatus.FAILED, SyncRunStatus.ABANDONED):
        add(Finding(Level.BAD, f"Last import (run {run.id}) {run.status}: {run.error or '—'}"))
    elif run.status == SyncRunStatus.PARTIAL:
        count = len(run.failures or [])
        add(Finding(Level.WARN, f"Last import (run {run.id}) skipped {count} shipment(s)"))
    if not has_products(session, scope=scope):
        add(
            Finding(
                Level.WARN,
                "No catalog yet: every imported line becomes an exception until products are added",
            )
        )
    if credentials is not None and credentials.last_check_status == CheckStatus.MISMATCH:
        blocked = credentials.last_check_blocks_confirmation
        add(
            Finding(
                Level.BAD if blocked else Level.WARN,
                "The last Letzshop contract check found a mismatch"
                + (": confirm and decline are refused until a check passes" if blocked else ""),
            )
        )
    return health
