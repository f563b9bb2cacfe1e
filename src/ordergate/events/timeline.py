"""Timelines: the audit trail of an order or an exception as people read it, oldest first.

Each event's actor is a user (shown by email) or the system, with what made the system act:
the import raised or re-read it, a catalog change matched it, or a sweep over the catalog did.
The events domain sits below the users' domain, so the emails come through `UserEmails`, which
the web layer wires to `auth.repository.emails_of` (`deps.USER_EMAILS`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy.orm import Session

from ordergate.events.models import Event, EventAction


class UserEmails(Protocol):
    """Emails of users by id (`auth.repository.emails_of`); unknown ids are left out."""

    def __call__(self, session: Session, *, user_ids: Collection[int]) -> dict[int, str]: ...


class ActorType(StrEnum):
    USER = "user"
    SYSTEM = "system"


class SystemCause(StrEnum):
    """Why the system wrote an event (an event with no acting user)."""

    IMPORT = "import"  # the marketplace import raised the exception or changed the order
    AUTO_MATCH = "auto_match"  # products entering the catalog matched (or flagged) it
    SWEEP = "sweep"  # `ordergate exceptions sweep` over the whole catalog


# `item_exceptions.events.MatchCause.SWEEP`, as the events store it (this domain sits below
# item_exceptions; tests/item_exceptions/test_history.py checks the spelling).
SWEEP_CAUSE = "sweep"
_BY_IMPORT = frozenset({EventAction.CREATED, EventAction.STATUS_CHANGED})
_BY_MATCHING = frozenset({EventAction.AUTO_MATCHED, EventAction.MARKED_DUPLICATE})


@dataclass(frozen=True, slots=True)
class Actor:
    type: ActorType
    user_id: int | None = None
    email: str | None = None
    cause: SystemCause | None = None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    id: int
    subject_type: str
    subject_id: int
    action: str
    actor: Actor
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    notes: str | None
    at: datetime


def system_cause(action: str, after: dict[str, Any] | None) -> SystemCause | None:
    """What made the system act; None for an action only a person takes (then written by a
    tool without a user, e.g. a script)."""
    if action in _BY_IMPORT:
        return SystemCause.IMPORT
    if action in _BY_MATCHING:
        cause = (after or {}).get("cause")
        return SystemCause.SWEEP if cause == SWEEP_CAUSE else SystemCause.AUTO_MATCH
    return None


def _notes(after: dict[str, Any] | None) -> str | None:
    notes = (after or {}).get("notes")
    return notes if isinstance(notes, str) else None


def entries(
    session: Session, events: Sequence[Event], *, emails: UserEmails
) -> list[TimelineEntry]:
    """The events as timeline entries, in the given order; one email look-up for all."""
    user_ids = {e.actor_user_id for e in events if e.actor_user_id is not None}
    known = emails(session, user_ids=user_ids) if user_ids else {}
    return [
        TimelineEntry(
            id=event.id,
            subject_type=event.subject_type,
            subject_id=event.subject_id,
            action=event.action,
            actor=(
                Actor(ActorType.SYSTEM, cause=system_cause(event.action, event.after))
                if event.actor_user_id is None
                else Actor(
                    ActorType.USER,
                    user_id=event.actor_user_id,
                    email=known.get(event.actor_user_id),
                )
            ),
            before=event.before,
            after=event.after,
            notes=_notes(event.after),
            at=event.at,
        )
        for event in events
    ]
