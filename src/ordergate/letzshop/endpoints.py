"""Letzshop credentials, sync and sync runs, for admins (any vendor) and vendors (their own)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from ordergate.deps import AdminDep, SessionDep, VendorDep
from ordergate.letzshop import service
from ordergate.letzshop.fulfilment import run_fulfilment
from ordergate.letzshop.models import LetzshopCredentials
from ordergate.letzshop.schemas import (
    CredentialsIn,
    CredentialsOut,
    FulfilmentOut,
    SyncOut,
    SyncRequest,
    SyncRunList,
    SyncRunOut,
)
from ordergate.letzshop.sync import run_sync
from ordergate.routing import CommittingRoute, end_request_transaction
from ordergate.schemas import ERROR_RESPONSES, IdParam, Limit, Skip
from ordergate.vendors.service import get_vendor

admin_router = APIRouter(
    prefix="/api/v1/admin/letzshop/vendors/{vendor_id}",
    tags=["admin", "letzshop"],
    route_class=CommittingRoute,
    responses=ERROR_RESPONSES,
)
vendor_router = APIRouter(
    prefix="/api/v1/vendor/letzshop",
    tags=["vendor", "letzshop"],
    route_class=CommittingRoute,
    responses=ERROR_RESPONSES,
)


def _credentials_out(credentials: LetzshopCredentials) -> CredentialsOut:
    return CredentialsOut(
        vendor_id=credentials.vendor_id,
        endpoint=credentials.endpoint_url,
        api_key_last4=credentials.api_key_last4,
        auto_sync=credentials.auto_sync,
        updated_at=credentials.updated_at,
    )


def _set_credentials(
    request: Request, session: Session, vendor_id: IdParam, body: CredentialsIn
) -> CredentialsOut:
    endpoint = str(body.endpoint) if body.endpoint else request.app.state.settings.letzshop_endpoint
    credentials = service.set_credentials(
        session,
        vendor_id=vendor_id,
        api_key=body.api_key,
        endpoint=endpoint,
        auto_sync=body.auto_sync,
        box=request.app.state.secret_box,
    )
    return _credentials_out(credentials)


def _sync(request: Request, vendor_id: IdParam, body: SyncRequest | None, user_id: int) -> SyncOut:
    end_request_transaction(request)
    summary = run_sync(
        request.app.state.session_factory,
        settings=request.app.state.settings,
        box=request.app.state.secret_box,
        vendor_id=vendor_id,
        trigger="api",
        state=(body or SyncRequest()).state,
        triggered_by=user_id,
    )
    return SyncOut.model_validate(asdict(summary))


def _runs(session: Session, vendor_id: IdParam, skip: int, limit: int) -> SyncRunList:
    runs, total = service.list_sync_runs(session, vendor_id=vendor_id, skip=skip, limit=limit)
    return SyncRunList(
        sync_runs=[SyncRunOut.model_validate(r) for r in runs], total=total, skip=skip, limit=limit
    )


@admin_router.put("/credentials", response_model=CredentialsOut)
def admin_set_credentials(
    vendor_id: IdParam, body: CredentialsIn, request: Request, session: SessionDep, _: AdminDep
) -> CredentialsOut:
    """Set a vendor's Letzshop API key (stored encrypted) and endpoint."""
    get_vendor(session, vendor_id=vendor_id)
    return _set_credentials(request, session, vendor_id, body)


@admin_router.get("/credentials", response_model=CredentialsOut)
def admin_get_credentials(vendor_id: IdParam, session: SessionDep, _: AdminDep) -> CredentialsOut:
    """A vendor's Letzshop connection, without the key (its last 4 characters at most)."""
    get_vendor(session, vendor_id=vendor_id)
    return _credentials_out(service.get_credentials(session, vendor_id=vendor_id))


@admin_router.post("/sync", response_model=SyncOut)
def admin_sync(
    vendor_id: IdParam, request: Request, admin: AdminDep, body: SyncRequest | None = None
) -> SyncOut:
    """Import the vendor's shipments now (default state `unconfirmed`; `all` for every state)."""
    return _sync(request, vendor_id, body, admin.id)


@admin_router.get("/sync-runs", response_model=SyncRunList)
def admin_sync_runs(
    vendor_id: IdParam, session: SessionDep, _: AdminDep, skip: Skip = 0, limit: Limit = 50
) -> SyncRunList:
    """The vendor's import runs, newest first."""
    get_vendor(session, vendor_id=vendor_id)
    return _runs(session, vendor_id, skip, limit)


@vendor_router.put("/credentials", response_model=CredentialsOut)
def vendor_set_credentials(
    body: CredentialsIn, request: Request, session: SessionDep, principal: VendorDep
) -> CredentialsOut:
    """Set your Letzshop API key (stored encrypted) and endpoint."""
    assert principal.vendor is not None
    return _set_credentials(request, session, principal.vendor.id, body)


@vendor_router.get("/credentials", response_model=CredentialsOut)
def vendor_get_credentials(session: SessionDep, principal: VendorDep) -> CredentialsOut:
    """Your Letzshop connection, without the key (its last 4 characters at most)."""
    assert principal.vendor is not None
    return _credentials_out(service.get_credentials(session, vendor_id=principal.vendor.id))


