"""Timelines as the API shows them (`events/timeline.py`), shared by orders and exceptions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from ordergate.events.models import EventAction, EventSubject
from ordergate.events.timeline import ActorType, SystemCause
from ordergate.schemas import Page, Schema


class ActorOut(Schema):
    type: ActorType = Field(description="user: a person acted; system: the import or matching")
    user_id: int | None = Field(description="The acting user (type user)")
    email: str | None = Field(description="The acting user's email (type user)")
    cause: SystemCause | None = Field(
        description="type system: import (raised by the import, or an order re-read), "
        "auto_match (products entering the catalog), sweep (a sweep over the catalog)"
    )


class EventOut(Schema):
    id: int
    subject_type: EventSubject
    subject_id: int = Field(description="The order's or the exception's id")
    action: EventAction | str
    actor: ActorOut
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    notes: str | None = Field(description="The person's notes (resolve, ignore, reopen)")
    at: datetime


class EventList(Page):
    events: list[EventOut]
