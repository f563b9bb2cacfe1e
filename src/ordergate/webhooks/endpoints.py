"""A vendor's webhook, its test ping and its delivery log, declared once and mounted in the
admin tree (any vendor, `{vendor_id}` in the path) and the vendor tree (the token's vendor).
docs/webhooks.md."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from ordergate.deps import JobDep, PageQuery, SecretBoxDep, SessionDep, SettingsDep, Tree
from ordergate.schemas import IdParam
from ordergate.scope import VendorScope
from ordergate.webhooks import service
from ordergate.webhooks.delivery import send_ping
from ordergate.webhooks.models import DeliveryStatus
from ordergate.webhooks.schemas import DeliveryList, DeliveryOut, WebhookIn, WebhookOut

StatusFilter = Annotated[DeliveryStatus | None, Query(description="pending, delivered or failed")]


def mount(tree: Tree) -> APIRouter:
    router = tree.router(
        prefix=tree.pick(
            admin=f"{tree.prefix}/webhooks/vendors/{{vendor_id}}",
            vendor=f"{tree.prefix}/webhooks",
        ),
        tags=("webhooks",),
    )

    @router.put("/config", response_model=WebhookOut)
    def set_webhook(
        body: WebhookIn,
        session: SessionDep,
        settings: SettingsDep,
        box: SecretBoxDep,
        scope: VendorScope = tree.owner_in_path,
    ) -> WebhookOut:
        """Set or change where the vendor's notifications go (`url`) and the secret that signs
        them (stored encrypted, never returned); omitted fields keep their values, a new
        webhook needs both. A refused URL is 400 WEBHOOK_URL_NOT_ALLOWED (`details.field`:
        url). In the vendor tree, owners only."""
        stored = service.set_webhook(
            session, scope=scope, box=box, settings=settings, url=body.url, secret=body.secret
        )
        return WebhookOut.model_validate(stored)

    @router.get("/config", response_model=WebhookOut)
    def get_webhook(session: SessionDep, scope: VendorScope = tree.vendor_in_path) -> WebhookOut:
        """The vendor's webhook, without its secret (its last 4 characters only)."""
        return WebhookOut.model_validate(service.get_webhook(session, scope=scope))

    @router.delete("/config", status_code=204)
    def clear_webhook(session: SessionDep, scope: VendorScope = tree.owner_in_path) -> Response:
        """Remove the vendor's webhook: no more events are recorded; pending deliveries fail
        when they come due. In the vendor tree, owners only."""
        service.clear_webhook(session, scope=scope)
        return Response(status_code=204)

    @router.post("/ping", response_model=DeliveryOut)
    def ping(job: JobDep, scope: VendorScope = tree.owner_in_path) -> DeliveryOut:
        """Send a `ping` delivery now and answer how it went (`status` delivered or failed,
        `last_status_code`, `last_error`); a ping is not retried. In the vendor tree, owners
        only."""
        job.hand_off()
        delivery = send_ping(job.session_factory, settings=job.settings, box=job.box, scope=scope)
        return DeliveryOut.model_validate(delivery)

    @router.get("/deliveries", response_model=DeliveryList)
    def deliveries(
        session: SessionDep,
        page: PageQuery,
        status: StatusFilter = None,
        scope: VendorScope = tree.vendor_in_path,
    ) -> DeliveryList:
        """The vendor's delivery log, newest first: status, attempts, last answer or error."""
        found, total = service.list_deliveries(session, scope=scope, page=page, status=status)
        return DeliveryList.of(found, total, page)

    @router.get("/deliveries/{delivery_id}", response_model=DeliveryOut)
    def delivery(
        delivery_id: IdParam, session: SessionDep, scope: VendorScope = tree.vendor_in_path
    ) -> DeliveryOut:
        """One delivery of the vendor's log."""
        found = service.get_delivery(session, scope=scope, delivery_id=delivery_id)
        return DeliveryOut.model_validate(found)

    return router
