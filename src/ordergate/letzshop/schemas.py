from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from ordergate.letzshop.models import SyncRunStatus, SyncState, SyncTrigger
from ordergate.orders.models import OrderStatus
from ordergate.schemas import Flag, Page, Schema, Text


class CredentialsIn(BaseModel):
    """A field left out (or null) keeps its stored value; new credentials need ``api_key``."""

    api_key: Text | None = Field(
        default=None,
        min_length=4,
        max_length=500,
        description="Stored encrypted; required the first time, omitted: unchanged",
    )
    endpoint: Text | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        json_schema_extra={"format": "uri"},
        description=(
            "GraphQL endpoint; new credentials default to ORDERGATE_LETZSHOP_ENDPOINT. Its host "
            "must be on ORDERGATE_LETZSHOP_ALLOWED_HOSTS and https is required in production; "
            "else 400 ENDPOINT_NOT_ALLOWED"
        ),
    )
    auto_sync: Flag | None = Field(
        default=None, description="Include in scheduled syncs; new credentials: false"
    )


class CredentialsOut(Schema):
    vendor_id: int
    endpoint: str = Field(validation_alias="endpoint_url")
    api_key_last4: str | None = Field(
        description="Last 4 characters of keys of 12 or more characters, else null; "
        "the key itself is never returned"
    )
    auto_sync: bool
    updated_at: datetime


class SyncRequest(BaseModel):
    state: SyncState = SyncState.UNCONFIRMED


class SyncFailure(Schema):
    external_id: str | None
    reason: str


class SyncOut(Schema):
    run_id: int
    status: SyncRunStatus
    shipments_seen: int
    orders_created: int
    orders_updated: int = Field(description="Orders changed, including orders_reconciled")
    exceptions_created: int
    failed: list[SyncFailure]
    pages_done: int = Field(description="Pages imported and committed by this run")
    orders_reconciled: int = Field(
        description="Orders pending locally that Letzshop had decided (found in its confirmed "
        "list), brought to Letzshop's unit states"
    )
    resumed_from_run_id: int | None = Field(
        description="The abandoned or failed run whose last cursor this run started from"
    )


class SyncRunOut(Schema):
    id: int
    vendor_id: int
    trigger: SyncTrigger
    state_filter: SyncState | None
    status: SyncRunStatus = Field(
        description="running, succeeded, partial (some shipments failed), failed, or abandoned "
        "(its process stopped: no heartbeat within the lease)"
    )
    started_at: datetime
    finished_at: datetime | None
    shipments_seen: int
    orders_created: int
    orders_updated: int
    exceptions_created: int
    failures: list[dict[str, Any]]
    error: str | None
    heartbeat_at: datetime | None = Field(
        description="Refreshed with every committed page while the run is running"
    )
    pages_done: int
    last_cursor: str | None = Field(description="The cursor after the last committed page")


class SyncRunList(Page):
    sync_runs: list[SyncRunOut]


class FulfilmentOut(Schema):
    order_id: int
    status: OrderStatus = Field(description="The order's status after Letzshop answered")
    accepted: dict[str, str] = Field(description="Letzshop unit id → its new state")
    reconciled: list[str] = Field(
        default_factory=list,
        description="Units of `accepted` whose state was read back from Letzshop because the "
        "answer to the request that decided them was lost (none were sent twice)",
    )
