"""The QC KPIs of a window ``[start, end)``: exact counts from the exceptions, the order lines
and the events (no cache, nothing estimated), per vendor and in total.

- **lines imported**: order lines created in the window; **matched at import**: those of them
  that raised no exception (the importer raises one only when a line arrives); the **rate** is
  their share (null without lines);
- **exceptions by type**: exceptions raised in the window, by their current type;
- **resolved** (events in the window): ``by_hand`` (``after.via = one``; older events without
  ``via`` and without ``bulk_gtin``), ``bulk`` (``gtin``, ``selection``; older events with
  ``bulk_gtin``), ``auto_matched`` (``auto_matched`` events, split by ``after.cause``:
  ``catalog`` — or none, written before causes — and ``sweep``), ``created_from_exception``
  (``new_product``); **ignored** and **reopened**: those events;
- **time to resolve**: per resolution in the window (``resolved`` and ``auto_matched``
  events), its event time minus the exception's creation, in whole seconds; the median and
  p90 are PostgreSQL's ``percentile_cont`` (linear interpolation), computed the same way on
  both databases (``repository.kpi_time_to_resolve``);
- **open aging**: exceptions open *now* (pending or ignored), by age at ``now``: under one day,
  one to three days, over three days. A snapshot: it does not depend on the window.

Admins get the totals over their scope and one entry per vendor in it; a vendor gets its own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from ordergate.db import utcnow
from ordergate.item_exceptions import repository
from ordergate.item_exceptions.errors import KpiRangeInvalidError
from ordergate.item_exceptions.repository import AgeBucket, PercentileRanks, ResolutionKind
from ordergate.orders.models import ExceptionType
from ordergate.scope import Scope

DEFAULT_WINDOW = timedelta(days=30)
MEDIAN, P90 = 50, 90


@dataclass(frozen=True, slots=True)
class ResolvedCounts:
    by_hand: int = 0
    bulk: int = 0
    auto_matched: int = 0
    created_from_exception: int = 0

    @property
    def total(self) -> int:
        return self.by_hand + self.bulk + self.auto_matched + self.created_from_exception


@dataclass(frozen=True, slots=True)
class AutoMatchedCounts:
    catalog: int = 0
    sweep: int = 0


@dataclass(frozen=True, slots=True)
class TimeToResolve:
    resolutions: int = 0
    median_seconds: float | None = None
    p90_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class OpenAging:
    under_1_day: int = 0
    days_1_to_3: int = 0
    over_3_days: int = 0

    @property
    def total(self) -> int:
        return self.under_1_day + self.days_1_to_3 + self.over_3_days


@dataclass(frozen=True, slots=True)
class KpiFigures:
    lines_imported: int = 0
    matched_at_import: int = 0
    exceptions_by_type: dict[str, int] = field(
        default_factory=lambda: {t.value: 0 for t in ExceptionType}
    )
    resolved: ResolvedCounts = ResolvedCounts()
    auto_matched_by_cause: AutoMatchedCounts = AutoMatchedCounts()
    ignored: int = 0
    reopened: int = 0
    time_to_resolve: TimeToResolve = TimeToResolve()
    open_aging: OpenAging = OpenAging()

    @property
    def match_rate(self) -> float | None:
        return self.matched_at_import / self.lines_imported if self.lines_imported else None

    @property
    def exceptions_raised(self) -> int:
        return sum(self.exceptions_by_type.values())


@dataclass(frozen=True, slots=True)
class VendorKpis:
    vendor_id: int
    vendor_code: str
    figures: KpiFigures


@dataclass(frozen=True, slots=True)
class KpiReport:
    start: datetime
    end: datetime
    now: datetime
    totals: KpiFigures
    vendors: list[VendorKpis] | None  # admins only


def _utc(moment: datetime) -> datetime:
    """A query's datetime without an offset is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def percentile(ranks: PercentileRanks) -> float:
    """Linear interpolation between the two ranks (PostgreSQL's ``percentile_cont``)."""
    if ranks.upper_value is None or ranks.fraction_percent == 0:
        return float(ranks.lower_value)
    spread = ranks.upper_value - ranks.lower_value
    return (ranks.lower_value * 100 + spread * ranks.fraction_percent) / 100


def _time_to_resolve(ranks: dict[int, PercentileRanks] | None) -> TimeToResolve:
    if not ranks:
        return TimeToResolve()
    return TimeToResolve(
        resolutions=ranks[MEDIAN].values,
        median_seconds=percentile(ranks[MEDIAN]),
        p90_seconds=percentile(ranks[P90]),
    )


