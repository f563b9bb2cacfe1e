"""Orders, read side: lists and details, declared once and mounted in the admin tree (every
vendor, or one by `?vendor_id`) and the vendor tree (the token's vendor)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ordergate.deps import SessionDep, Tree
from ordergate.orders import service
from ordergate.orders.schemas import (
    ExceptionBrief,
    OrderItemOut,
    OrderItemUnitOut,
    OrderList,
    OrderOut,
    OrderStatus,
)
from ordergate.schemas import IdParam, Limit, QueryFlag, Skip, Text
from ordergate.scope import Scope

StatusFilter = Annotated[OrderStatus | None, Query(description="Order status")]
HasExceptionsFilter = Annotated[
    QueryFlag | None,
    Query(description="true: at least one pending or ignored exception; false: none"),
]
SearchFilter = Annotated[
    Text | None, Query(max_length=200, description="Order number, customer email or name")
]


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


def mount(tree: Tree) -> APIRouter:
    router = tree.router(prefix=f"{tree.prefix}/orders")

    @router.get("", response_model=OrderList)
    def list_orders(
        session: SessionDep,
        status: StatusFilter = None,
        has_exceptions: HasExceptionsFilter = None,
        search: SearchFilter = None,
        skip: Skip = 0,
        limit: Limit = 50,
        scope: Scope = tree.filtered,
    ) -> OrderList:
        """Orders with their lines, newest first."""
        views, total = service.list_orders(
            session,
            scope=scope,
            status=status,
            has_exceptions=has_exceptions,
            search=search,
            skip=skip,
            limit=limit,
        )
        return order_list(views, total, skip, limit)

    @router.get("/{order_id}", response_model=OrderOut)
    def get_order(order_id: IdParam, session: SessionDep, scope: Scope = tree.all) -> OrderOut:
        """One order with its lines, units and exceptions."""
        return order_out(service.get_order(session, order_id=order_id, scope=scope))

    return router
