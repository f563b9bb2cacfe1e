"""Sending the outbox: ``deliver_due`` takes the due deliveries, sends each with httpx through
the outbound guard, and records what happened. A job runner, not a service: it owns its short
transactions (claim; one per outcome) and holds none across an HTTP call.

Retries: attempt n that fails (no answer, a timeout, a non-2xx answer) makes the delivery due
again after ``webhook_retry_base_seconds × 2^(n-1)`` (at most ``webhook_retry_max_seconds``),
a computed ``next_attempt_at`` per row; after ``webhook_max_attempts`` it is ``failed``. A target
the policy refuses is never contacted and fails at once; so does a delivery whose vendor has no
webhook any more, or whose secret cannot be decrypted. Pings get one attempt.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from ordergate import __version__
from ordergate.config import Settings
from ordergate.db import utcnow
from ordergate.outbound import GuardedTransport, OutboundRefusedError
from ordergate.scope import VendorScope
from ordergate.security import SecretBox
from ordergate.webhooks import outbox, repository, service
from ordergate.webhooks.models import DeliveryStatus, VendorWebhook, WebhookDelivery, WebhookEvent
from ordergate.webhooks.signing import (
    EVENT_HEADER,
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    signature_header,
)

logger = logging.getLogger(__name__)
ERROR_LENGTH = 500
# How long a claimed delivery waits, beyond its batch's timeouts, before another sender may take
# it (its sender died mid-batch).
CLAIM_MARGIN_SECONDS = 60


@dataclass(slots=True)
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None = None
    error: str | None = None
    final: bool = False  # not worth retrying: never sent again

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def body_of(delivery: WebhookDelivery) -> bytes:
    """The JSON body, the same bytes on every attempt."""
    document = {
        "id": delivery.id,
        "event": delivery.event,
        "vendor_id": delivery.vendor_id,
        "occurred_at": delivery.occurred_at.isoformat(),
        "data": delivery.data,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def backoff(settings: Settings, attempts: int) -> timedelta:
    """The wait after failed attempt number ``attempts`` (1, 2, …)."""
    seconds = settings.webhook_retry_base_seconds * 2 ** (attempts - 1)
    return timedelta(seconds=min(seconds, settings.webhook_retry_max_seconds))


def deliver_due(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    box: SecretBox,
    only: list[int] | None = None,
) -> DeliveryReport:
    """Send the due deliveries (at most ``webhook_batch_size``; ``only``: of these ids)."""
    now = utcnow()
    with session_factory() as session:
        ids = repository.due_ids(session, now=now, limit=settings.webhook_batch_size, only=only)
        # Sent one after the other: the last may wait for every earlier one to time out.
        busy = len(ids) * settings.webhook_timeout_seconds + CLAIM_MARGIN_SECONDS
        claimed = repository.claim(session, ids, now=now, until=now + timedelta(seconds=busy))
        webhooks = repository.webhooks_of(session, sorted({d.vendor_id for d in claimed}))
        session.commit()
    report = DeliveryReport()
    if not claimed:
        return report
    with _client(settings) as client:
        for delivery in claimed:
            outcome = _attempt(client, delivery, webhooks.get(delivery.vendor_id), box)
            _record(session_factory, settings, delivery, outcome, report)
    return report


def _client(settings: Settings) -> httpx.Client:
    return httpx.Client(
        transport=GuardedTransport(service.webhook_policy(settings)),
        timeout=settings.webhook_timeout_seconds,
        follow_redirects=False,
        trust_env=False,
    )


def _attempt(
    client: httpx.Client,
    delivery: WebhookDelivery,
    webhook: VendorWebhook | None,
    box: SecretBox,
) -> Outcome:
    if webhook is None:
        return Outcome(error="the vendor has no webhook any more", final=True)
    secret = box.decrypt(webhook.secret_encrypted)
    if secret is None:
        return Outcome(error="the webhook secret cannot be decrypted; set it again", final=True)
    body = body_of(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"ordergate-webhooks/{__version__}",
        EVENT_HEADER: delivery.event,
        EVENT_ID_HEADER: str(delivery.id),
        SIGNATURE_HEADER: signature_header(secret, int(time.time()), body),
    }
    try:
        response = client.post(webhook.url, content=body, headers=headers)
    except OutboundRefusedError as refused:
        return Outcome(error=f"refused target: {refused.message}", final=True)
    except httpx.HTTPError as exc:
        return Outcome(error=f"{type(exc).__name__}: {exc}"[:ERROR_LENGTH])
    if 200 <= response.status_code < 300:
        return Outcome(status_code=response.status_code)
    return Outcome(status_code=response.status_code, error=f"HTTP {response.status_code}")


def _record(
    session_factory: sessionmaker[Session],
    settings: Settings,
    delivery: WebhookDelivery,
    outcome: Outcome,
    report: DeliveryReport,
) -> None:
    now = utcnow()
    values: dict[str, Any] = {"last_status_code": outcome.status_code, "last_error": outcome.error}
    if outcome.ok:
        values.update(status=DeliveryStatus.DELIVERED, delivered_at=now, next_attempt_at=now)
        report.delivered += 1
    elif outcome.final or _out_of_attempts(settings, delivery):
        values.update(status=DeliveryStatus.FAILED, next_attempt_at=now)
        report.failed += 1
        logger.warning("webhook delivery %s failed: %s", delivery.id, outcome.error)
    else:
        values.update(next_attempt_at=now + backoff(settings, delivery.attempts))
        report.retrying += 1
    with session_factory() as session:
        repository.record_outcome(session, delivery.id, values)
        session.commit()


def _out_of_attempts(settings: Settings, delivery: WebhookDelivery) -> bool:
    if delivery.event == WebhookEvent.PING:
        return True
    return delivery.attempts >= settings.webhook_max_attempts


def send_ping(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    box: SecretBox,
    scope: VendorScope,
) -> WebhookDelivery:
    """Record a ``ping`` for the vendor's webhook (404 without one), send it now, and return
    the delivery as it ended (delivered or failed: a ping is not retried)."""
    with session_factory() as session:
        service.get_webhook(session, scope=scope)
        delivery_id = outbox.record_ping(session, vendor_id=scope.vendor_id)
        session.commit()
    deliver_due(session_factory, settings=settings, box=box, only=[delivery_id])
    with session_factory() as session:
        return service.get_delivery(session, scope=scope, delivery_id=delivery_id)


def run_tick(
    session_factory: sessionmaker[Session], *, settings: Settings, box: SecretBox
) -> tuple[int, DeliveryReport]:
    """What runs periodically: record the orders newly at risk, then send what is due."""
    with session_factory() as session:
        at_risk = outbox.record_at_risk_orders(session, now=utcnow())
        session.commit()
    return at_risk, deliver_due(session_factory, settings=settings, box=box)
