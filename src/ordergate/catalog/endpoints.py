from __future__ import annotations

from fastapi import APIRouter

from ordergate.routing import CommittingRoute
from ordergate.schemas import ERROR_RESPONSES

admin_router = APIRouter(tags=["admin"], route_class=CommittingRoute, responses=ERROR_RESPONSES)
vendor_router = APIRouter(tags=["vendor"], route_class=CommittingRoute, responses=ERROR_RESPONSES)
