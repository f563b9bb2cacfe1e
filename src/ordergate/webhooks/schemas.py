from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from ordergate.schemas import Page, Schema, Text
from ordergate.webhooks.models import DeliveryStatus, WebhookEvent


class WebhookIn(BaseModel):
    """A field left out (or null) keeps its stored value; a new webhook needs both."""

    url: Text | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        json_schema_extra={"format": "uri"},
        description="Where deliveries are POSTed: http or https, a public host (private and "
        "loopback addresses only inside ORDERGATE_WEBHOOK_ALLOWED_NETWORKS); else 400 "
        "WEBHOOK_URL_NOT_ALLOWED",
    )
    secret: Text | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="The HMAC-SHA256 key of X-Ordergate-Signature; stored encrypted, never "
        "returned (only its last 4 characters)",
    )


class WebhookOut(Schema):
    vendor_id: int
    url: str
    secret_last4: str = Field(description="The secret's last 4 characters; never the secret")
    created_at: datetime
    updated_at: datetime


class DeliveryOut(Schema):
    id: int = Field(description="Also the X-Ordergate-Delivery header and the body's `id`")
    vendor_id: int
    event: WebhookEvent
    status: DeliveryStatus = Field(
        description="pending (due at next_attempt_at), delivered (a 2xx answer), failed (out "
        "of attempts, or the target was refused and never contacted)"
    )
    attempts: int
    occurred_at: datetime
    next_attempt_at: datetime = Field(
        description="While pending: when it is due (next retry); else when it ended"
    )
    last_attempt_at: datetime | None
    last_status_code: int | None = Field(description="The receiver's last HTTP status")
    last_error: str | None = Field(description="Why the last attempt failed")
    delivered_at: datetime | None
    data: dict[str, Any] = Field(description="The body's `data`")


class DeliveryList(Page):
    deliveries: list[DeliveryOut]
