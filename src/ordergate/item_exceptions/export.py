"""The exception list as CSV: one row per exception, the list's filters, newest first.

Built for constant memory: the rows are read in keyset batches (`repository.export_batch`,
`BATCH_SIZE` at a time, each batch one short read of an index range) and each batch is encoded
on its own, so neither the server nor the database holds more than a batch, whatever the total.
The web layer runs each batch in its own read session (`routing.stream_batches`); `iter_csv`
does the same for a command or a benchmark.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or line break
before one) as a formula: every text cell starting with one of `FORMULA_TRIGGERS` gets a
leading apostrophe (OWASP's advice), which spreadsheets show as text and the csv module reads
back verbatim. Quoting is the `csv` module's.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from ordergate.events.timeline import UserEmails
from ordergate.item_exceptions import repository
from ordergate.item_exceptions.repository import ExportKey, ListFilters
from ordergate.orders.models import ExceptionStatus
from ordergate.scope import Scope

BATCH_SIZE = 2_000
MEDIA_TYPE = "text/csv; charset=utf-8"
UTF8_BOM = "\ufeff"
# The characters a spreadsheet reads as the start of a formula (OWASP "CSV injection": = + - @,
# tab, carriage return), line feed, and the full-width forms some spreadsheets fold into them.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
SYSTEM_RESOLVER = "system"

COLUMNS = (
    "exception_id",
    "vendor_code",
    "order_number",
    "order_date",
    "exception_created_at",
    "gtin",
    "sku",
    "product_name",
    "quantity",
    "exception_type",
    "status",
    "resolved_product_id",
    "resolved_product_sku",
    "resolved_product_title",
    "resolved_by",
    "resolved_at",
    "resolution_notes",
)


def neutralise(value: str) -> str:
    """The text as a spreadsheet shows it and never runs it."""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def _time(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.utcoffset() != _NO_OFFSET:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


_NO_OFFSET = timedelta(0)


def _text(value: str | None) -> str:
    return "" if value is None else neutralise(value)


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def csv_cells(row: Any, emails: dict[int, str]) -> list[str]:
    """One row of `repository.export_batch` as the `COLUMNS`' cells (unpacked by position:
    100,000 rows make attribute look-ups count)."""
    (
        exception_id,
        created_at,
        vendor_code,
        order_number,
        order_date,
        gtin,
        sku,
        name,
        quantity,
        exception_type,
        status,
        resolved_product_id,
        resolved_product_sku,
        resolved_product_title,
        resolved_by,
        resolved_at,
        notes,
    ) = row
    if status != ExceptionStatus.RESOLVED:
        resolver = ""  # who ignored one is in its timeline
    elif resolved_by is None:
        resolver = SYSTEM_RESOLVER  # the auto-match
    else:
        resolver = neutralise(emails.get(resolved_by, ""))
    return [
        str(exception_id),
        _text(vendor_code),
        _text(order_number),
        _time(order_date),
        _time(created_at),
        _text(gtin),
        _text(sku),
        _text(name),
        _number(quantity),
        _text(exception_type),
        _text(status),
        _number(resolved_product_id),
        _text(resolved_product_sku),
        _text(resolved_product_title),
        resolver,
        _time(resolved_at),
        _text(notes),
    ]


def encode(lines: Sequence[Sequence[str]]) -> bytes:
    """CSV lines (RFC 4180: CRLF, quoted where needed) as UTF-8."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(lines)
    return buffer.getvalue().encode("utf-8")


def header(*, bom: bool = False) -> bytes:
    """The header row; with `bom`, after a UTF-8 byte-order mark (Excel then reads UTF-8)."""
    return (UTF8_BOM.encode("utf-8") if bom else b"") + encode([COLUMNS])


@dataclass(frozen=True, slots=True)
class ExportFilters(ListFilters):
    """The list's filters (`repository.ListFilters`), and the moment their `deadline_state` is
    read at: fixed when the export starts, so every batch applies the same moment."""

    now: datetime | None = None


@dataclass(slots=True)
class Export:
    """One export in progress: its filters and the resolvers' emails seen so far (a few users,
    looked up once each)."""

    scope: Scope
    filters: ExportFilters
    emails: UserEmails
    batch_size: int = BATCH_SIZE
    known_emails: dict[int, str] = field(default_factory=dict)

    def batch(self, session: Session, after: ExportKey | None) -> tuple[bytes, ExportKey | None]:
        """The CSV lines of the batch after `after` and where the next one starts (None: this
        was the last)."""
        rows = repository.export_batch(
            session,
            scope=self.scope,
            filters=self.filters,
            after=after,
            limit=self.batch_size,
            now=self.filters.now,
        )
        unknown = {r.resolved_by for r in rows if r.resolved_by is not None} - set(
            self.known_emails
        )
        if unknown:
            self.known_emails.update(self.emails(session, user_ids=unknown))
        data = encode([csv_cells(row, self.known_emails) for row in rows])
        if len(rows) < self.batch_size:
            return data, None
        last = rows[-1]
        return data, ExportKey(last.created_at, last.id)


def iter_csv(
    sessions: Callable[[], Session], export: Export, *, bom: bool = False
) -> Iterator[bytes]:
    """The whole export, header first, each batch in its own short read session (the web layer
    does the same on the event loop, `routing.stream_batches`)."""
    yield header(bom=bom)
    after: ExportKey | None = None
    while True:
        with sessions() as session:
            data, after = export.batch(session, after)
        yield data
        if after is None:
            return
