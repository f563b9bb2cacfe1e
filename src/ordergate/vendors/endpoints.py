"""Vendors over HTTP: the admin tree only (a vendor sees itself through /api/v1/me)."""

from __future__ import annotations

from fastapi import APIRouter

from ordergate.deps import AdminDep, PageQuery, SessionDep
from ordergate.routing import CommittingRoute
from ordergate.schemas import ERROR_RESPONSES
from ordergate.vendors import service
from ordergate.vendors.schemas import VendorCreate, VendorList, VendorOut

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