def _figures(
    *,
    lines: tuple[int, int],
    by_type: dict[str, int],
    events: dict[str, int],
    aging: dict[str, int],
    time_to_resolve: TimeToResolve,
) -> KpiFigures:
    imported, raised = lines
    return KpiFigures(
        lines_imported=imported,
        matched_at_import=imported - raised,
        exceptions_by_type={t.value: by_type.get(t, 0) for t in ExceptionType},
        resolved=ResolvedCounts(
            by_hand=events.get(ResolutionKind.BY_HAND, 0),
            bulk=events.get(ResolutionKind.BULK, 0),
            auto_matched=events.get(ResolutionKind.AUTO_CATALOG, 0)
            + events.get(ResolutionKind.AUTO_SWEEP, 0),
            created_from_exception=events.get(ResolutionKind.CREATED_FROM_EXCEPTION, 0),
        ),
        auto_matched_by_cause=AutoMatchedCounts(
            catalog=events.get(ResolutionKind.AUTO_CATALOG, 0),
            sweep=events.get(ResolutionKind.AUTO_SWEEP, 0),
        ),
        ignored=events.get(ResolutionKind.IGNORED, 0),
        reopened=events.get(ResolutionKind.REOPENED, 0),
        time_to_resolve=time_to_resolve,
        open_aging=OpenAging(
            under_1_day=aging.get(AgeBucket.UNDER_1_DAY, 0),
            days_1_to_3=aging.get(AgeBucket.DAYS_1_TO_3, 0),
            over_3_days=aging.get(AgeBucket.OVER_3_DAYS, 0),
        ),
    )


def _summed(per_vendor: dict[int, dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for counts in per_vendor.values():
        for key, count in counts.items():
            total[key] = total.get(key, 0) + count
    return total


def exception_kpis(
    session: Session,
    *,
    scope: Scope,
    start: datetime | None = None,
    end: datetime | None = None,
    now: datetime | None = None,
) -> KpiReport:
    """The KPIs of ``[start, end)`` (defaults: ``end`` = ``now``, ``start`` = ``end`` − 30
    days) and the open exceptions' aging at ``now``; 400 ``KPI_RANGE_INVALID`` unless
    ``start < end``."""
    now = _utc(now or utcnow())
    end = _utc(end) if end is not None else now
    start = _utc(start) if start is not None else end - DEFAULT_WINDOW
    if start >= end:
        raise KpiRangeInvalidError(start=start.isoformat(), end=end.isoformat())
    lines = repository.kpi_lines(session, scope=scope, start=start, end=end)
    by_type = repository.kpi_exceptions_by_type(session, scope=scope, start=start, end=end)
    events = repository.kpi_event_counts(session, scope=scope, start=start, end=end)
    aging = repository.kpi_open_aging(session, scope=scope, now=now)
    percents = (MEDIAN, P90)
    overall = repository.kpi_time_to_resolve(
        session, scope=scope, start=start, end=end, percents=percents, by_vendor=False
    )
    totals = _figures(
        lines=(
            sum(imported for imported, _ in lines.values()),
            sum(raised for _, raised in lines.values()),
        ),
        by_type=_summed(by_type),
        events=_summed(events),
        aging=_summed(aging),
        time_to_resolve=_time_to_resolve(overall.get(None)),
    )
    vendors: list[VendorKpis] | None = None
    if scope.is_admin:
        per_vendor = repository.kpi_time_to_resolve(
            session, scope=scope, start=start, end=end, percents=percents, by_vendor=True
        )
        vendors = [
            VendorKpis(
                vendor_id=vendor_id,
                vendor_code=code,
                figures=_figures(
                    lines=lines.get(vendor_id, (0, 0)),
                    by_type=by_type.get(vendor_id, {}),
                    events=events.get(vendor_id, {}),
                    aging=aging.get(vendor_id, {}),
                    time_to_resolve=_time_to_resolve(per_vendor.get(vendor_id)),
                ),
            )
            for vendor_id, code in repository.kpi_vendors(session, scope=scope)
        ]
    return KpiReport(start=start, end=end, now=now, totals=totals, vendors=vendors)


def _figure_attributes(figures: KpiFigures) -> dict[str, Any]:
    return {
        "lines_imported": figures.lines_imported,
        "matched_at_import": figures.matched_at_import,
        "match_rate": figures.match_rate,
        "exceptions_raised": figures.exceptions_raised,
        "exceptions_by_type": figures.exceptions_by_type,
        "resolved": {**asdict(figures.resolved), "total": figures.resolved.total},
        "auto_matched_by_cause": asdict(figures.auto_matched_by_cause),
        "ignored": figures.ignored,
        "reopened": figures.reopened,
        "time_to_resolve": asdict(figures.time_to_resolve),
        "open_aging": {**asdict(figures.open_aging), "total": figures.open_aging.total},
    }


def report_attributes(report: KpiReport) -> dict[str, Any]:
    """`schemas.KpiReportOut`'s attributes."""
    return {
        "start": report.start,
        "end": report.end,
        "now": report.now,
        "totals": _figure_attributes(report.totals),
        "vendors": None
        if report.vendors is None
        else [
            {
                "vendor_id": vendor.vendor_id,
                "vendor_code": vendor.vendor_code,
                **_figure_attributes(vendor.figures),
            }
            for vendor in report.vendors
        ],
    }
