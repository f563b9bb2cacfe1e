"""Orders, read side: lists and details, declared once and mounted in the admin tree (every
vendor, or one by `?vendor_id`) and the vendor tree (the token's vendor)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ordergate.deps import USER_EMAILS, PageQuery, SessionDep, Tree
from ordergate.events.schemas import EventList
from ordergate.orders import service
from ordergate.orders.deadlines import DeadlineState
from ordergate.orders.models import OrderStatus
from ordergate.orders.schemas import OrderList, OrderOut
from ordergate.orders.service import OrderSort
from ordergate.schemas import IdParam, QueryFlag, Text
from ordergate.scope import Scope

StatusFilter = Annotated[OrderStatus | None, Query(description="Order status")]
HasExceptionsFilter = Annotated[
    QueryFlag | None,
    Query(
        description="true: at least one blocking exception (pending or ignored, on a line "
        "that is not declined); false: none"
    ),
]
SearchFilter = Annotated[
    Text | None, Query(max_length=200, description="Order number, customer email or name")
]
DeadlineFilter = Annotated[
    DeadlineState | None,
    Query(
        description="on_track, at_risk (< 24 h left), overdue: orders with that confirm_by state"
    ),
]
OrderSortQuery = Annotated[
    OrderSort,
    Query(description="newest (order date, default) or confirm_by (soonest first, none last)"),
]


def mount(tree: Tree) -> APIRouter:
    router = tree.router(prefix=f"{tree.prefix}/orders")

    @router.get("", response_model=OrderList)
    def list_orders(
        session: SessionDep,
        page: PageQuery,
        status: StatusFilter = None,
        has_exceptions: HasExceptionsFilter = None,
        search: SearchFilter = None,
        deadline_state: DeadlineFilter = None,
        sort: OrderSortQuery = OrderSort.NEWEST,
        scope: Scope = tree.filtered,
    ) -> OrderList:
        """Orders with their lines, newest first."""
        orders, total = service.list_orders(
            session,
            scope=scope,
            page=page,
            status=status,
            has_exceptions=has_exceptions,
            search=search,
            deadline_state=deadline_state,
            sort=sort,
        )
        return OrderList.of(orders, total, page)

    @router.get("/{order_id}", response_model=OrderOut)
    def get_order(order_id: IdParam, session: SessionDep, scope: Scope = tree.all) -> OrderOut:
        """One order with its lines, units and exceptions."""
        return OrderOut.model_validate(service.get_order(session, order_id=order_id, scope=scope))

    @router.get("/{order_id}/events", response_model=EventList)
    def order_events(
        order_id: IdParam, session: SessionDep, page: PageQuery, scope: Scope = tree.all
    ) -> EventList:
        """The order's timeline, oldest first: its own events and its exceptions'."""
        rows, total = service.order_events(
            session, scope=scope, order_id=order_id, page=page, emails=USER_EMAILS
        )
        return EventList.of(rows, total, page)

    return router
