"""The auto-match sweep as a job runner: every pending exception of a vendor matched against its
whole active catalog (``matching.sweep_vendor``, events by the system with cause ``sweep``),
one committed transaction per vendor, so a long sweep keeps each vendor's result and holds no
vendor's locks while the next one runs. ``ordergate exceptions sweep`` (cron on SQLite) and the
nightly ``ordergate.sweep_exceptions`` task (PostgreSQL, docs/jobs.md) both call it."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session, sessionmaker

from ordergate.item_exceptions import matching, service


def sweep_vendors(
    session_factory: sessionmaker[Session], *, vendor_code: str | None = None
) -> Iterator[tuple[str, int]]:
    """Sweep the vendor (``vendor_code``; 404 if unknown) or every vendor with pending
    exceptions; yields (vendor code, exceptions resolved) as each vendor is committed."""
    with session_factory() as session:
        targets = service.sweep_targets(session, vendor_code=vendor_code)
    for vendor_id, code in targets:
        with session_factory() as session:
            resolved = matching.sweep_vendor(session, vendor_id=vendor_id)
            session.commit()
        yield code, resolved
