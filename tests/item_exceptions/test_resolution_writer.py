"""Resolve, bulk resolve and auto-match share one writer of an exception's resolution
(`repository.write_resolution`) and one writer of a line's product
(`orders.repository.point_lines_at`): through the services, without HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from ordergate.item_exceptions import matching, service
from ordergate.item_exceptions.errors import ExceptionAlreadyResolvedError
from ordergate.orders.models import OrderItem, OrderItemException
from ordergate.scope import VendorScope
from tests.factories import make_product, make_unmatched_line, make_user, make_vendor

GTIN = "4006381333931"
RESOLUTION_COLUMNS = {
    "status",
    "resolved_product_id",
    "resolved_at",
    "resolved_by",
    "resolution_notes",
    "updated_at",
}
LINE_COLUMNS = {"product_id", "needs_product_match", "updated_at"}


@dataclass(frozen=True)
class World:
    scope: VendorScope
    exception_id: int
    product_id: int


def _world(db: Session) -> World:
    vendor = make_vendor(db)
    user = make_user(db, email="staff@shop1.test", vendors=[vendor.code])
    exception = make_unmatched_line(db, vendor_id=vendor.id, gtin=GTIN)
    product = make_product(db, vendor_id=vendor.id, gtin=GTIN)
    db.commit()
    return World(VendorScope(actor_user_id=user.id, vendor_id=vendor.id), exception.id, product.id)


def _resolve(db: Session, world: World) -> None:
    service.resolve_exception(
        db,
        scope=world.scope,
        exception_id=world.exception_id,
        product_id=world.product_id,
        notes="by hand",
    )


def _bulk_resolve(db: Session, world: World) -> None:
    count = service.bulk_resolve_by_gtin(
        db, scope=world.scope, gtin=GTIN, product_id=world.product_id, notes="by hand"
    )
    assert count == 1


def _auto_match(db: Session, world: World) -> None:
    matched = matching.auto_match_products(
        db, vendor_id=world.scope.vendor_id, product_ids=[world.product_id]
    )
    assert matched == 1


PATHS: dict[str, tuple[Callable[[Session, World], None], bool, str]] = {
    # path: (call, acted by the scope's user, notes)
    "resolve": (_resolve, True, "by hand"),
    "bulk_resolve": (_bulk_resolve, True, "by hand"),
    "auto_match": (_auto_match, False, matching.AUTO_MATCH_NOTE),
}


@contextmanager
def _updates(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def capture(*args: Any) -> None:
        sql = " ".join(str(args[2]).split())
        if sql.upper().startswith("UPDATE"):
            statements.append(sql)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def _set_columns(sql: str) -> set[str]:
    """The columns an UPDATE assigns (subqueries in its values collapsed first)."""
    while re.search(r"\([^()]*\)", sql):
        sql = re.sub(r"\([^()]*\)", "", sql)
    assignments = re.search(r" SET (.+?) (?:FROM|WHERE|RETURNING) ", sql + " ")
    assert assignments is not None, sql
    return {part.split("=")[0].strip() for part in assignments.group(1).split(", ")}


def _of_table(statements: list[str], table: str) -> list[str]:
    return [s for s in statements if s.upper().startswith(f"UPDATE {table.upper()} ")]


@pytest.mark.parametrize("path", PATHS)
def test_every_path_writes_the_same_six_resolution_columns(
    db: Session, engine: Engine, path: str
) -> None:
    call, by_user, notes = PATHS[path]
    world = _world(db)
    with _updates(engine) as statements:
        call(db, world)
    db.commit()
    resolutions = _of_table(statements, "order_item_exceptions")
    assert [_set_columns(s) for s in resolutions] == [RESOLUTION_COLUMNS]

    exception = db.get(OrderItemException, world.exception_id, populate_existing=True)
    assert exception is not None
    assert exception.resolved_at is not None
    assert (
        exception.status,
        exception.resolved_product_id,
        exception.resolved_by,
        exception.resolution_notes,
        exception.updated_at,
    ) == (
        "resolved",
        world.product_id,
        world.scope.actor_user_id if by_user else None,
        notes,
        exception.resolved_at,
    )


@pytest.mark.parametrize("path", PATHS)
def test_every_path_points_the_line_with_the_one_line_writer(
    db: Session, engine: Engine, path: str
) -> None:
    call, _, _ = PATHS[path]
    world = _world(db)
    with _updates(engine) as statements:
        call(db, world)
    db.commit()
    assert [_set_columns(s) for s in _of_table(statements, "order_items")] == [LINE_COLUMNS]
    exception = db.get(OrderItemException, world.exception_id, populate_existing=True)
    assert exception is not None
    line = db.get(OrderItem, exception.order_item_id, populate_existing=True)
    assert line is not None
    assert (line.product_id, line.needs_product_match) == (world.product_id, False)
    assert line.updated_at == exception.resolved_at


@pytest.mark.parametrize("path", PATHS)
def test_a_resolved_exception_is_not_resolved_again(db: Session, engine: Engine, path: str) -> None:
    """The writer's own condition: a second pass over a resolved exception changes nothing."""
    call, _, _ = PATHS[path]
    world = _world(db)
    _resolve(db, world)
    db.commit()
    before = db.get(OrderItemException, world.exception_id, populate_existing=True)
    assert before is not None
    resolved_at = before.resolved_at
    if path == "resolve":
        with pytest.raises(ExceptionAlreadyResolvedError):
            call(db, world)
    elif path == "bulk_resolve":
        assert (
            service.bulk_resolve_by_gtin(
                db, scope=world.scope, gtin=GTIN, product_id=world.product_id
            )
            == 0
        )
    else:
        assert (
            matching.auto_match_products(
                db, vendor_id=world.scope.vendor_id, product_ids=[world.product_id]
            )
            == 0
        )
    db.rollback()
    after = db.get(OrderItemException, world.exception_id, populate_existing=True)
    assert after is not None
    assert (after.resolved_at, after.resolution_notes) == (resolved_at, "by hand")
