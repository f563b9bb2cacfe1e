"""Orders, read side: admin (all vendors) and vendor (own orders) lists and details."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ordergate.deps import AdminDep, SessionDep, VendorDep
from ordergate.orders import service
from ordergate.orders.schemas import (
    ExceptionBrief,
    OrderItemOut,
    OrderItemUnitOut,
    OrderList,
    OrderOut,
    OrderStatus,
)
from ordergate.routing import CommittingRoute
from ordergate.schemas import ERROR_RESPONSES, IdParam, Limit, QueryFlag, Skip, Text

admin_router = APIRouter(tags=["admin"], route_class=CommittingRoute, responses=ERROR_RESPONSES)
vendor_router = APIRouter(tags=["vendor"], route_class=CommittingRoute, responses=ERROR_RESPONSES)

StatusFilter = Annotated[OrderStatus | None, Query(description="Order status")]
HasExceptionsFilter = Annotated[
    QueryFlag | None,
    Query(description="true: at least one pending or ignored exception; false: none"),
]
SearchFilter = Annotated[
    Text | None, Query(max_length=200, description="Order number, customer email or name")
]
VendorFilter = Annotated[IdParam | None, Query(description="Only this vendor's orders")]


def order_out(view: service.OrderView) -> OrderOut:
    order = view.order
    items = [
        OrderItemOut(
            id=line.item.id,
            external_item_id=line.item.external_item_id,
            product_id=line.item.product_id,
            product_name=line.item.product_name,
            product_sku=line.item.product_sku,
            gtin=line.item.gtin,
            gtin_type=line.item.gtin_type,
            quantity=line.item.quantity,
            unit_price_cents=line.item.unit_price_cents,
            needs_product_match=line.item.needs_product_match,
            units=[OrderItemUnitOut.model_validate(u) for u in line.units],
            exception=(ExceptionBrief.model_validate(line.exception) if line.exception else None),
        )
        for line in view.items
    ]
    return OrderOut(
        id=order.id,
        vendor_id=order.vendor_id,
        channel=order.channel,
        order_number=order.order_number,
        external_order_id=order.external_order_id,
        external_shipment_id=order.external_shipment_id,
        external_order_number=order.external_order_number,
        status=order.status,  # type: ignore[arg-type]
        customer_email=order.customer_email,
        customer_name=order.customer_name,
        customer_locale=order.customer_locale,
        shipping_address=order.shipping_address,
        billing_address=order.billing_address,
        total_cents=order.total_cents,
        currency=order.currency,
        order_date=order.order_date,
        confirmed_at=order.confirmed_at,
        tracking_code=order.tracking_code,
        tracking_provider=order.tracking_provider,
        created_at=order.created_at,
        updated_at=order.updated_at,
        exception_count=view.exception_count,
        items=items,
    )


def order_list(views: list[service.OrderView], total: int, skip: int, limit: int) -> OrderList:
    return OrderList(orders=[order_out(v) for v in views], total=total, skip=skip, limit=limit)


@admin_router.get("/api/v1/admin/orders", response_model=OrderList)
def admin_list_orders(
    session: SessionDep,
    _: AdminDep,
    vendor_id: VendorFilter = None,
    status: StatusFilter = None,
    has_exceptions: HasExceptionsFilter = None,
    search: SearchFilter = None,
    skip: Skip = 0,
    limit: Limit = 50,
) -> OrderList:
    """Every vendor's orders with their lines, newest first."""
    views, total = service.list_orders(
        session,
        vendor_id=vendor_id,
        status=status,
        has_exceptions=has_exceptions,
        search=search,
        skip=skip,
        limit=limit,
    )
    return order_list(views, total, skip, limit)


@admin_router.get("/api/v1/admin/orders/{order_id}", response_model=OrderOut)
def admin_get_order(order_id: IdParam, session: SessionDep, _: AdminDep) -> OrderOut:
    """One order with its lines, units and exceptions."""
    return order_out(service.get_order(session, order_id=order_id, vendor_id=None))


@vendor_router.get("/api/v1/vendor/orders", response_model=OrderList)
def vendor_list_orders(
    session: SessionDep,
    principal: VendorDep,
    status: StatusFilter = None,
    has_exceptions: HasExceptionsFilter = None,
    search: SearchFilter = None,
    skip: Skip = 0,
    limit: Limit = 50,
) -> OrderList:
    """This vendor's orders with their lines, newest first."""
    assert principal.vendor is not None
    views, total = service.list_orders(
        session,
        vendor_id=principal.vendor.id,
        status=status,
        has_exceptions=has_exceptions,
        search=search,
        skip=skip,
        limit=limit,
    )
    return order_list(views, total, skip, limit)


@vendor_router.get("/api/v1/vendor/orders/{order_id}", response_model=OrderOut)
def vendor_get_order(order_id: IdParam, session: SessionDep, principal: VendorDep) -> OrderOut:
    """One of this vendor's orders."""
    assert principal.vendor is not None
    return order_out(service.get_order(session, order_id=order_id, vendor_id=principal.vendor.id))
