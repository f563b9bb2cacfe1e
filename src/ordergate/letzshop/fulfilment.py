"""Letzshop as the marketplace that decides order units: ``confirmInventoryUnits``."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from ordergate.config import Settings
from ordergate.errors import AppError
from ordergate.letzshop.client import LetzshopClient
from ordergate.letzshop.errors import LetzshopError
from ordergate.letzshop.service import connection_for, open_client, upstream_error
from ordergate.orders import fulfilment
from ordergate.orders.fulfilment import FulfilmentResult, RefusedUnit, UnitDecisions
from ordergate.security import SecretBox
from ordergate.vendors.service import get_vendor


class LetzshopRefusedUnitsError(AppError):
    status_code = 409
    code = "LETZSHOP_REFUSED_UNITS"


class LetzshopUnitDecider:
    def __init__(self, client: LetzshopClient, vendor_id: int) -> None:
        self._client = client
        self._vendor_id = vendor_id

    def decide_units(self, decisions: list[tuple[str, bool]]) -> UnitDecisions:
        try:
            result = self._client.confirm_units(decisions)
        except LetzshopError as exc:
            raise upstream_error(self._vendor_id, exc) from exc
        return UnitDecisions(
            accepted={unit.id: unit.state for unit in result.units},
            refused=[RefusedUnit(e.id, e.code, e.message) for e in result.errors],
        )


Action = Callable[..., FulfilmentResult]
ACTIONS: dict[str, Action] = {
    "confirm_order": fulfilment.confirm_order,
    "reject_order": fulfilment.reject_order,
    "confirm_item": fulfilment.confirm_item,
    "decline_item": fulfilment.decline_item,
}


def run_fulfilment(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    box: SecretBox,
    action: str,
    vendor_id: int,
    order_id: int,
    item_id: int | None,
    actor_user_id: int | None,
) -> FulfilmentResult:
    """Run one confirm/decline action in its own transaction, committed once Letzshop answered:
    what Letzshop accepted is recorded even when it refused some units (then 409)."""
    with session_factory() as session:
        get_vendor(session, vendor_id=vendor_id)
        # An unknown order answers 404 before any question of credentials.
        fulfilment.get_vendor_order(session, vendor_id=vendor_id, order_id=order_id)
        connection = connection_for(session, vendor_id=vendor_id, box=box)
        client = open_client(connection, settings)
        with client:
            decider = LetzshopUnitDecider(client, vendor_id)
            kwargs = {"item_id": item_id} if item_id is not None else {}
            result = ACTIONS[action](
                session,
                vendor_id=vendor_id,
                order_id=order_id,
                decider=decider,
                actor_user_id=actor_user_id,
                **kwargs,
            )
        session.commit()
    if result.refused:
        raise LetzshopRefusedUnitsError(
            f"Letzshop refused {len(result.refused)} unit(s) of order {order_id}",
            details={
                "order_id": order_id,
                "status": result.status,
                "accepted": result.accepted,
                "refused": [
                    {"unit_id": r.external_unit_id, "code": r.code, "message": r.message}
                    for r in result.refused
                ],
            },
        )
    return result
