from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from ordergate.schemas import Flag, HttpUrlText, Schema, Text


class CredentialsIn(BaseModel):
    api_key: Text = Field(min_length=4, max_length=500)
    endpoint: HttpUrlText | None = Field(
        default=None, description="GraphQL endpoint; default ORDERGATE_LETZSHOP_ENDPOINT"
    )
    auto_sync: Flag = False


class CredentialsOut(BaseModel):
    vendor_id: int
    endpoint: str
    api_key_last4: str = Field(description="The key itself is never returned")
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