@vendor_router.post("/sync", response_model=SyncOut)
def vendor_sync(request: Request, principal: VendorDep, body: SyncRequest | None = None) -> SyncOut:
    """Import your shipments now (default state `unconfirmed`; `all` for every state)."""
    assert principal.vendor is not None
    return _sync(request, principal.vendor.id, body, principal.user.id)


@vendor_router.get("/sync-runs", response_model=SyncRunList)
def vendor_sync_runs(
    session: SessionDep, principal: VendorDep, skip: Skip = 0, limit: Limit = 50
) -> SyncRunList:
    """Your import runs, newest first."""
    assert principal.vendor is not None
    return _runs(session, principal.vendor.id, skip, limit)


def _fulfil(
    request: Request,
    action: str,
    vendor_id: IdParam,
    order_id: IdParam,
    item_id: IdParam | None,
    user_id: int,
) -> FulfilmentOut:
    end_request_transaction(request)
    result = run_fulfilment(
        request.app.state.session_factory,
        settings=request.app.state.settings,
        box=request.app.state.secret_box,
        action=action,
        vendor_id=vendor_id,
        order_id=order_id,
        item_id=item_id,
        actor_user_id=user_id,
    )
    return FulfilmentOut(order_id=result.order_id, status=result.status, accepted=result.accepted)


_CONFIRM_DOC = (
    "Blocked with 400 ORDER_HAS_UNRESOLVED_EXCEPTIONS while an item that is not declined has a "
    "pending or ignored exception; nothing is sent to Letzshop then. "
)


@admin_router.post(
    "/orders/{order_id}/confirm",
    response_model=FulfilmentOut,
    description=_CONFIRM_DOC + "Confirms every unconfirmed unit of the order.",
)
def admin_confirm_order(
    vendor_id: IdParam, order_id: IdParam, request: Request, admin: AdminDep
) -> FulfilmentOut:
    return _fulfil(request, "confirm_order", vendor_id, order_id, None, admin.id)


@admin_router.post("/orders/{order_id}/reject", response_model=FulfilmentOut)
def admin_reject_order(
    vendor_id: IdParam, order_id: IdParam, request: Request, admin: AdminDep
) -> FulfilmentOut:
    """Decline every unconfirmed unit of the order (never blocked by exceptions)."""
    return _fulfil(request, "reject_order", vendor_id, order_id, None, admin.id)


@admin_router.post(
    "/orders/{order_id}/items/{item_id}/confirm",
    response_model=FulfilmentOut,
    description=_CONFIRM_DOC + "Confirms the item's unconfirmed units.",
)
def admin_confirm_item(
    vendor_id: IdParam, order_id: IdParam, item_id: IdParam, request: Request, admin: AdminDep
) -> FulfilmentOut:
    return _fulfil(request, "confirm_item", vendor_id, order_id, item_id, admin.id)


@admin_router.post("/orders/{order_id}/items/{item_id}/decline", response_model=FulfilmentOut)
def admin_decline_item(
    vendor_id: IdParam, order_id: IdParam, item_id: IdParam, request: Request, admin: AdminDep
) -> FulfilmentOut:
    """Decline the item's unconfirmed units (never blocked: an unknown product may be declined)."""
    return _fulfil(request, "decline_item", vendor_id, order_id, item_id, admin.id)


@vendor_router.post(
    "/orders/{order_id}/confirm",
    response_model=FulfilmentOut,
    description=_CONFIRM_DOC + "Confirms every unconfirmed unit of the order.",
)
def vendor_confirm_order(
    order_id: IdParam, request: Request, principal: VendorDep
) -> FulfilmentOut:
    assert principal.vendor is not None
    return _fulfil(request, "confirm_order", principal.vendor.id, order_id, None, principal.user.id)


@vendor_router.post("/orders/{order_id}/reject", response_model=FulfilmentOut)
def vendor_reject_order(order_id: IdParam, request: Request, principal: VendorDep) -> FulfilmentOut:
    """Decline every unconfirmed unit of the order (never blocked by exceptions)."""
    assert principal.vendor is not None
    return _fulfil(request, "reject_order", principal.vendor.id, order_id, None, principal.user.id)


@vendor_router.post(
    "/orders/{order_id}/items/{item_id}/confirm",
    response_model=FulfilmentOut,
    description=_CONFIRM_DOC + "Confirms the item's unconfirmed units.",
)
def vendor_confirm_item(
    order_id: IdParam, item_id: IdParam, request: Request, principal: VendorDep
) -> FulfilmentOut:
    assert principal.vendor is not None
    return _fulfil(
        request, "confirm_item", principal.vendor.id, order_id, item_id, principal.user.id
    )


@vendor_router.post("/orders/{order_id}/items/{item_id}/decline", response_model=FulfilmentOut)
def vendor_decline_item(
    order_id: IdParam, item_id: IdParam, request: Request, principal: VendorDep
) -> FulfilmentOut:
    """Decline the item's unconfirmed units (never blocked: an unknown product may be declined)."""
    assert principal.vendor is not None
    return _fulfil(
        request, "decline_item", principal.vendor.id, order_id, item_id, principal.user.id
    )
