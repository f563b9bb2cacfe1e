"""The order-status rule: what an order's units call for. Used by the import (the marketplace's
unit states) and by fulfilment (the units the marketplace accepted)."""

from __future__ import annotations

from collections.abc import Iterable

from ordergate.orders.models import OrderStatus, UnitState

# Local statuses the marketplace's unit states must not overwrite.
LOCAL_ONLY_STATUSES = frozenset({OrderStatus.SHIPPED, OrderStatus.DELIVERED})


def next_order_status(current: str, unit_states: Iterable[str]) -> OrderStatus:
    """The status the unit states call for; a local-only status (shipped, delivered) stays."""
    if current in LOCAL_ONLY_STATUSES:
        return OrderStatus(current)
    return order_status_from_units(unit_states)


def order_status_from_units(states: Iterable[str]) -> OrderStatus:
    """pending while any unit awaits a decision; cancelled when every unit was declined."""
    states = list(states)
    if not states or UnitState.UNCONFIRMED in states:
        return OrderStatus.PENDING
    if all(state == UnitState.CONFIRMED_UNAVAILABLE for state in states):
        return OrderStatus.CANCELLED
    return OrderStatus.PROCESSING
