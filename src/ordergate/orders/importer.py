"""The order import: every incoming order is kept; unmatched lines get the placeholder product
and an order item exception. Marketplace-neutral (adapters hand in ``IncomingOrder``s).

Set-based: one batch (a marketplace page) costs a fixed handful of statements — one catalog
lookup for all its GTINs, bulk inserts with RETURNING — whatever its size. Idempotent through
unique constraints and ``ON CONFLICT DO NOTHING``: importing the same orders again, or twice at
the same time, never duplicates orders, items, units or exceptions.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ordergate.catalog.models import GtinMapping, Product
from ordergate.catalog.placeholder import placeholder_product_id
from ordergate.db import upsert_insert, utcnow
from ordergate.events.service import record_events
from ordergate.gtin import Gtin, normalize_gtin
from ordergate.orders import events
from ordergate.orders.intake import (
    ImportFailure,
    ImportResult,
    IncomingLine,
    IncomingOrder,
)
from ordergate.orders.models import Order, OrderItem, OrderItemException, OrderItemUnit

logger = logging.getLogger(__name__)

# Core tables for the bulk statements (typed as Table: the ORM types them as FromClause).
ORDERS = cast(Table, Order.__table__)
ITEMS = cast(Table, OrderItem.__table__)
UNITS = cast(Table, OrderItemUnit.__table__)
EXCEPTIONS = cast(Table, OrderItemException.__table__)

# Local statuses the marketplace's unit states must not overwrite.
_LOCAL_ONLY_STATUSES = frozenset({"shipped", "delivered"})
_MAX_EXTERNAL_ID = 100


def next_order_status(current: str, unit_states: Iterable[str]) -> str:
    """The status the unit states call for; a local-only status (shipped, delivered) stays."""
    return current if current in _LOCAL_ONLY_STATUSES else order_status_from_units(unit_states)


def order_status_from_units(states: Iterable[str]) -> str:
    """pending while any unit awaits a decision; cancelled when every unit was declined."""
    states = list(states)
    if not states or "unconfirmed" in states:
        return "pending"
    if all(state == "confirmed_unavailable" for state in states):
        return "cancelled"
    return "processing"


def import_orders(
    session: Session, *, vendor_id: int, channel: str, orders: Sequence[IncomingOrder]
) -> ImportResult:
    """Import one batch. Malformed orders are reported in ``failed``; the rest are written."""
    result = ImportResult(shipments_seen=len(orders))
    valid = _drop_malformed(orders, result)
    try:
        with session.begin_nested():
            result.add(_import_batch(session, vendor_id=vendor_id, channel=channel, orders=valid))
        return result
    except SQLAlchemyError:
        logger.warning("batch import failed; retrying its %d orders one by one", len(valid))
    # Isolate the order the database refused, so the others still import.
    for order in valid:
        try:
            with session.begin_nested():
                one = _import_batch(session, vendor_id=vendor_id, channel=channel, orders=[order])
            result.add(one)
        except SQLAlchemyError as exc:
            reason = (
                f"database rejected the order ({type(getattr(exc, 'orig', None) or exc).__name__})"
            )
            result.failed.append(ImportFailure(order.external_shipment_id, reason))
    return result


def _drop_malformed(orders: Sequence[IncomingOrder], result: ImportResult) -> list[IncomingOrder]:
    valid: list[IncomingOrder] = []
    seen: set[str] = set()
    for order in orders:
        reason = _malformed_reason(order, seen)
        if reason:
            result.failed.append(ImportFailure(order.external_shipment_id or None, reason))
        else:
            seen.add(order.external_shipment_id)
            valid.append(order)
    return valid


def _malformed_reason(order: IncomingOrder, seen: set[str]) -> str | None:
    if not order.external_shipment_id or len(order.external_shipment_id) > _MAX_EXTERNAL_ID:
        return "shipment id is missing or longer than 100 characters"
    if order.external_shipment_id in seen:
        return "shipment appears twice in the same page"
    if not order.lines:
        return "shipment has no inventory units"
    unit_ids = [unit.external_id for line in order.lines for unit in line.units]
    if any(not unit_id or len(unit_id) > _MAX_EXTERNAL_ID for unit_id in unit_ids):
        return "an inventory unit id is missing or longer than 100 characters"
    if len(unit_ids) != len(set(unit_ids)):
        return "an inventory unit id appears twice"
    if any(
        not line.external_item_id or len(line.external_item_id) > _MAX_EXTERNAL_ID
        for line in order.lines
    ):
        return "a variant id is missing or longer than 100 characters"
    return None


@dataclass(frozen=True, slots=True)
class _Match:
    product_id: int | None
    exception_type: str | None
    candidate_ids: tuple[int, ...] = ()


@dataclass(slots=True)
class _Batch:
    """Rows gathered for one batch, written with one statement per table."""

    new_lines: list[tuple[int, IncomingLine]]
    new_units: list[tuple[int, str, str]]  # (item_id, external_unit_id, state)
    unit_updates: list[dict[str, Any]]
    quantity_updates: dict[int, int]
    status_updates: list[tuple[int, str, str]]  # (order_id, before, after)
    touched_orders: set[int]


def _import_batch(
    session: Session, *, vendor_id: int, channel: str, orders: list[IncomingOrder]
) -> ImportResult:
    result = ImportResult()
    if not orders:
        return result
    existing = _existing_orders(
        session, vendor_id, channel, [o.external_shipment_id for o in orders]
    )
    fresh = [o for o in orders if o.external_shipment_id not in existing]
    created = _insert_orders(session, vendor_id=vendor_id, channel=channel, orders=fresh)
    # Orders another import inserted meanwhile are treated as existing.
    lost_race = [o.external_shipment_id for o in fresh if o.external_shipment_id not in created]
    if lost_race:
        existing.update(_existing_orders(session, vendor_id, channel, lost_race))
    batch = _Batch([], [], [], {}, [], set())
    for order in orders:
        order_id = created.get(order.external_shipment_id)
        if order_id is not None:
            batch.new_lines.extend((order_id, line) for line in order.lines)
    _reconcile_existing(
        session,
        orders=[
            o
            for o in orders
            if o.external_shipment_id in existing and o.external_shipment_id not in created
        ],
        existing=existing,
        batch=batch,
    )
    result.orders_created = len(created)
    result.exceptions_created = _write_lines(session, vendor_id=vendor_id, batch=batch)
    result.orders_updated = _write_updates(session, vendor_id=vendor_id, batch=batch)
    return result


def _existing_orders(
    session: Session, vendor_id: int, channel: str, shipment_ids: list[str]
) -> dict[str, tuple[int, str]]:
    if not shipment_ids:
        return {}
    rows = session.execute(
        select(Order.external_shipment_id, Order.id, Order.status).where(
            Order.vendor_id == vendor_id,
            Order.channel == channel,
            Order.external_shipment_id.in_(shipment_ids),
        )
    )
    return {ext_id: (order_id, status) for ext_id, order_id, status in rows}


def _insert_orders(
    session: Session, *, vendor_id: int, channel: str, orders: list[IncomingOrder]
) -> dict[str, int]:
    if not orders:
        return {}
    numbers = _unique_order_numbers(session, orders)
    now = utcnow()
    rows = [
        {
            "vendor_id": vendor_id,
            "channel": channel,
            "external_order_id": _clip(o.external_order_id, 100),
            "external_shipment_id": o.external_shipment_id,
            "external_order_number": _clip(o.external_order_number, 100),
            "order_number": numbers[o.external_shipment_id],
            "status": order_status_from_units(u.state for ln in o.lines for u in ln.units),
            "customer_email": _clip(o.customer_email, 320),
            "customer_name": _clip(o.customer_name, 255),
            "customer_locale": _clip(o.customer_locale, 10),
            "shipping_address": o.shipping_address,
            "billing_address": o.billing_address,
            "total_cents": o.total_cents,
            "currency": o.currency,
            "order_date": o.order_date,
            "confirmed_at": None,
            "tracking_code": _clip(o.tracking_code, 100),
            "tracking_provider": _clip(o.tracking_provider, 100),
            "raw_payload": o.raw_payload,
            "created_at": now,
            "updated_at": now,
        }
        for o in orders
    ]
    insert = upsert_insert(session)
    statement = (
        insert(ORDERS)
        .on_conflict_do_nothing(index_elements=["vendor_id", "channel", "external_shipment_id"])
        .returning(ORDERS.c.external_shipment_id, ORDERS.c.id)
    )
    return {ext_id: order_id for ext_id, order_id in session.execute(statement, rows)}


def _unique_order_numbers(session: Session, orders: list[IncomingOrder]) -> dict[str, str]:
    """The adapter's order number, suffixed with the shipment id where another shipment
    (a split Letzshop order) already holds it."""
    wanted = [o.order_number for o in orders]
    taken = set(session.scalars(select(Order.order_number).where(Order.order_number.in_(wanted))))
    counts = Counter(wanted)
    numbers = {}
    for o in orders:
        number = o.order_number
        if number in taken or counts[number] > 1:
            number = f"{number}-{o.external_shipment_id}"
        numbers[o.external_shipment_id] = number[:150]
    return numbers


def _reconcile_existing(
    session: Session,
    *,
    orders: list[IncomingOrder],
    existing: dict[str, tuple[int, str]],
    batch: _Batch,
) -> None:
    """Compare incoming units of known orders with the stored ones: states, units, lines."""
    if not orders:
        return
    order_ids = [existing[o.external_shipment_id][0] for o in orders]
    items: dict[tuple[int, str], int] = {}
    units: dict[int, dict[str, tuple[int, str]]] = defaultdict(dict)  # item -> ext -> (id, state)
    states_by_order: dict[int, dict[str, str]] = defaultdict(dict)
    rows = session.execute(
        select(
            OrderItem.order_id,
            OrderItem.id,
            OrderItem.external_item_id,
            OrderItemUnit.id,
            OrderItemUnit.external_unit_id,
            OrderItemUnit.state,
        )
        .join(OrderItemUnit, OrderItemUnit.order_item_id == OrderItem.id, isouter=True)
        .where(OrderItem.order_id.in_(order_ids))
    )
    for order_id, item_id, ext_item, unit_id, ext_unit, state in rows:
        items[(order_id, ext_item)] = item_id
        if unit_id is not None:
            units[item_id][ext_unit] = (unit_id, state)
            states_by_order[order_id][ext_unit] = state
    for order in orders:
        order_id, status = existing[order.external_shipment_id]
        states = states_by_order[order_id]
        for line in order.lines:
            known_item = items.get((order_id, line.external_item_id))
            if known_item is None:
                batch.new_lines.append((order_id, line))
                batch.touched_orders.add(order_id)
            elif _reconcile_units(known_item, line, units[known_item], batch):
                batch.touched_orders.add(order_id)
            states.update({u.external_id: u.state for u in line.units})
        new_status = next_order_status(status, states.values())
        if new_status != status:
            batch.status_updates.append((order_id, status, new_status))
            batch.touched_orders.add(order_id)


def _reconcile_units(
    item_id: int, line: IncomingLine, stored: dict[str, tuple[int, str]], batch: _Batch
) -> bool:
    """Queue new units and changed states of one stored item; True when anything changed."""
    added = changed = 0
    for unit in line.units:
        known = stored.get(unit.external_id)
        if known is None:
            batch.new_units.append((item_id, unit.external_id, unit.state))
            added += 1
        elif known[1] != unit.state:
            batch.unit_updates.append({"unit_id": known[0], "new_state": unit.state})
            changed += 1
    if added:
        batch.quantity_updates[item_id] = len(stored) + added
    return bool(added or changed)


def _write_lines(session: Session, *, vendor_id: int, batch: _Batch) -> int:
    """Insert new items (matched or on the placeholder), their units and exceptions."""
    gtins, matches = _match_lines(session, vendor_id, [line for _, line in batch.new_lines])
    needs_placeholder = any(m.product_id is None for m in matches)
    placeholder_id = (
        placeholder_product_id(session, vendor_id=vendor_id) if needs_placeholder else 0
    )
    now = utcnow()
    item_rows = []
    for (order_id, line), gtin, match in zip(batch.new_lines, gtins, matches, strict=True):
        item_rows.append(
            {
                "order_id": order_id,
                "product_id": match.product_id or placeholder_id,
                "external_item_id": line.external_item_id,
                "product_name": _clip(line.product_name, 500),
                "product_sku": _clip(line.sku, 100),
                "gtin": _clip(line.gtin, 50),
                "gtin_type": _clip(line.gtin_type, 20),
                "gtin_normalized": gtin.canonical,
                "quantity": len(line.units),
                "unit_price_cents": line.unit_price_cents,
                "needs_product_match": match.product_id is None,
                "created_at": now,
                "updated_at": now,
            }
        )
    item_ids = _insert_items(session, item_rows)
    exception_rows, candidates = [], []
    for (order_id, line), match in zip(batch.new_lines, matches, strict=True):
        item_id = item_ids[(order_id, line.external_item_id)]
        batch.new_units.extend((item_id, u.external_id, u.state) for u in line.units)
        if match.product_id is None:
            exception_rows.append(_exception_row(vendor_id, item_id, line, match, now))
            candidates.append(match.candidate_ids)
    _insert_units(session, batch.new_units, now)
    return _insert_exceptions(session, vendor_id, exception_rows, candidates)


def _exception_row(
    vendor_id: int, item_id: int, line: IncomingLine, match: _Match, now: Any
) -> dict[str, Any]:
    return {
        "order_item_id": item_id,
        "vendor_id": vendor_id,
        "original_gtin": _clip(line.gtin, 50),
        "original_product_name": _clip(line.product_name, 500),
        "original_sku": _clip(line.sku, 100),
        "exception_type": match.exception_type,
        "status": "pending",
        "created_at": now,
        "updated_at": now,
    }


def _insert_items(session: Session, rows: list[dict[str, Any]]) -> dict[tuple[int, str], int]:
    if not rows:
        return {}
    table = ITEMS
    statement = table.insert().returning(table.c.order_id, table.c.external_item_id, table.c.id)
    return {(o, ext): item_id for o, ext, item_id in session.execute(statement, rows)}


def _insert_units(session: Session, units: list[tuple[int, str, str]], now: Any) -> None:
    if not units:
        return
    session.execute(
        UNITS.insert(),
        [
            {
                "order_item_id": item_id,
                "external_unit_id": ext,
                "state": state,
                "created_at": now,
                "updated_at": now,
            }
            for item_id, ext, state in units
        ],
    )


def _insert_exceptions(
    session: Session,
    vendor_id: int,
    rows: list[dict[str, Any]],
    candidates: list[tuple[int, ...]],
) -> int:
    if not rows:
        return 0
    table = EXCEPTIONS
    statement = table.insert().returning(table.c.order_item_id, table.c.id)
    ids: dict[int, int] = {item: exc for item, exc in session.execute(statement, rows)}
    record_events(
        session,
        [
            events.exception_created(
                exception_id=ids[row["order_item_id"]],
                vendor_id=vendor_id,
                exception_type=row["exception_type"],
                original_gtin=row["original_gtin"],
                candidate_product_ids=list(cands),
            )
            for row, cands in zip(rows, candidates, strict=True)
        ],
    )
    return len(rows)


def _write_updates(session: Session, *, vendor_id: int, batch: _Batch) -> int:
    """Apply changed unit states, quantities and order statuses; returns orders changed."""
    now = utcnow()
    units = UNITS
    if batch.unit_updates:
        session.execute(
            update(units)
            .where(units.c.id == bindparam("unit_id"))
            .values(state=bindparam("new_state"), updated_at=now),
            batch.unit_updates,
        )
    items = ITEMS
    if batch.quantity_updates:
        session.execute(
            update(items)
            .where(items.c.id == bindparam("item_id"))
            .values(quantity=bindparam("new_quantity"), updated_at=now),
            [{"item_id": i, "new_quantity": q} for i, q in batch.quantity_updates.items()],
        )
    orders = ORDERS
    if batch.status_updates:
        session.execute(
            update(orders)
            .where(orders.c.id == bindparam("order_id"))
            .values(status=bindparam("new_status"), updated_at=now),
            [{"order_id": o, "new_status": after} for o, _, after in batch.status_updates],
        )
        confirmed = [o for o, _, after in batch.status_updates if after == "processing"]
        if confirmed:  # decided on the marketplace's side, outside ordergate
            session.execute(
                update(orders)
                .where(orders.c.id.in_(confirmed), orders.c.confirmed_at.is_(None))
                .values(confirmed_at=now)
            )
        record_events(
            session,
            [
                events.order_status_changed(
                    order_id=order_id, vendor_id=vendor_id, before=before, after=after
                )
                for order_id, before, after in batch.status_updates
            ],
        )
    return len(batch.touched_orders)


def _match_lines(
    session: Session, vendor_id: int, lines: list[IncomingLine]
) -> tuple[list[Gtin], list[_Match]]:
    """Decide every line of the batch with one catalog query and one mapping query."""
    gtins = [normalize_gtin(line.gtin) for line in lines]
    canonicals = {g.canonical for g in gtins if g.canonical}
    keys = {g.key for g in gtins if g.key}
    catalog: dict[str, list[int]] = defaultdict(list)
    if canonicals:
        rows = session.execute(
            select(Product.gtin_normalized, Product.id)
            .where(
                Product.vendor_id == vendor_id,
                Product.is_active.is_(True),
                Product.is_placeholder.is_(False),
                Product.gtin_normalized.in_(canonicals),
            )
            .order_by(Product.id)
        )
        for canonical, product_id in rows:
            if canonical is not None:
                catalog[canonical].append(product_id)
    remembered = _remembered_products(session, vendor_id, keys)
    return gtins, [_decide(g, catalog, remembered) for g in gtins]


def _remembered_products(session: Session, vendor_id: int, keys: set[str]) -> dict[str, int]:
    if not keys:
        return {}
    rows = session.execute(
        select(GtinMapping.gtin_key, GtinMapping.product_id)
        .join(Product, Product.id == GtinMapping.product_id)
        .where(
            GtinMapping.vendor_id == vendor_id,
            GtinMapping.gtin_key.in_(keys),
            Product.vendor_id == vendor_id,
            Product.is_active.is_(True),
            Product.is_placeholder.is_(False),
        )
    )
    return {key: product_id for key, product_id in rows}


def _decide(gtin: Gtin, catalog: dict[str, list[int]], remembered: dict[str, int]) -> _Match:
    # A remembered human decision wins over the catalog.
    if gtin.key is not None and gtin.key in remembered:
        return _Match(remembered[gtin.key], None)
    if gtin.status == "missing":
        return _Match(None, "product_not_found")
    if gtin.status == "invalid":
        return _Match(None, "gtin_mismatch")
    found = catalog.get(gtin.canonical or "", [])
    if len(found) == 1:
        return _Match(found[0], None)
    if not found:
        return _Match(None, "product_not_found")
    return _Match(None, "duplicate_gtin", tuple(found))


def _clip(value: str | None, length: int) -> str | None:
    return value[:length] if value is not None else None
