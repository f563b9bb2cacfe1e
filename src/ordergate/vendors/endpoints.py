from __future__ import annotations

from fastapi import APIRouter

from ordergate.deps import AdminDep, SessionDep
from ordergate.routing import CommittingRoute
from ordergate.schemas import ERROR_RESPONSES, Limit, Skip
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
def list_vendors(session: SessionDep, _: AdminDep, skip: Skip = 0, limit: Limit = 50) -> VendorList:
    """All vendors."""
    vendors, total = service.list_vendors(session, skip=skip, limit=limit)
    return VendorList(
        vendors=[VendorOut.model_validate(v) for v in vendors], total=total, skip=skip, limit=limit
    )
