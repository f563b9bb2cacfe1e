from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

from ordergate.letzshop.models import (
    MAX_SYNC_INTERVAL_MINUTES,
    CheckStatus,
    SyncRunStatus,
    SyncState,
    SyncTrigger,
)
from ordergate.orders.models import FulfilmentRequestStatus, OrderStatus, Verdict
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
        default=None,
        description="Scheduled syncs on or off: true sets `sync_interval_minutes` to 10 when it "
        "has none, false sets it to null; new credentials: false. Ignored when "
        "`sync_interval_minutes` is sent too",
    )
    sync_interval_minutes: int | None = Field(
        default=None,
        ge=1,
        le=MAX_SYNC_INTERVAL_MINUTES,
        description="Sync every this many minutes (1 to 10080); an explicit null turns "
        "scheduled syncs off, left out: unchanged. With jobs on the queue a worker's periodic "
        "task queues the due syncs; on SQLite `ordergate letzshop sync-all` (cron) does",
    )


class LastCheckOut(Schema):
    """The vendor's last contract check, as stored (``POST …/letzshop/check`` runs one)."""

    checked_at: datetime = Field(validation_alias="last_check_at")
    status: CheckStatus = Field(
        validation_alias="last_check_status",
        description="ok, or mismatch (each listed in `result.mismatches`)",
    )
    blocks_confirmation: bool = Field(
        validation_alias="last_check_blocks_confirmation",
        description="True while the check found the confirmation mutation unfit: confirm and "
        "decline answer 409 LETZSHOP_CHECK_MISMATCH until a check passes",
    )
    result: dict[str, Any] = Field(
        validation_alias="last_check_result", description="The whole report (see CheckOut)"
    )


class CredentialsOut(Schema):
    vendor_id: int
    endpoint: str = Field(validation_alias="endpoint_url")
    api_key_last4: str | None = Field(
        description="Last 4 characters of keys of 12 or more characters, else null; "
        "the key itself is never returned"
    )
    auto_sync: bool = Field(description="Whether scheduled syncs are on (an interval is set)")
    sync_interval_minutes: int | None = Field(
        description="Scheduled syncs every this many minutes; null: off"
    )
    updated_at: datetime
    last_check: LastCheckOut | None = Field(
        default=None, description="The last contract check; null when none was run"
    )

    @model_validator(mode="before")
    @classmethod
    def _last_check(cls, data: Any) -> Any:
        # The ORM row carries the check in flat columns: group them, or null when never run.
        if getattr(data, "last_check_at", None) is None or isinstance(data, dict):
            return data
        return {
            "vendor_id": data.vendor_id,
            "endpoint_url": data.endpoint_url,
            "api_key_last4": data.api_key_last4,
            "auto_sync": data.auto_sync,
            "sync_interval_minutes": data.sync_interval_minutes,
            "updated_at": data.updated_at,
            "last_check": LastCheckOut.model_validate(data),
        }


class CheckMismatchOut(Schema):
    kind: str = Field(
        description="missing_root, missing_field, missing_argument, required_argument, "
        "input_type, input_field, required_input_field, missing_type, output_type, "
        "enum_values, validation, probe_field or probe_failed"
    )
    subject: str = Field(description="What differs, e.g. `Variant.price`")
    message: str = Field(description="In plain words: where it is used, what the service offers")
    operations: list[str] = Field(description="ordergate's operations that use it")
    where: list[str] = Field(description="`Operation: path` of each use")
    expected: str | None = Field(description="What ordergate's contract says")
    offered: str | None = Field(description="What the service declares instead")


class CheckOut(Schema):
    vendor_id: int
    endpoint: str
    checked_at: datetime
    status: CheckStatus
    mode: str = Field(
        description="introspection, or probe_only when the service refuses introspection"
    )
    introspection: dict[str, Any] = Field(description="{available, error}")
    confirmation_verified: bool = Field(
        description="False in probe_only mode: the mutations could not be compared"
    )
    blocks_confirmation: bool = Field(
        description="A mismatch in confirmInventoryUnits: confirm and decline are refused"
    )
    summary: list[str] = Field(description="The report in plain words")
    mismatches: list[CheckMismatchOut]
    scalars: list[dict[str, Any]] = Field(
        description="Type of each leaf field the import reads: contract, service, observed "
        "(the JSON kind in the probe's answer)"
    )
    page_size: dict[str, Any] = Field(description="Page-size hints the service exposes")
    probe: dict[str, Any] = Field(description="The shipments(first: 1) query and its answer")


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


class SyncQueuedOut(Schema):
    """A sync queued for a worker (202): poll ``…/sync-runs/{run_id}`` for its progress."""

    run_id: int = Field(validation_alias="id")
    vendor_id: int
    status: SyncRunStatus = Field(description="queued")
    trigger: SyncTrigger
    state_filter: SyncState | None
    queued_at: datetime | None
    job_id: int | None = Field(description="The job queue's id of the job that runs it")


class SyncRunOut(Schema):
    id: int
    vendor_id: int
    trigger: SyncTrigger
    state_filter: SyncState | None
    status: SyncRunStatus = Field(
        description="queued (waiting for a worker), running, succeeded, partial (some shipments "
        "failed), failed, or abandoned (its process stopped: no heartbeat within the lease)"
    )
    started_at: datetime = Field(description="When it started (a queued run: when queued)")
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
    queued_at: datetime | None = Field(
        default=None, description="When it was queued for a worker; null: it ran inline"
    )
    job_id: int | None = Field(
        default=None, description="The job queue's id of the job that runs it; null: inline"
    )


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


class FulfilmentRequestOut(Schema):
    """A confirm/decline queued because Letzshop could not be reached (202 from confirm,
    reject, item confirm/decline while jobs are on the queue; docs/jobs.md)."""

    request_id: int = Field(validation_alias="id")
    order_id: int
    vendor_id: int
    verdict: Verdict
    item_id: int | None = Field(description="The item decided; null: the whole order")
    status: FulfilmentRequestStatus = Field(
        description="requested (waits for its next attempt), sent (an attempt is under way), "
        "succeeded (Letzshop's answer is recorded), stopped (not sent: refused when the job "
        "ran, e.g. an exception reopened meanwhile), failed (attempts ran out, or Letzshop "
        "refused); the reason of the last two in `last_error`"
    )
    attempts: int = Field(description="Attempts made so far, the request's own included")
    last_error: str | None
    job_id: int | None = Field(description="The job queue's id of the job that retries it")
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
