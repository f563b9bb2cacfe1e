from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from ordergate.schemas import Schema


class CredentialsIn(BaseModel):
    """A field left out (or null) keeps its stored value; new credentials need ``api_key``."""

    api_key: str | None = Field(
        default=None,
        min_length=4,
        max_length=500,
        description="Stored encrypted; required the first time, omitted: unchanged",
    )
    endpoint: str | None = Field(
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
    auto_sync: bool | None = Field(
        default=None, description="Include in scheduled syncs; new credentials: false"
    )


class CredentialsOut(BaseModel):
    vendor_id: int
    endpoint: str
    api_key_last4: str | None = Field(
        description="Last 4 characters of keys of 12 or more characters, else null; "
        "the key itself is never returned"
    )
    auto_sync: bool
    updated_at: datetime


class SyncRequest(BaseModel):
    state: Literal["unconfirmed", "confirmed", "all"] = "unconfirmed"


class SyncFailure(BaseModel):
    external_id: str | None
    reason: str


class SyncOut(BaseModel):
    run_id: int
    status: str
    shipments_seen: int
    orders_created: int
    orders_updated: int
    exceptions_created: int
    failed: list[SyncFailure]


class SyncRunOut(Schema):
    id: int
    vendor_id: int
    trigger: str
    state_filter: str | None
    status: str
    started_at: datetime
    finished_at: datetime | None
    shipments_seen: int
    orders_created: int
    orders_updated: int
    exceptions_created: int
    failures: list[dict[str, Any]]
    error: str | None


class SyncRunList(BaseModel):
    sync_runs: list[SyncRunOut]
    total: int
    skip: int
    limit: int


class FulfilmentOut(BaseModel):
    order_id: int
    status: str = Field(description="The order's status after Letzshop answered")
    accepted: dict[str, str] = Field(description="Letzshop unit id → its new state")
