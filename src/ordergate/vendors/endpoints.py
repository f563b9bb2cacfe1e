"""Vendors over HTTP: the admin tree's vendor list (a vendor sees itself through /api/v1/me),
and each vendor's settings in both trees (`mount`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ordergate.deps import AdminDep, PageQuery, SessionDep, Tree
from ordergate.routing import CommittingRoute
from ordergate.schemas import ERROR_RESPONSES
from ordergate.scope import VendorScope
from ordergate.vendors import service
from ordergate.vendors.schemas import (
    VendorCreate,
    VendorList,
    VendorOut,
    VendorSettingsOut,
    VendorSettingsUpdate,
)

router = APIRouter(
    prefix="/api/v1/admin/vendors",
    tags=["admin"],
    route_class=CommittingRoute,
    responses=ERROR_RESPONSES,
)


@router.post("", response_model=VendorOut, status_code=201)
def create_vendor(body: VendorCreate, session: SessionDep, _: AdminDep) -> VendorOut:
    """Create a vendor (shop); `code` is unique."""
    return VendorOut.model_validate(service.create_vendor(session, code=body.code, name=body.name))


@router.get("", response_model=VendorList)
def list_vendors(session: SessionDep, _: AdminDep, page: PageQuery) -> VendorList:
    """All vendors."""
    vendors, total = service.list_vendors(session, page=page)
    return VendorList.of(vendors, total, page)


def mount(tree: Tree) -> APIRouter:
    """The vendor's settings: `/admin/vendors/{vendor_id}/settings` and `/vendor/settings`."""
    router = tree.router(
        prefix=tree.pick(admin=f"{tree.prefix}/vendors/{{vendor_id}}", vendor=tree.prefix),
        tags=("vendors",),
    )

    @router.get("/settings", response_model=VendorSettingsOut)
    def get_vendor_settings(
        session: SessionDep, scope: VendorScope = tree.vendor_in_path
    ) -> VendorSettingsOut:
        """The vendor's channel settings (`confirmation_deadline_hours`)."""
        return VendorSettingsOut.model_validate(service.get_settings(session, scope=scope))

    @router.patch("/settings", response_model=VendorSettingsOut)
    def update_vendor_settings(
        body: VendorSettingsUpdate, session: SessionDep, scope: VendorScope = tree.owner_in_path
    ) -> VendorSettingsOut:
        """Change the given settings (null clears the deadline; omitted fields stay). In the
        vendor tree, owners only."""
        changes: dict[str, Any] = body.model_dump(include=body.model_fields_set)
        vendor = service.update_settings(session, scope=scope, **changes)
        return VendorSettingsOut.model_validate(vendor)

    return router
