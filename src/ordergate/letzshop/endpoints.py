"""Letzshop credentials, sync and sync runs, for admins (any vendor) and vendors (their own)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from ordergate.deps import AdminDep, OwnerDep, SessionDep, VendorDep
from ordergate.letzshop import runs, service
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
    credentials = service.set_credentials(
        session,
        vendor_id=vendor_id,
        box=request.app.state.secret_box,
        settings=request.app.state.settings,
        api_key=body.api_key,
        endpoint=body.endpoint,
        auto_sync=body.auto_sync,
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


def _lease(request: Request) -> float:
    return float(request.app.state.settings.letzshop_sync_lease_seconds)


def _runs(
    request: Request, session: Session, vendor_id: IdParam, skip: int, limit: int
) -> SyncRunList:
    found, total = runs.list_runs(
        session, vendor_id=vendor_id, skip=skip, limit=limit, lease_seconds=_lease(request)
    )
    return SyncRunList(
        sync_runs=[SyncRunOut.model_validate(r) for r in found], total=total, skip=skip, limit=limit
    )


def _run(request: Request, session: Session, vendor_id: int, run_id: int) -> SyncRunOut:
    run = runs.get_run(session, vendor_id=vendor_id, run_id=run_id, lease_seconds=_lease(request))
    return SyncRunOut.model_validate(run)


_SYNC_DOC = (
    "Import shipments now (default state `unconfirmed`; `all` for every state). The default "
    "sync also reconciles orders pending locally that Letzshop decided within "
    "ORDERGATE_LETZSHOP_RECONCILE_DAYS (`orders_reconciled`). After an abandoned or failed run "
    "it resumes from that run's last cursor. 409 SYNC_IN_PROGRESS (with `details.run_id`) while "
    "another run of the vendor is live."
)


@admin_router.put("/credentials", response_model=CredentialsOut)
def admin_set_credentials(
    vendor_id: IdParam, body: CredentialsIn, request: Request, session: SessionDep, _: AdminDep
) -> CredentialsOut:
    """Set or change a vendor's Letzshop API key (stored encrypted), endpoint and auto_sync;
    omitted fields keep their values. A refused endpoint is 400 ENDPOINT_NOT_ALLOWED."""
    get_vendor(session, vendor_id=vendor_id)
    return _set_credentials(request, session, vendor_id, body)


@admin_router.get("/credentials", response_model=CredentialsOut)
def admin_get_credentials(vendor_id: IdParam, session: SessionDep, _: AdminDep) -> CredentialsOut:
    """A vendor's Letzshop connection, without the key (its last 4 characters at most)."""
    get_vendor(session, vendor_id=vendor_id)
    return _credentials_out(service.get_credentials(session, vendor_id=vendor_id))


@admin_router.post("/sync", response_model=SyncOut, description=_SYNC_DOC)
def admin_sync(
    vendor_id: IdParam, request: Request, admin: AdminDep, body: SyncRequest | None = None
) -> SyncOut:
    return _sync(request, vendor_id, body, admin.id)


@admin_router.get("/sync-runs", response_model=SyncRunList)
def admin_sync_runs(
    vendor_id: IdParam,
    request: Request,
    session: SessionDep,
    _: AdminDep,
    skip: Skip = 0,
    limit: Limit = 50,
) -> SyncRunList:
    """The vendor's import runs, newest first (runs past their lease read as abandoned)."""
    get_vendor(session, vendor_id=vendor_id)
    return _runs(request, session, vendor_id, skip, limit)


@admin_router.get("/sync-runs/{run_id}", response_model=SyncRunOut)
def admin_sync_run(
    vendor_id: IdParam, run_id: IdParam, request: Request, session: SessionDep, _: AdminDep
) -> SyncRunOut:
    """One import run (a run past its lease reads as abandoned)."""
    get_vendor(session, vendor_id=vendor_id)
    return _run(request, session, vendor_id, run_id)


@vendor_router.put("/credentials", response_model=CredentialsOut)
def vendor_set_credentials(
    body: CredentialsIn, request: Request, session: SessionDep, principal: OwnerDep
) -> CredentialsOut:
    """Set or change your Letzshop API key (stored encrypted), endpoint and auto_sync; omitted
    fields keep their values. A refused endpoint is 400 ENDPOINT_NOT_ALLOWED."""
    assert principal.vendor is not None
    return _set_credentials(request, session, principal.vendor.id, body)


@vendor_router.get("/credentials", response_model=CredentialsOut)
def vendor_get_credentials(session: SessionDep, principal: VendorDep) -> CredentialsOut:
    """Your Letzshop connection, without the key (its last 4 characters at most)."""
    assert principal.vendor is not None
    return _credentials_out(service.get_credentials(session, vendor_id=principal.vendor.id))


@vendor_router.post("/sync", response_model=SyncOut, description=_SYNC_DOC)
def vendor_sync(request: Request, principal: VendorDep, body: SyncRequest | None = None) -> SyncOut:
    assert principal.vendor is not None
    return _sync(request, principal.vendor.id, body, principal.user.id)


@vendor_router.get("/sync-runs", response_model=SyncRunList)
def vendor_sync_runs(
    request: Request, session: SessionDep, principal: VendorDep, skip: Skip = 0, limit: Limit = 50
) -> SyncRunList:
    """Your import runs, newest first (runs past their lease read as abandoned)."""
    assert principal.vendor is not None
    return _runs(request, session, principal.vendor.id, skip, limit)


@vendor_router.get("/sync-runs/{run_id}", response_model=SyncRunOut)
def vendor_sync_run(
    run_id: IdParam, request: Request, session: SessionDep, principal: VendorDep
) -> SyncRunOut:
    """One of your import runs (a run past its lease reads as abandoned)."""
    assert principal.vendor is not None
    return _run(request, session, principal.vendor.id, run_id)


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
    return FulfilmentOut(
        order_id=result.order_id,
        status=result.status,
        accepted=result.accepted,
        reconciled=result.reconciled,
    )


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
