"""The webhooks' answers (docs/errors.md)."""

from __future__ import annotations

from ordergate.errors import AppError, NotFoundError
from ordergate.outbound import OutboundRefusedError


class WebhookUrlNotAllowedError(AppError):
    status_code = 400
    code = "WEBHOOK_URL_NOT_ALLOWED"

    def __init__(self, refused: OutboundRefusedError) -> None:
        super().__init__(
            f"url is not allowed: {refused.message}",
            details={"field": "url", "reason": refused.reason.value},
        )


class WebhookSecretRequiredError(AppError):
    status_code = 400
    code = "WEBHOOK_SECRET_REQUIRED"

    def __init__(self, vendor_id: int) -> None:
        super().__init__(
            f"secret is required: vendor {vendor_id} has no webhook yet",
            details={"field": "secret", "vendor_id": vendor_id},
        )


class WebhookUrlRequiredError(AppError):
    status_code = 400
    code = "WEBHOOK_URL_REQUIRED"

    def __init__(self, vendor_id: int) -> None:
        super().__init__(
            f"url is required: vendor {vendor_id} has no webhook yet",
            details={"field": "url", "vendor_id": vendor_id},
        )


class WebhookNotConfiguredError(NotFoundError):
    code = "WEBHOOK_NOT_CONFIGURED"

    def __init__(self, vendor_id: int) -> None:
        super().__init__(f"Vendor {vendor_id} has no webhook", details={"vendor_id": vendor_id})


class WebhookDeliveryNotFoundError(NotFoundError):
    code = "WEBHOOK_DELIVERY_NOT_FOUND"

    def __init__(self, delivery_id: int) -> None:
        super().__init__(
            f"Webhook delivery {delivery_id} not found", details={"delivery_id": delivery_id}
        )
