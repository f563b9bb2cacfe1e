"""Reading the audit trail (the timelines of exceptions) and exporting the exception list.

The timeline of an exception is its events, oldest first, each with its actor (a user's email,
or the system with its cause: `events/timeline.py`). The detail of an exception embeds it. The
export (`export.py`) streams the list's rows as CSV in batches.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from ordergate.db import PageRequest, utcnow
from ordergate.events import timeline
from ordergate.events.timeline import TimelineEntry, UserEmails
from ordergate.item_exceptions import export, repository, service
from ordergate.item_exceptions.errors import OrderItemExceptionNotFoundError
from ordergate.item_exceptions.repository import ExportKey
from ordergate.scope import Scope


def exception_events(
    session: Session, *, scope: Scope, exception_id: int, page: PageRequest, emails: UserEmails
) -> tuple[list[TimelineEntry], int]:
    """One page of the exception's timeline, oldest first, and the number of its events."""
    exception = repository.get_exception(session, scope=scope, exception_id=exception_id)
    if exception is None:
        raise OrderItemExceptionNotFoundError(exception_id)
    events, total = repository.exception_timeline(
        session, vendor_id=exception.vendor_id, exception_id=exception.id, page=page
    )
    return timeline.entries(session, events, emails=emails), total


def exception_detail(
    session: Session, *, scope: Scope, exception_id: int, emails: UserEmails
) -> dict[str, Any]:
    """`schemas.ExceptionDetail`'s attributes: the detail with its whole timeline (an
    exception's events are few: each after the import's needs a person or a catalog change)."""
    detail = service.get_exception_detail(session, scope=scope, exception_id=exception_id)
    events, _ = repository.exception_timeline(
        session, vendor_id=detail.exception.vendor_id, exception_id=exception_id, page=None
    )
    return {**detail.attributes(), "events": timeline.entries(session, events, emails=emails)}


def start_export(
    session: Session,
    *,
    scope: Scope,
    filters: export.ExportFilters,
    emails: UserEmails,
    bom: bool = False,
) -> tuple[bytes, export.Export, ExportKey | None]:
    """The header and the first batch (read in the caller's session, so a failure still
    answers an error), the export to continue, and where it continues (None: complete)."""
    if filters.deadline_state is not None and filters.now is None:
        # One moment for every batch: a row does not change state halfway through the file.
        filters = replace(filters, now=utcnow())
    job = export.Export(scope=scope, filters=filters, emails=emails, batch_size=export.BATCH_SIZE)
    first, after = job.batch(session, None)
    return export.header(bom=bom) + first, job, after
