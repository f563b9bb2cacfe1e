"""Letzshop shipments → marketplace-neutral incoming orders."""

from __future__ import annotations

from dataclasses import fields
from functools import partial

from ordergate.letzshop.types import Address, InventoryUnit, Shipment
from ordergate.orders.intake import DeferredOrder, IncomingLine, IncomingOrder, IncomingUnit

CHANNEL = "letzshop"


def order_number(vendor_id: int, shipment: Shipment) -> str:
    """``LS-{vendor_id}-{Letzshop order number}`` (the shipment id when the number is missing)."""
    return f"LS-{vendor_id}-{shipment.order.number or shipment.number or shipment.id}"


def deferred_order(vendor_id: int, shipment: Shipment) -> DeferredOrder:
    """The shipment as the import takes it: adapted only if its digest differs from the stored
    order's (an unchanged shipment of a re-import costs no adaptation)."""
    return DeferredOrder(
        external_shipment_id=shipment.id,
        content_hash=shipment.digest,
        build=partial(to_incoming_order, vendor_id, shipment),
    )


def to_incoming_order(vendor_id: int, shipment: Shipment) -> IncomingOrder:
    order = shipment.order
    customer = order.bill_address or order.ship_address
    return IncomingOrder(
        external_shipment_id=shipment.id,
        external_order_id=order.id,
        external_order_number=order.number,
        order_number=order_number(vendor_id, shipment),
        customer_email=order.email,
        customer_name=_full_name(customer),
        customer_locale=order.locale,
        shipping_address=_address(order.ship_address),
        billing_address=_address(order.bill_address),
        total_cents=order.total_cents,
        currency="EUR",
        order_date=order.completed_at,
        lines=_lines(shipment.inventory_units, order.locale),
        tracking_code=shipment.tracking.code if shipment.tracking else None,
        tracking_provider=shipment.tracking.provider if shipment.tracking else None,
        raw_payload=shipment.raw,
        content_hash=shipment.digest,
    )


def _lines(units: list[InventoryUnit], locale: str | None) -> list[IncomingLine]:
    """Units of the same variant become one line; quantity is their count."""
    grouped: dict[str, list[InventoryUnit]] = {}
    for unit in units:
        grouped.setdefault(unit.variant.id, []).append(unit)
    lines = []
    for variant_id, variant_units in grouped.items():
        variant = variant_units[0].variant
        lines.append(
            IncomingLine(
                external_item_id=variant_id,
                product_name=variant.name_for(locale),
                sku=variant.sku,
                gtin=variant.trade_id_number,
                gtin_type=variant.trade_id_parser,
                unit_price_cents=variant.price_cents,
                units=[IncomingUnit(external_id=u.id, state=u.state) for u in variant_units],
            )
        )
    return lines


def _full_name(address: Address | None) -> str | None:
    if address is None:
        return None
    name = " ".join(part for part in (address.first_name, address.last_name) if part)
    return name or None


_ADDRESS_FIELDS = tuple(f.name for f in fields(Address))


def _address(address: Address | None) -> dict[str, str | None] | None:
    # Not dataclasses.asdict: its deep copy was 13 % of the import's time.
    if address is None:
        return None
    return {name: getattr(address, name) for name in _ADDRESS_FIELDS}
