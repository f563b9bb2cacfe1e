"""The order import: every incoming order is kept; unmatched lines get the placeholder product
and an order item exception. Marketplace-neutral (adapters hand in ``IncomingOrder``s, or
``DeferredOrder``s built only when they changed).

Set-based: one batch (a marketplace page) costs a fixed handful of statements — one catalog
lookup for all its GTINs, one bulk insert per table (``bulk.py`` below the orders) — whatever
its size. Idempotent through unique constraints and ``ON CONFLICT DO NOTHING``: importing the
same orders again, or twice at the same time, never duplicates orders, items, units or
exceptions. An order stored with the incoming ``content_hash`` is skipped, unbuilt, after the
batch's first read (docs/letzshop.md, "The import of a page").

This module decides (malformed orders, matching, reconciliation with stored orders); the
statements are in ``repository.py`` and the order-status rule in ``status.py``.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ordergate.catalog.placeholder import placeholder_product_id
from ordergate.db import utcnow
from ordergate.events.repository import record_events, record_many_events
from ordergate.gtin import Gtin, normalize_gtin
from ordergate.orders import events, repository
from ordergate.orders.intake import (
    ImportFailure,
    ImportResult,
    IncomingLine,
    IncomingOrder,
    OrderSource,
)
from ordergate.orders.models import ExceptionStatus, ExceptionType, OrderStatus
from ordergate.orders.status import next_order_status, order_status_from_units

logger = logging.getLogger(__name__)

_MAX_EXTERNAL_ID = 100


def import_orders(
    session: Session, *, vendor_id: int, channel: str, orders: Sequence[OrderSource]
) -> ImportResult:
    """Import one batch. Malformed orders are reported in ``failed``; an order stored with the
    incoming ``content_hash`` is skipped before it is built; the rest are written."""
    result = ImportResult(shipments_seen=len(orders))
    sources = _drop_bad_ids(orders, result)
    existing = repository.existing_orders(
        session,
        vendor_id=vendor_id,
        channel=channel,
        shipment_ids=[s.external_shipment_id for s in sources],
    )
    # Stored from the same shipment as it is now: nothing to build, read or write.
    changed = [
        s.build() for s in sources if not _unchanged(s, existing.get(s.external_shipment_id))
    ]
    valid = _drop_malformed(changed, result)
    if not valid:
        return result
    try:
        with session.begin_nested():
            result.add(
                _import_batch(
                    session,
                    vendor_id=vendor_id,
                    channel=channel,
                    orders=valid,
                    existing=existing,
                )
            )
        return result
    except SQLAlchemyError:
        logger.warning("batch import failed; retrying its %d orders one by one", len(valid))
    # Isolate the order the database refused, so the others still import.
    for order in valid:
        try:
            with session.begin_nested():
                one = _import_batch(
                    session,
                    vendor_id=vendor_id,
                    channel=channel,
                    orders=[order],
                    existing=existing,
                )
            result.add(one)
        except SQLAlchemyError as exc:
            reason = (
                f"database rejected the order ({type(getattr(exc, 'orig', None) or exc).__name__})"
            )
            result.failed.append(ImportFailure(order.external_shipment_id, reason))
    return result


def _drop_bad_ids(orders: Sequence[OrderSource], result: ImportResult) -> list[OrderSource]:
    """The orders whose shipment id is usable and not repeated in the batch."""
    kept: list[OrderSource] = []
    seen: set[str] = set()
    for order in orders:
        reason = _bad_id_reason(order.external_shipment_id, seen)
        if reason:
            result.failed.append(ImportFailure(order.external_shipment_id or None, reason))
        else:
            seen.add(order.external_shipment_id)
            kept.append(order)
    return kept


def _bad_id_reason(shipment_id: str, seen: set[str]) -> str | None:
    if not shipment_id or len(shipment_id) > _MAX_EXTERNAL_ID:
        return "shipment id is missing or longer than 100 characters"
    if shipment_id in seen:
        return "shipment appears twice in the same page"
    return None


def _drop_malformed(orders: Sequence[IncomingOrder], result: ImportResult) -> list[IncomingOrder]:
    valid: list[IncomingOrder] = []
    for order in orders:
        reason = _malformed_reason(order)
        if reason:
            result.failed.append(ImportFailure(order.external_shipment_id, reason))
        else:
            valid.append(order)
    return valid


def _malformed_reason(order: IncomingOrder) -> str | None:
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
    exception_type: ExceptionType | None
    candidate_ids: tuple[int, ...] = ()


@dataclass(slots=True)
class _Batch:
    """Rows gathered for one batch, written with one statement per table."""

    new_lines: list[tuple[int, IncomingLine]] = field(default_factory=list)  # (order_id, line)
    new_units: list[tuple[int, str, str]] = field(default_factory=list)  # (item_id, ext id, state)
    unit_states: dict[int, str] = field(default_factory=dict)  # unit_id -> new state
    quantities: dict[int, int] = field(default_factory=dict)  # item_id -> new quantity
    status_changes: list[tuple[int, str, OrderStatus]] = field(default_factory=list)
    touched_orders: set[int] = field(default_factory=set)
    hashes: dict[int, str | None] = field(default_factory=dict)  # order_id -> new content hash


def _import_batch(
    session: Session,
    *,
    vendor_id: int,
    channel: str,
    orders: list[IncomingOrder],
    existing: dict[str, repository.StoredOrder],
) -> ImportResult:
    """Write changed and new ``orders``; ``existing``: the stored orders of the batch, read
    before it (not changed here: the orders another import inserted meanwhile are added to a
    copy, so a retry order by order starts from the same read)."""
    result = ImportResult()
    fresh = [o for o in orders if o.external_shipment_id not in existing]
    created = _insert_orders(session, vendor_id=vendor_id, channel=channel, orders=fresh)
    # Orders another import inserted meanwhile are treated as existing.
    lost_race = [o.external_shipment_id for o in fresh if o.external_shipment_id not in created]
    if lost_race:
        existing = existing | repository.existing_orders(
            session, vendor_id=vendor_id, channel=channel, shipment_ids=lost_race
        )
    batch = _Batch()
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
    result.exception_ids = _write_lines(session, vendor_id=vendor_id, batch=batch)
    result.exceptions_created = len(result.exception_ids)
    result.orders_updated = _write_updates(session, vendor_id=vendor_id, batch=batch)
    return result


def _unchanged(order: OrderSource, stored: repository.StoredOrder | None) -> bool:
    return (
        stored is not None
        and order.content_hash is not None
        and stored.content_hash == order.content_hash
    )


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
            "content_hash": o.content_hash,
            "created_at": now,
            "updated_at": now,
        }
        for o in orders
    ]
    return repository.insert_orders(session, rows)


def _unique_order_numbers(session: Session, orders: list[IncomingOrder]) -> dict[str, str]:
    """The adapter's order number, suffixed with the shipment id where another shipment
    (a split Letzshop order) already holds it."""
    wanted = [o.order_number for o in orders]
    taken = repository.taken_order_numbers(session, wanted)
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
    existing: dict[str, repository.StoredOrder],
    batch: _Batch,
) -> None:
    """Compare incoming units of known orders with the stored ones: states, units, lines."""
    if not orders:
        return
    order_ids = [existing[o.external_shipment_id].id for o in orders]
    items: dict[tuple[int, str], int] = {}
    units: dict[int, dict[str, tuple[int, str]]] = defaultdict(dict)  # item -> ext -> (id, state)
    states_by_order: dict[int, dict[str, str]] = defaultdict(dict)
    for order_id, item_id, ext_item, unit_id, ext_unit, state in repository.stored_lines(
        session, order_ids
    ):
        items[(order_id, ext_item)] = item_id
        if unit_id is not None and ext_unit is not None and state is not None:
            units[item_id][ext_unit] = (unit_id, state)
            states_by_order[order_id][ext_unit] = state
    for order in orders:
        order_id, status, stored_hash = existing[order.external_shipment_id]
        if stored_hash != order.content_hash:
            batch.hashes[order_id] = order.content_hash
        states = states_by_order[order_id]
        for line in order.lines:
            known_item = items.get((order_id, line.external_item_id))
            if known_item is None:
                batch.new_lines.append((order_id, line))
                batch.touched_orders.add(order_id)
            elif _reconcile_units(known_item, line, units[known_item], batch):
                batch.touched_orders.add(order_id)
            states |= {u.external_id: u.state for u in line.units}
        new_status = next_order_status(status, states.values())
        if new_status != status:
            batch.status_changes.append((order_id, status, new_status))
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
            batch.unit_states[known[0]] = unit.state
            changed += 1
    if added:
        batch.quantities[item_id] = len(stored) + added
    return bool(added or changed)


def _write_lines(session: Session, *, vendor_id: int, batch: _Batch) -> list[int]:
    """Insert new items (matched or on the placeholder), their units and exceptions; the
    exceptions' ids."""
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
                "vendor_id": vendor_id,
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
    item_ids = repository.insert_items(session, item_rows)
    exception_rows, candidates = [], []
    for (order_id, line), match in zip(batch.new_lines, matches, strict=True):
        item_id = item_ids[(order_id, line.external_item_id)]
        batch.new_units.extend((item_id, u.external_id, u.state) for u in line.units)
        if match.product_id is None:
            exception_rows.append(_exception_row(vendor_id, item_id, line, match, now))
            candidates.append(match.candidate_ids)
    # Units before exceptions: the exception's context row reads its line's units (0005).
    repository.insert_units(session, batch.new_units, at=now)
    return _insert_exceptions(session, vendor_id, exception_rows, candidates)


def _exception_row(
    vendor_id: int, item_id: int, line: IncomingLine, match: _Match, now: datetime
) -> dict[str, Any]:
    return {
        "order_item_id": item_id,
        "vendor_id": vendor_id,
        "original_gtin": _clip(line.gtin, 50),
        "original_product_name": _clip(line.product_name, 500),
        "original_sku": _clip(line.sku, 100),
        "exception_type": match.exception_type,
        "status": ExceptionStatus.PENDING,
        "created_at": now,
        "updated_at": now,
    }


def _insert_exceptions(
    session: Session,
    vendor_id: int,
    rows: list[dict[str, Any]],
    candidates: list[tuple[int, ...]],
) -> list[int]:
    if not rows:
        return []
    ids = repository.insert_exceptions(session, rows)
    record_many_events(
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
    return [ids[row["order_item_id"]] for row in rows]


def _write_updates(session: Session, *, vendor_id: int, batch: _Batch) -> int:
    """Apply changed unit states, quantities and order statuses; returns orders changed."""
    now = utcnow()
    repository.update_unit_states(session, batch.unit_states, at=now)
    repository.update_quantities(session, batch.quantities, at=now)
    repository.update_hashes(session, batch.hashes)
    if batch.status_changes:
        repository.update_statuses(
            session, {order_id: after for order_id, _, after in batch.status_changes}, at=now
        )
        # Decided on the marketplace's side, outside ordergate.
        repository.mark_confirmed(
            session,
            [o for o, _, after in batch.status_changes if after == OrderStatus.PROCESSING],
            at=now,
        )
        record_events(
            session,
            [
                events.order_status_changed(
                    order_id=order_id, vendor_id=vendor_id, before=before, after=after
                )
                for order_id, before, after in batch.status_changes
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
    for canonical, product_id in repository.catalog_products(
        session, vendor_id=vendor_id, canonical_gtins=canonicals
    ):
        catalog[canonical].append(product_id)
    remembered = repository.remembered_products(session, vendor_id=vendor_id, gtin_keys=keys)
    return gtins, [_decide(g, catalog, remembered) for g in gtins]


def _decide(gtin: Gtin, catalog: dict[str, list[int]], remembered: dict[str, int]) -> _Match:
    # A remembered human decision wins over the catalog.
    if gtin.key is not None and gtin.key in remembered:
        return _Match(remembered[gtin.key], None)
    if gtin.status == "missing":
        return _Match(None, ExceptionType.PRODUCT_NOT_FOUND)
    if gtin.status == "invalid":
        return _Match(None, ExceptionType.GTIN_MISMATCH)
    found = catalog.get(gtin.canonical or "", [])
    if len(found) == 1:
        return _Match(found[0], None)
    if not found:
        return _Match(None, ExceptionType.PRODUCT_NOT_FOUND)
    return _Match(None, ExceptionType.DUPLICATE_GTIN, tuple(found))


def _clip(value: str | None, length: int) -> str | None:
    return value[:length] if value is not None else None
