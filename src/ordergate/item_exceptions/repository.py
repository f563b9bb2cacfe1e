"""All SQL of the exception workflow. Reads are limited to a `Scope` in one place each
(`_in_scope`, `scoped`): a vendor's scope never sees another vendor's rows; an admin's scope
without a vendor sees all of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    Select,
    SQLColumnExpression,
    Subquery,
    and_,
    case,
    column,
    delete,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
    tuple_,
    union,
    union_all,
    update,
)
from sqlalchemy.orm import Bundle, Session, aliased, selectinload

from ordergate.catalog.models import GtinMapping, MarketplaceProduct, Product
from ordergate.catalog.repository import marketplace_statement, matchable
from ordergate.db import (
    PageRequest,
    UTCDateTime,
    in_list,
    in_list_batches,
    paginate,
    rows_changed,
    upsert_insert,
    utcnow,
)
from ordergate.events.models import Event, EventAction, EventSubject
from ordergate.events.repository import subject_is, timeline_page
from ordergate.gtin import normalize_gtin
from ordergate.item_exceptions.events import MatchCause, ResolvedVia
from ordergate.item_exceptions.product_search import TITLE_SEARCH_TABLE, vendor_word
from ordergate.item_exceptions.queue_tables import group_members, groups
from ordergate.item_exceptions.side_tables import (
    MIN_INDEXED_TERM_LENGTH,
    SEARCH_TABLE,
    exception_context,
)
from ordergate.orders import deadlines
from ordergate.orders.deadlines import DeadlineState
from ordergate.orders.models import (
    ExceptionStatus,
    ExceptionType,
    Order,
    OrderItem,
    OrderItemException,
    OrderStatus,
)
from ordergate.scope import Scope, VendorScope, scoped, vendor_filter
from ordergate.vendors.models import Vendor
from ordergate.webhooks.outbox import record_confirmable_orders

# An exception's columns with its order's id, number and date, under the names of
# `schemas.ExceptionOut` (a flat row the schema validates as it is).
ExceptionRow = Row[Any]
_EXCEPTION_ROW = (
    *OrderItemException.__table__.c,
    OrderItem.order_id,
    Order.order_number,
    Order.order_date,
)
NEWEST_FIRST = (OrderItemException.created_at.desc(), OrderItemException.id.desc())
# A deadline state with at least this many rows is listed by walking the newest-first index.
DENSE_DEADLINE_ROWS = 5_000
# No vendor condition (the caller's scope is applied on the exceptions themselves).
UNSCOPED = Scope(actor_user_id=None, vendor_id=None, is_admin=True)


def _in_scope(scope: Scope) -> list[ColumnElement[bool]]:
    return vendor_filter(scope, OrderItemException.vendor_id)


# --- reading exceptions ---------------------------------------------------------------------


def _rows_with_context(
    session: Session, *conditions: ColumnElement[bool], now: datetime | None = None
) -> Sequence[ExceptionRow]:
    """The flat rows, with their deadline and age at `now` (`_deadline_columns`)."""
    return session.execute(
        select(*_EXCEPTION_ROW, *_deadline_columns(now=now or utcnow()))
        .join(OrderItem, OrderItem.id == OrderItemException.order_item_id)
        .join(Order, Order.id == OrderItem.order_id)
        .join(exception_context, exception_context.c.exception_id == OrderItemException.id)
        .where(*conditions)
        .order_by(*NEWEST_FIRST)
    ).all()


def _search_condition(search: str, *, scope: Scope, dialect: str) -> ColumnElement[bool]:
    """A full valid GTIN (any of its forms) searches by GTIN, through indexes; anything else is
    a case-insensitive substring of GTIN, product name, SKU or order number. Terms of three
    characters or more go through the trigram index; shorter ones scan."""
    term = search.strip()
    canonical = normalize_gtin(term).canonical
    if canonical is not None:
        # 04006381333931 finds the line that arrived as 4006381333931. A union of ids, each
        # arm through its index: with an OR, PostgreSQL walks the whole created_at index.
        by_line = aliased(OrderItemException)
        return OrderItemException.id.in_(
            union(
                select(OrderItemException.id)
                .select_from(OrderItemException)
                .where(OrderItemException.original_gtin == term)
                .correlate(None),
                select(by_line.id)
                .join(OrderItem, OrderItem.id == by_line.order_item_id)
                .where(OrderItem.gtin_normalized == canonical),
            )
        )
    if len(term) < MIN_INDEXED_TERM_LENGTH:
        return _substring_scan(term, scope=scope)
    if dialect == "sqlite":
        return _substring_fts(term)
    return _substring_trigram(term)


def _contains(column: SQLColumnExpression[str | None], term: str) -> ColumnElement[bool]:
    """The one substring predicate every path uses, case-insensitive, with ``%``, ``_`` and
    ``/`` in the term escaped: ``lower(x) LIKE lower(...)`` on SQLite (ASCII case folding),
    ``x ILIKE ...`` on PostgreSQL."""
    return column.icontains(term, autoescape=True)


def _substring_scan(term: str, *, scope: Scope) -> ColumnElement[bool]:
    """The plain predicate, without an index; the order number is tried last, so the count
    joins no row to its order that already matched."""
    order_number_matches = _contains(Order.order_number, term)
    if scope.vendor_id is not None:
        # A vendor's few thousand rows: look up each row's own order.
        in_matching_order: ColumnElement[bool] = exists(
            select(Order.id)
            .join(OrderItem, OrderItem.order_id == Order.id)
            .where(OrderItem.id == OrderItemException.order_item_id, order_number_matches)
        )
    else:
        # Every vendor: one pass over the order-number index beats a lookup per exception.
        in_matching_order = OrderItemException.order_item_id.in_(
            select(OrderItem.id)
            .join(Order, Order.id == OrderItem.order_id)
            .where(order_number_matches)
        )
    return or_(
        _contains(OrderItemException.original_gtin, term),
        _contains(OrderItemException.original_product_name, term),
        _contains(OrderItemException.original_sku, term),
        in_matching_order,
    )


def _substring_fts(term: str) -> ColumnElement[bool]:
    """SQLite: the FTS5 table holds ``lower()`` of the four texts under a case-sensitive
    trigram index, so the phrase ``lower(term)`` matches exactly the rows of the plain
    predicate (a substring of the ``lower()``-ed text), with no recheck."""
    phrase = literal('"') + func.replace(func.lower(term), '"', '""') + literal('"')
    return OrderItemException.id.in_(
        select(literal_column("rowid"))
        .select_from(text(SEARCH_TABLE))
        .where(literal_column(SEARCH_TABLE).op("MATCH")(phrase))
    )


def _substring_trigram(term: str) -> ColumnElement[bool]:
    """PostgreSQL: the plain predicate, on columns with pg_trgm GIN indexes; the order number
    comes from the exception's context row, so a term matching thousands of orders is not
    joined through all their lines. The union lets each arm use its own index."""
    exception = aliased(OrderItemException)
    return OrderItemException.id.in_(
        union(
            select(exception.id).where(
                or_(
                    _contains(exception.original_gtin, term),
                    _contains(exception.original_product_name, term),
                    _contains(exception.original_sku, term),
                )
            ),
            select(exception_context.c.exception_id).where(
                _contains(exception_context.c.order_number, term)
            ),
        )
    )


@dataclass(frozen=True, slots=True)
class ListFilters:
    """The exceptions list's filters, one definition for the list, the groups and the export
    (`filter_conditions`): status, type, search (GTIN, name, SKU, order number) and the
    order's deadline state at the request's `now`."""

    status: ExceptionStatus | None = None
    exception_type: ExceptionType | None = None
    search: str | None = None
    deadline_state: DeadlineState | None = None

    @property
    def term(self) -> str:
        return self.search.strip() if self.search else ""


def filter_conditions(
    session: Session, filters: ListFilters, *, scope: Scope, now: datetime
) -> list[ColumnElement[bool]]:
    """The conditions on `OrderItemException` of `filters` within `scope`."""
    conditions = _in_scope(scope)
    if filters.status is not None:
        conditions.append(OrderItemException.status == filters.status)
    if filters.exception_type is not None:
        conditions.append(OrderItemException.exception_type == filters.exception_type)
    if filters.deadline_state is not None:
        conditions.append(OrderItemException.id.in_(_in_deadline_state(filters, scope, now)))
    if filters.term:
        dialect = session.get_bind().dialect.name
        conditions.append(_search_condition(filters.term, scope=scope, dialect=dialect))
    return conditions


def _in_deadline_state(filters: ListFilters, scope: Scope, now: datetime) -> Select[Any]:
    """Ids of the exceptions in `filters`' deadline state and, when it has one, its status: one
    range of the context's deadline index, which carries the status (migration 0018)."""
    assert filters.deadline_state is not None
    in_state = deadlines.in_deadline_state(filters.deadline_state, scope=scope, now=now)
    if filters.status is not None:
        in_state = in_state.where(exception_context.c.status == str(filters.status))
    return in_state


def list_exceptions(
    session: Session,
    *,
    scope: Scope,
    filters: ListFilters,
    page: PageRequest,
    by_confirm_by: bool = False,
    now: datetime | None = None,
) -> tuple[Sequence[ExceptionRow], int]:
    """Newest first (or soonest `confirm_by` first, rows without one last). The page's ids
    first, their order context after: a search can match thousands of rows, and only the
    page's rows need their line and order."""
    now = now or utcnow()
    term = filters.term
    ids = select(OrderItemException.id).where(
        *filter_conditions(session, filters, scope=scope, now=now)
    )
    if by_confirm_by:
        page_ids, total = _confirm_by_page(session, ids, page, scope=scope)
    elif term:
        page_ids, total = _searched_page(session, ids.order_by(*NEWEST_FIRST), page)
    elif filters.deadline_state is not None:
        page_ids, total = _deadline_page(session, ids, filters, page, scope=scope, now=now)
    else:
        # A plain list walks an index and stops at the page, so it counts apart.
        page_ids, total = paginate(session, ids.order_by(*NEWEST_FIRST), page)
    if not page_ids:
        return [], total
    rows = _rows_with_context(session, in_list(session, OrderItemException.id, page_ids), now=now)
    if by_confirm_by:
        # The page's ids came in deadline order; the rows come newest first.
        position = {exception_id: index for index, exception_id in enumerate(page_ids)}
        rows = sorted(rows, key=lambda row: position[row.id])
    return rows, total


def _deadline_page(
    session: Session,
    ids: Select[Any],
    filters: ListFilters,
    page: PageRequest,
    *,
    scope: Scope,
    now: datetime,
) -> tuple[list[int], int]:
    """A page of `ids` (the list's filters, with a deadline state and no search), newest
    first, and the total. The state's rows are one range of the context's deadline index,
    counted there first (with the status, which the index carries). Many rows: walk the
    newest-first index and probe each row's context (matches are dense, the walk stops at the
    page); few: read them from the range and sort them. The deadline and status alone are
    counted on the range; with other filters each in-state row is looked up."""
    assert filters.deadline_state is not None
    in_range = _count(session, _in_deadline_state(filters, scope, now).subquery())
    on_the_range = ListFilters(deadline_state=filters.deadline_state, status=filters.status)
    total = in_range if filters == on_the_range else _count(session, ids.subquery())
    if in_range >= DENSE_DEADLINE_ROWS:
        context = exception_context.c
        in_its_state = exists(
            select(context.exception_id).where(
                context.exception_id == OrderItemException.id,
                *deadlines.deadline_conditions(filters.deadline_state, scope=UNSCOPED, now=now),
            )
        )
        others = replace(filters, deadline_state=None)
        ids = select(OrderItemException.id).where(
            *filter_conditions(session, others, scope=scope, now=now), in_its_state
        )
    page_ids = list(
        session.scalars(ids.order_by(*NEWEST_FIRST).offset(page.skip).limit(page.limit))
    )
    return page_ids, total


def _searched_page(session: Session, ids: Select[int], page: PageRequest) -> tuple[list[int], int]:
    """A search's page of ids and its total in one pass: its matches are all read anyway, so
    they are counted there (a window count) rather than searched twice (`paginate`)."""
    rows = session.execute(
        ids.add_columns(func.count().over().label("total")).offset(page.skip).limit(page.limit)
    ).all()
    if rows:
        return [row.id for row in rows], rows[0].total
    if page.skip == 0:
        return [], 0
    # Past the last page: no row carries the count.
    counted = ids.order_by(None).with_only_columns(func.count(), maintain_column_froms=True)
    return [], session.scalar(counted) or 0


def get_exception_row(
    session: Session, *, scope: Scope, exception_id: int, now: datetime | None = None
) -> ExceptionRow | None:
    rows = _rows_with_context(
        session, OrderItemException.id == exception_id, *_in_scope(scope), now=now
    )
    return rows[0] if rows else None


def get_exception(
    session: Session, *, scope: Scope, exception_id: int
) -> OrderItemException | None:
    return session.scalar(
        scoped(
            select(OrderItemException).where(OrderItemException.id == exception_id),
            scope,
            OrderItemException.vendor_id,
        ).execution_options(populate_existing=True)
    )


def count_blocked_orders(session: Session, *, scope: Scope) -> int:
    """Distinct orders with at least one blocking exception, read in order from the context
    table's (vendor_id,) blocking, order_id index: no lookup per exception. `count(DISTINCT)`:
    on PostgreSQL half the time of counting a DISTINCT subquery (17 against 38 ms, all
    vendors of the benchmark)."""
    context = exception_context.c
    blocked_orders = scoped(
        select(func.count(context.order_id.distinct())).where(context.blocking),
        scope,
        context.vendor_id,
    )
    return session.scalar(blocked_orders) or 0


def get_order_and_item(session: Session, *, item_id: int) -> tuple[Order, OrderItem]:
    """The line (with its units) and its order; foreign keys guarantee both."""
    item = session.scalars(
        select(OrderItem).where(OrderItem.id == item_id).options(selectinload(OrderItem.units))
    ).one()
    return session.get_one(Order, item.order_id), item


def item_product_ids(session: Session, *, item_ids: Sequence[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for chunk in in_list_batches(session, item_ids):
        statement = select(OrderItem.id, OrderItem.product_id).where(
            in_list(session, OrderItem.id, chunk)
        )
        found.update({row.id: row.product_id for row in session.execute(statement)})
    return found


# --- products -------------------------------------------------------------------------------


class ProductCheck(NamedTuple):
    product: Product
    matchable: bool  # `catalog.repository.matchable` for the vendor


def check_product(session: Session, *, product_id: int, vendor_id: int) -> ProductCheck | None:
    # The predicate as a column, not a filter: the product is found by its key either way.
    row = session.execute(
        select(Product, matchable(vendor_id).label("matchable")).where(Product.id == product_id)
    ).first()
    return None if row is None else ProductCheck(row.Product, bool(row.matchable))


def candidate_products(session: Session, *, vendor_id: int, canonical_gtin: str) -> list[Product]:
    return list(
        session.scalars(
            select(Product)
            .where(matchable(vendor_id), Product.gtin_normalized == canonical_gtin)
            .order_by(Product.id)
        )
    )


# --- writing: the one resolution writer and whom it resolves --------------------------------


class Resolution(NamedTuple):
    exception_id: int
    order_item_id: int
    product_id: int


class Target(NamedTuple):
    """Exceptions to resolve (conditions on `order_item_exceptions`, possibly over more
    tables) and the product each resolves to (a value or a column of those tables)."""

    where: list[ColumnElement[bool]]
    product_id: int | ColumnElement[Any]


def write_resolution(
    session: Session, target: Target, *, actor_user_id: int | None, notes: str | None, at: datetime
) -> list[Resolution]:
    """Resolve the target's exceptions: THE writer of the six resolution columns (resolve, bulk
    resolve and auto-match). The target's conditions sit in the UPDATE itself, so of two
    concurrent writers exactly one changes a row. Returns the changed rows in id order."""
    rows = session.execute(
        update(OrderItemException)
        .where(*target.where)
        .values(
            status=ExceptionStatus.RESOLVED,
            resolved_product_id=target.product_id,
            resolved_at=at,
            resolved_by=actor_user_id,
            resolution_notes=notes,
            updated_at=at,
        )
        .returning(
            OrderItemException.id,
            OrderItemException.order_item_id,
            OrderItemException.resolved_product_id,
        )
        .execution_options(synchronize_session=False)
    ).all()
    # Every resolution passes here: the orders it left with nothing blocking are announced
    # (webhooks' outbox, in this transaction).
    record_confirmable_orders(session, exception_ids=[row.id for row in rows])
    return sorted(Resolution(row.id, row.order_item_id, row.resolved_product_id) for row in rows)


def unresolved(*, exception_id: int, product_id: int, status: str | None = None) -> Target:
    """One exception, if it still blocks (pending or ignored); with ``status``, only if it is
    still in the status the caller read (a reopen or an ignore in between makes it lose)."""
    still = [] if status is None else [OrderItemException.status == status]
    return Target(
        [
            OrderItemException.id == exception_id,
            OrderItemException.status.in_(ExceptionStatus.blocking()),
            *still,
        ],
        product_id,
    )


def pending_with_gtin(
    *, scope: VendorScope, canonical_gtin: str | None, raw_gtin: str, product_id: int
) -> Target:
    """The scope's vendor's pending exceptions for one GTIN: its lines' canonical GTIN when valid,
    else the trimmed raw GTIN.

    The rows are locked first in id order, the order every writer of exceptions uses
    (auto-match too), so two bulk resolves or a bulk resolve and an auto-match queue behind each
    other instead of deadlocking on rows an UPDATE would lock in scan order."""
    matches_gtin: ColumnElement[bool]
    if canonical_gtin is not None:
        matches_gtin = OrderItemException.order_item_id.in_(
            select(OrderItem.id).where(OrderItem.gtin_normalized == canonical_gtin)
        )
    else:
        matches_gtin = func.trim(OrderItemException.original_gtin) == raw_gtin
    pending = (
        select(OrderItemException.id)
        .where(
            *_in_scope(scope),
            OrderItemException.status == ExceptionStatus.PENDING,
            matches_gtin,
        )
        .order_by(OrderItemException.id)
        .with_for_update()
        .scalar_subquery()
    )
    return Target(
        [
            OrderItemException.id.in_(pending),
            OrderItemException.status == ExceptionStatus.PENDING,
        ],
        product_id,
    )


def pending_with_one_candidate(
    session: Session, *, vendor_id: int, exception_ids: Sequence[int], gtins: Sequence[str]
) -> Target:
    """Of these pending exceptions, those whose line's GTIN has exactly one matchable product
    of the vendor, each resolving to that product (auto-match).

    Each GTIN's only candidate is aggregated once per statement. A per-exception subquery
    would be planned from catalog statistics that cannot count the products this very
    transaction inserted; PostgreSQL then scanned the vendor's catalog once per exception."""
    only_candidate: Subquery = (
        select(Product.gtin_normalized, func.max(Product.id).label("product_id"))
        .where(matchable(vendor_id), in_list(session, Product.gtin_normalized, gtins))
        .group_by(Product.gtin_normalized)
        .having(func.count() == 1)
        .subquery()
    )
    return Target(
        [
            in_list(session, OrderItemException.id, exception_ids),
            OrderItemException.status == ExceptionStatus.PENDING,
            OrderItem.id == OrderItemException.order_item_id,
            OrderItem.gtin_normalized == only_candidate.c.gtin_normalized,
        ],
        only_candidate.c.product_id,
    )


def resolved_product_of_line() -> ColumnElement[Any]:
    """Per order line: the product its exception was resolved to (for `point_lines_at`)."""
    return (
        select(OrderItemException.resolved_product_id)
        .where(OrderItemException.order_item_id == OrderItem.id)
        .scalar_subquery()
    )


def mark_ignored(session: Session, *, exception_id: int, notes: str, at: datetime) -> bool:
    result = session.execute(
        update(OrderItemException)
        .where(
            OrderItemException.id == exception_id,
            OrderItemException.status == ExceptionStatus.PENDING,
        )
        .values(status=ExceptionStatus.IGNORED, resolution_notes=notes, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    return bool(rows_changed(result))


# --- auto-match reads and the duplicate flag ------------------------------------------------


def matchable_gtins_of(
    session: Session, *, vendor_id: int, product_ids: Sequence[int], size: int
) -> set[str]:
    """The canonical GTINs of those products that are matchable for the vendor."""
    gtins: set[str] = set()
    for chunk in in_list_batches(session, product_ids, size):
        # Looked up by primary key only, the predicate read as a column: with the vendor in
        # the WHERE clause SQLite prefers scanning the vendor's whole catalog through its index.
        rows = session.execute(
            select(Product.gtin_normalized, matchable(vendor_id).label("matchable")).where(
                in_list(session, Product.id, chunk)
            )
        )
        gtins.update(row.gtin_normalized for row in rows if row.matchable and row.gtin_normalized)
    return gtins


def pending_gtins(session: Session, *, vendor_id: int) -> set[str]:
    """The canonical GTINs the vendor's pending exceptions wait for (read, nothing locked)."""
    return set(
        session.scalars(
            select(OrderItem.gtin_normalized)
            .join(OrderItemException, OrderItemException.order_item_id == OrderItem.id)
            .where(
                OrderItemException.vendor_id == vendor_id,
                OrderItemException.status == ExceptionStatus.PENDING,
                OrderItem.gtin_normalized.is_not(None),
            )
            .distinct()
        )
    )


def awaited_marketplace_statement(
    *, vendor_id: int, search: str | None, marketplace: str | None
) -> Select[Any]:
    """The catalog's marketplace list (`catalog.repository.marketplace_statement`), only the
    products whose canonical GTIN a pending `product_not_found` exception of the vendor waits
    for (a `duplicate_gtin` one has its products already: a copy would add a third)."""
    awaited = (
        select(OrderItem.gtin_normalized)
        .join(OrderItemException, OrderItemException.order_item_id == OrderItem.id)
        .where(
            OrderItemException.vendor_id == vendor_id,
            OrderItemException.status == ExceptionStatus.PENDING,
            OrderItemException.exception_type == ExceptionType.PRODUCT_NOT_FOUND,
            OrderItem.gtin_normalized.is_not(None),
        )
    )
    statement = marketplace_statement(search=search, marketplace=marketplace)
    return statement.where(MarketplaceProduct.gtin_normalized.in_(awaited))


def lock_pending_with_gtins(
    session: Session, *, vendor_id: int, gtins: Sequence[str] | None
) -> list[Any]:
    """The vendor's pending exceptions whose line has a canonical GTIN (in `gtins` when
    given: an IN list), locked in id order: id, order_item_id, exception_type,
    gtin_normalized and the line's product_id."""
    statement = (
        select(
            OrderItemException.id,
            OrderItemException.order_item_id,
            OrderItemException.exception_type,
            OrderItem.gtin_normalized,
            OrderItem.product_id,
        )
        .join(OrderItem, OrderItem.id == OrderItemException.order_item_id)
        .where(
            OrderItemException.vendor_id == vendor_id,
            OrderItemException.status == ExceptionStatus.PENDING,
            OrderItem.gtin_normalized.is_not(None),
        )
        .order_by(OrderItemException.id)
        .with_for_update(of=OrderItemException)
    )
    if gtins is not None:
        statement = statement.where(OrderItem.gtin_normalized.in_(gtins))
    return list(session.execute(statement).all())


def matchable_products_by_gtin(
    session: Session, *, vendor_id: int, gtins: Sequence[str], size: int
) -> dict[str, list[int]]:
    """Every matchable product of the vendor per canonical GTIN, by id."""
    candidates: dict[str, list[int]] = {}
    for chunk in in_list_batches(session, gtins, size):
        for gtin, product_id in session.execute(
            select(Product.gtin_normalized, Product.id)
            .where(matchable(vendor_id), in_list(session, Product.gtin_normalized, chunk))
            .order_by(Product.id)
        ):
            if gtin is not None:
                candidates.setdefault(gtin, []).append(product_id)
    return candidates


def mark_duplicate(session: Session, *, exception_ids: Sequence[int], at: datetime) -> set[int]:
    """Type these pending exceptions `duplicate_gtin`; returns the ids it changed."""
    return set(
        session.scalars(
            update(OrderItemException)
            .where(
                in_list(session, OrderItemException.id, exception_ids),
                OrderItemException.status == ExceptionStatus.PENDING,
                OrderItemException.exception_type != ExceptionType.DUPLICATE_GTIN,
            )
            .values(exception_type=ExceptionType.DUPLICATE_GTIN, updated_at=at)
            .returning(OrderItemException.id)
            .execution_options(synchronize_session=False)
        )
    )


def vendors_with_pending(session: Session) -> list[Vendor]:
    """Vendors with at least one pending exception, by code."""
    return list(
        session.scalars(
            select(Vendor)
            .where(
                Vendor.id.in_(
                    select(OrderItemException.vendor_id).where(
                        OrderItemException.status == ExceptionStatus.PENDING
                    )
                )
            )
            .order_by(Vendor.code)
        )
    )


# --- remembered GTINs -----------------------------------------------------------------------


def upsert_mapping(
    session: Session, *, vendor_id: int, gtin_key: str, product_id: int, actor_user_id: int | None
) -> None:
    insert = upsert_insert(session)
    now = utcnow()
    statement = insert(GtinMapping).values(
        vendor_id=vendor_id,
        gtin_key=gtin_key,
        product_id=product_id,
        created_by=actor_user_id,
        created_at=now,
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["vendor_id", "gtin_key"],
            set_={"product_id": product_id, "created_by": actor_user_id, "created_at": now},
        )
    )


# A mapping with its product's title and SKU, under the names of `schemas.GtinMappingOut`.
_MAPPING_ROW: Bundle[Any] = Bundle(
    "mapping",
    GtinMapping.id,
    GtinMapping.vendor_id,
    GtinMapping.gtin_key,
    GtinMapping.product_id,
    Product.title.label("product_title"),
    Product.sku.label("product_sku"),
    GtinMapping.created_by,
    GtinMapping.created_at,
)


def list_mappings(session: Session, *, scope: Scope, page: PageRequest) -> tuple[list[Any], int]:
    statement = (
        scoped(select(_MAPPING_ROW), scope, GtinMapping.vendor_id)
        .join(Product, Product.id == GtinMapping.product_id)
        .order_by(GtinMapping.created_at.desc(), GtinMapping.id.desc())
    )
    return paginate(session, statement, page)


def delete_mapping(session: Session, *, scope: Scope, mapping_id: int) -> bool:
    result = session.execute(
        delete(GtinMapping)
        .where(GtinMapping.id == mapping_id, *vendor_filter(scope, GtinMapping.vendor_id))
        .execution_options(synchronize_session=False)
    )
    return bool(rows_changed(result))


# Suggestions (`suggestions.py`): indexed look-ups over the vendor's matchable products
# (`catalog.repository.matchable`), each bounded, sent as one UNION ALL of product ids.

# Whether pg_trgm is installed, per database URL (it only appears through a migration).
_TRIGRAM_INSTALLED: dict[str, bool] = {}


class CandidateLookup(NamedTuple):
    """What to look for; an empty or None field is not looked up."""

    canonical_gtins: Sequence[str]  # any of these GTINs
    sku: str | None  # the same SKU, ignoring case and surrounding blanks
    mpn_of_gtin: str | None  # the MPN of a marketplace listing with this canonical GTIN
    title: str | None  # a similar title (PostgreSQL: trigram word similarity)
    title_words: Sequence[str]  # ... (SQLite: any of these words, bm25)


def suggestion_candidates(
    session: Session, *, vendor_id: int, lookup: CandidateLookup, limit: int, title_limit: int
) -> list[tuple[int, str]]:
    """(product id, look-up) pairs, look-ups `gtin`, `sku`, `mpn`, `title`; each arm walks
    an index and stops at its limit:

    - `gtin`: the (vendor_id, gtin_normalized) index, one probe per GTIN;
    - `sku`: the (vendor_id, lower(sku)) index of migration 0006 (the expression must be
      spelled exactly ``lower(sku)`` to use it);
    - `mpn`: marketplace listings with the GTIN (their GTIN index) -> their MPNs -> listings
      with those MPNs (the MPN index) -> the vendor's products copied from those listings
      (the (vendor_id, marketplace_product_id) key). Listings are public; the products are
      the vendor's own;
    - `title`: pg_trgm's GIN index (PostgreSQL) or the FTS5 table (SQLite), best first."""
    arms: list[Subquery] = []
    if lookup.canonical_gtins:
        arms.append(
            _arm(
                "gtin",
                [in_list(session, Product.gtin_normalized, lookup.canonical_gtins)],
                limit,
                vendor_id,
            )
        )
    if lookup.sku:
        sku_matches = func.lower(Product.sku) == func.lower(lookup.sku.strip())
        arms.append(_arm("sku", [sku_matches], limit, vendor_id))
    if lookup.mpn_of_gtin:
        with_gtin = aliased(MarketplaceProduct)
        listing = aliased(MarketplaceProduct)
        mpns = select(with_gtin.mpn).where(
            with_gtin.gtin_normalized == lookup.mpn_of_gtin, with_gtin.mpn.is_not(None)
        )
        same_mpn = Product.marketplace_product_id.in_(
            select(listing.id).where(listing.mpn.in_(mpns))
        )
        arms.append(_arm("mpn", [same_mpn], limit, vendor_id))
    title_arm = _title_arm(session, vendor_id=vendor_id, lookup=lookup, limit=title_limit)
    if title_arm is not None:
        arms.append(title_arm)
    if not arms:
        return []
    statement = union_all(*(select(arm.c.id, arm.c.via) for arm in arms))
    return [(row.id, row.via) for row in session.execute(statement)]


def _arm(via: str, conditions: list[ColumnElement[bool]], limit: int, vendor_id: int) -> Subquery:
    return (
        select(Product.id.label("id"), literal(via).label("via"))
        .where(matchable(vendor_id), *conditions)
        .order_by(Product.id)
        .limit(limit)
        .subquery()
    )


def _title_arm(
    session: Session, *, vendor_id: int, lookup: CandidateLookup, limit: int
) -> Subquery | None:
    if session.get_bind().dialect.name == "postgresql":
        if not lookup.title or not _trigram_installed(session):
            return None
        # `title %> name`: word_similarity(name, title) >= pg_trgm.word_similarity_threshold
        # (0.6): the name's trigrams found together in the title. Plain similarity (`%`) had
        # to recheck a large share of a catalog whose titles share many words (30-40 ms per
        # search at 100,000 products, bench/suggestions.py), and it penalises a name that
        # is a part of the title, which is how marketplaces often name products.
        return (
            select(Product.id.label("id"), literal("title").label("via"))
            .where(matchable(vendor_id), Product.title.op("%>")(lookup.title))
            .order_by(func.word_similarity(lookup.title, Product.title).desc(), Product.id)
            .limit(limit)
            .subquery()
        )
    if not lookup.title_words:
        return None
    query = " OR ".join(
        '"' + vendor_word(vendor_id, word).replace('"', '""') + '"' for word in lookup.title_words
    )
    search = table(TITLE_SEARCH_TABLE, column("rowid", Integer))
    rank: ColumnElement[Any] = literal_column(f"bm25({TITLE_SEARCH_TABLE})")
    return (
        select(Product.id.label("id"), literal("title").label("via"))
        .select_from(search)
        .join(Product, Product.id == search.c.rowid)
        .where(literal_column(TITLE_SEARCH_TABLE).op("MATCH")(query), matchable(vendor_id))
        .order_by(rank, Product.id)
        .limit(limit)
        .subquery()
    )


def _trigram_installed(session: Session) -> bool:
    """Whether pg_trgm exists (migrations 0003/0006 skip it without the privilege); asked
    once per database."""
    key = str(session.get_bind().engine.url)
    if key not in _TRIGRAM_INSTALLED:
        found = session.scalar(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"))
        _TRIGRAM_INSTALLED[key] = found is not None
    return _TRIGRAM_INSTALLED[key]


class ProductBrief(NamedTuple):
    """What a suggestion shows of a product (`schemas.SuggestedProduct`) and ranks it by."""

    id: int
    title: str
    sku: str | None
    gtin: str | None
    gtin_normalized: str | None
    brand: str | None
    price_cents: int | None


def products_by_ids(session: Session, *, vendor_id: int, ids: Sequence[int]) -> list[ProductBrief]:
    """The vendor's matchable products with these ids, as briefs (no ORM entities: a
    suggestion reads a few columns of up to ~60 products)."""
    if not ids:
        return []
    rows = session.execute(
        select(*(getattr(Product, name) for name in ProductBrief._fields)).where(
            matchable(vendor_id), in_list(session, Product.id, ids)
        )
    )
    return [ProductBrief(*row) for row in rows]


def remembered_elsewhere(
    session: Session, *, vendor_id: int, gtin_key: str, limit: int
) -> dict[int, int]:
    """This vendor's matchable products that are the same article as a product another vendor
    mapped this GTIN key to (copied from the same marketplace listing, or with the same
    canonical GTIN), with how many other vendors did: product id -> vendors. Only the vendor's
    own product ids leave this function, never the other vendors' products."""
    theirs = aliased(Product)
    others = session.execute(
        select(GtinMapping.vendor_id, theirs.marketplace_product_id, theirs.gtin_normalized)
        .join(theirs, theirs.id == GtinMapping.product_id)
        .where(GtinMapping.gtin_key == gtin_key, GtinMapping.vendor_id != vendor_id)
        .limit(200)
    ).all()
    if not others:
        return {}
    listings = sorted({o.marketplace_product_id for o in others} - {None})
    gtins = sorted({o.gtin_normalized for o in others} - {None})
    same_article: list[ColumnElement[bool]] = []
    if listings:
        same_article.append(in_list(session, Product.marketplace_product_id, listings))
    if gtins:
        same_article.append(in_list(session, Product.gtin_normalized, gtins))
    if not same_article:
        return {}
    rows = session.execute(
        select(Product.id, Product.marketplace_product_id, Product.gtin_normalized)
        .where(matchable(vendor_id), or_(*same_article))
        .order_by(Product.id)
        .limit(limit)
    ).all()
    found: dict[int, int] = {}
    for row in rows:
        found[row.id] = len(
            {
                o.vendor_id
                for o in others
                if (
                    o.marketplace_product_id is not None
                    and o.marketplace_product_id == row.marketplace_product_id
                )
                or (o.gtin_normalized is not None and o.gtin_normalized == row.gtin_normalized)
            }
        )
    return found


def marketplace_product_with_gtin(
    session: Session, *, canonical_gtin: str, marketplace: str
) -> MarketplaceProduct | None:
    """The marketplace product carrying this canonical GTIN: of the given marketplace first,
    then the oldest (lowest id)."""
    return session.scalar(
        select(MarketplaceProduct)
        .where(MarketplaceProduct.gtin_normalized == canonical_gtin)
        .order_by((MarketplaceProduct.marketplace == marketplace).desc(), MarketplaceProduct.id)
        .limit(1)
    )


def vendor_holds_marketplace_product(
    session: Session, *, vendor_id: int, marketplace_product_id: int
) -> bool:
    """Whether a product of the vendor was copied from this marketplace product (active or not:
    the catalog holds at most one per vendor)."""
    found = session.scalar(
        select(Product.id)
        .where(
            Product.vendor_id == vendor_id,
            Product.marketplace_product_id == marketplace_product_id,
        )
        .limit(1)
    )
    return found is not None


def write_reopening(
    session: Session, *, exception_id: int, status: str, updated_at: datetime, at: datetime
) -> bool:
    """Send one resolved or ignored exception back to pending, clearing its resolution, if it
    is still exactly as the caller read it (status and ``updated_at``, which every writer of
    the row sets): of two concurrent writers exactly one changes it, and a reopen never undoes
    a resolution it did not see. The counterpart of `write_resolution`."""
    result = session.execute(
        update(OrderItemException)
        .where(
            OrderItemException.id == exception_id,
            OrderItemException.status == status,
            OrderItemException.status != ExceptionStatus.PENDING,
            OrderItemException.updated_at == updated_at,
        )
        .values(
            status=ExceptionStatus.PENDING,
            resolved_product_id=None,
            resolved_at=None,
            resolved_by=None,
            resolution_notes=None,
            updated_at=at,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(rows_changed(result))


class RemovedMapping(NamedTuple):
    id: int
    vendor_id: int
    gtin_key: str
    product_id: int


def delete_mapping_to(
    session: Session, *, vendor_id: int, gtin_key: str, product_id: int
) -> RemovedMapping | None:
    """Forget the vendor's remembered mapping of this GTIN key if it points at this product."""
    row = session.execute(
        delete(GtinMapping)
        .where(
            GtinMapping.vendor_id == vendor_id,
            GtinMapping.gtin_key == gtin_key,
            GtinMapping.product_id == product_id,
        )
        .returning(
            GtinMapping.id, GtinMapping.vendor_id, GtinMapping.gtin_key, GtinMapping.product_id
        )
        .execution_options(synchronize_session=False)
    ).first()
    return None if row is None else RemovedMapping(*row)


# The grouped queue, bulk by selection, the bulk-resolve preview and stats by type (queue.py).


class GroupSort(StrEnum):
    """The groups' orders: each by its total, largest first, then the oldest order first;
    `confirm_by`: the group's soonest deadline first (groups without one last), then as
    `orders`."""

    ORDERS = "orders"
    LINES = "lines"
    UNITS = "units"
    VALUE = "value_cents"
    OLDEST = "oldest_order_date"
    CONFIRM_BY = "confirm_by"


_GROUP_KEY_COLUMNS = ("vendor_id", "status", "exception_type", "key_kind", "group_key")
_GROUP_TOTALS = (
    "lines",
    "orders",
    "units",
    "value_cents",
    "oldest_order_date",
    "sample_exception_id",
)


def _group_order(rows: Any, sort: GroupSort) -> list[Any]:
    """ORDER BY for `rows` (the groups table or a subquery with its columns): the sort's
    total descending (oldest: the date ascending), then the oldest order, then the key, so a
    page is stable. The default matches the groups table's impact indexes."""
    c = rows.c
    if sort == GroupSort.OLDEST:
        first = []
    elif sort == GroupSort.CONFIRM_BY:
        first = [c.confirm_by.asc().nulls_last(), c.orders.desc()]
    else:
        first = [c[sort.value].desc()]
    return [*first, c.oldest_order_date, *(c[name] for name in _GROUP_KEY_COLUMNS)]


def _group_page(
    session: Session,
    rows: Any,
    *,
    sort: GroupSort,
    page: PageRequest | None,
    counted: bool = False,
) -> tuple[list[Any], int | None]:
    """The page of `rows` with the sample exception's GTIN, SKU and name: the page is chosen
    first, then only its rows are joined to their samples. `counted`: the page's rows also
    carry how many rows there are (a window count: a search's groups are computed once)."""
    columns = [rows.c[name] for name in (*_GROUP_KEY_COLUMNS, *_GROUP_TOTALS)]
    if sort == GroupSort.CONFIRM_BY:
        columns.append(rows.c.confirm_by)
    if counted:
        columns.append(func.count().over().label("total_groups"))
    ordered = select(*columns).order_by(*_group_order(rows, sort))
    if page is not None:
        ordered = ordered.offset(page.skip).limit(page.limit)
    chosen = ordered.subquery("page")
    sample = OrderItemException
    found = list(
        session.execute(
            select(
                chosen,
                sample.original_gtin.label("sample_gtin"),
                sample.original_sku.label("sample_sku"),
                sample.original_product_name.label("sample_product_name"),
            )
            .join(sample, sample.id == chosen.c.sample_exception_id)
            .order_by(*_group_order(chosen, sort))
        ).all()
    )
    return found, (found[0].total_groups if counted and found else None)


def list_groups(
    session: Session,
    *,
    scope: Scope,
    filters: ListFilters,
    status: ExceptionStatus,
    sort: GroupSort,
    page: PageRequest | None,
    now: datetime | None = None,
) -> tuple[list[Any], int]:
    """Groups of the exceptions the list shows for the same filters (`filters`, with `status`
    for its status), and how many groups.

    Without a search, a deadline filter or the deadline sort, the trigger-maintained totals
    (`queue_tables.groups`) are read in the order of their impact index; otherwise the
    matching exceptions' member rows are grouped on the fly (their totals then count only the
    matching exceptions, as the list does). No page: every group (the CSV)."""
    filters = replace(filters, status=status)
    if filters.term or filters.deadline_state is not None or sort == GroupSort.CONFIRM_BY:
        return _grouped_on_the_fly(
            session, scope=scope, filters=filters, sort=sort, page=page, now=now or utcnow()
        )
    g = groups.c
    conditions = [*vendor_filter(scope, g.vendor_id), g.status == status]
    if filters.exception_type is not None:
        conditions.append(g.exception_type == filters.exception_type)
    filtered = select(groups).where(*conditions).subquery("g")
    total = session.scalar(select(func.count()).select_from(groups).where(*conditions)) or 0
    if total == 0:
        return [], 0
    found, _ = _group_page(session, filtered, sort=sort, page=page)
    return found, total


def _grouped_on_the_fly(
    session: Session,
    *,
    scope: Scope,
    filters: ListFilters,
    sort: GroupSort,
    page: PageRequest | None,
    now: datetime,
) -> tuple[list[Any], int]:
    m = group_members.c
    member_conditions = [
        # The members' own key columns first: their index narrows the rows to the scope's
        # vendor and the status before each is looked up among the matches.
        *vendor_filter(scope, m.vendor_id),
        m.status == filters.status,
        *([] if filters.exception_type is None else [m.exception_type == filters.exception_type]),
    ]
    extra = replace(filters, status=None, exception_type=None)
    if extra != ListFilters():
        matching = select(OrderItemException.id).where(
            *filter_conditions(session, extra, scope=scope, now=now)
        )
        member_conditions.append(m.exception_id.in_(matching))
    aggregates = [
        func.count().label("lines"),
        func.count(m.order_id.distinct()).label("orders"),
        func.sum(m.quantity).label("units"),
        func.sum(m.value_cents).label("value_cents"),
        func.min(m.order_date).label("oldest_order_date"),
        func.min(m.exception_id).label("sample_exception_id"),
    ]
    members: Any = group_members
    if sort == GroupSort.CONFIRM_BY:
        # A group's soonest deadline: the least `confirm_by` of its rows.
        aggregates.append(func.min(deadlines.row_confirm_by()).label("confirm_by"))
        members = group_members.join(
            exception_context, exception_context.c.exception_id == m.exception_id
        )
    totals = (
        select(*(m[name] for name in _GROUP_KEY_COLUMNS), *aggregates)
        .select_from(members)
        .where(*member_conditions)
        .group_by(*(m[name] for name in _GROUP_KEY_COLUMNS))
        .subquery("g")
    )
    found, total = _group_page(session, totals, sort=sort, page=page, counted=True)
    if total is None:
        # No row on this page (none at all, or past the last page) carries the count.
        total = 0 if page is None or page.skip == 0 else _count(session, totals)
    return found, total


def _count(session: Session, rows: Any) -> int:
    return session.scalar(select(func.count()).select_from(rows)) or 0


def count_by_type_and_status(session: Session, *, scope: Scope) -> dict[tuple[str, str], int]:
    """Exceptions per (type, status): the lines of the groups (every exception is in exactly
    one), a third of the rows the exceptions' own index would give, read in GROUP BY order
    from the (status, exception_type, lines) index (a vendor's: from the primary key)."""
    g = groups.c
    rows = session.execute(
        select(g.exception_type, g.status, func.sum(g.lines))
        .where(*vendor_filter(scope, g.vendor_id))
        .group_by(g.status, g.exception_type)
    ).all()
    return {(kind, status): int(count) for kind, status, count in rows}


class SelectedException(NamedTuple):
    id: int
    status: str
    order_item_id: int


def lock_selected(
    session: Session, *, scope: VendorScope, exception_ids: Sequence[int]
) -> list[SelectedException]:
    """The scope's vendor's exceptions among these ids, locked in id order (the order every
    writer of exceptions locks them in); the others are another vendor's or missing."""
    found: list[SelectedException] = []
    for chunk in in_list_batches(session, exception_ids):
        rows = session.execute(
            select(
                OrderItemException.id,
                OrderItemException.status,
                OrderItemException.order_item_id,
            )
            .where(in_list(session, OrderItemException.id, chunk), *_in_scope(scope))
            .order_by(OrderItemException.id)
            .with_for_update()
        )
        found.extend(SelectedException(row.id, row.status, row.order_item_id) for row in rows)
    return sorted(found)


def blocking_among(*, exception_ids: Sequence[int], product_id: int) -> Target:
    """These exceptions (the caller's, locked), where still pending or ignored."""
    return Target(
        [
            OrderItemException.id.in_(exception_ids),
            OrderItemException.status.in_(ExceptionStatus.blocking()),
        ],
        product_id,
    )


def mark_many_ignored(
    session: Session, *, exception_ids: Sequence[int], notes: str, at: datetime
) -> set[int]:
    """Set these exceptions aside where still pending; returns the ids it changed."""
    changed: set[int] = set()
    for chunk in in_list_batches(session, exception_ids):
        changed.update(
            session.scalars(
                update(OrderItemException)
                .where(
                    in_list(session, OrderItemException.id, chunk),
                    OrderItemException.status == ExceptionStatus.PENDING,
                )
                .values(status=ExceptionStatus.IGNORED, resolution_notes=notes, updated_at=at)
                .returning(OrderItemException.id)
                .execution_options(synchronize_session=False)
            )
        )
    return changed


class GtinPreview(NamedTuple):
    exceptions: int
    orders: int
    confirmable_orders: int


def preview_gtin(
    session: Session, *, scope: VendorScope, canonical_gtin: str | None, raw_gtin: str
) -> GtinPreview:
    """What `pending_with_gtin` would resolve, read without locks: its exceptions, their
    orders, and those of the orders awaiting confirmation that nothing else would block
    afterwards (every blocking exception of the order is among them, from the context
    table)."""
    matches_gtin: ColumnElement[bool]
    if canonical_gtin is not None:
        matches_gtin = OrderItemException.order_item_id.in_(
            select(OrderItem.id).where(OrderItem.gtin_normalized == canonical_gtin)
        )
    else:
        matches_gtin = func.trim(OrderItemException.original_gtin) == raw_gtin
    matched = select(OrderItemException.id).where(
        *_in_scope(scope), OrderItemException.status == ExceptionStatus.PENDING, matches_gtin
    )
    context = exception_context.c
    exceptions = session.scalar(select(func.count()).select_from(matched.subquery())) or 0
    if exceptions == 0:
        return GtinPreview(0, 0, 0)
    orders = session.scalar(
        select(func.count(context.order_id.distinct())).where(context.exception_id.in_(matched))
    )
    other = exception_context.alias("other")
    confirmable = session.scalar(
        select(func.count()).where(
            Order.id.in_(
                select(context.order_id).where(context.exception_id.in_(matched), context.blocking)
            ),
            Order.status == OrderStatus.PENDING,
            ~exists(
                select(other.c.exception_id).where(
                    other.c.order_id == Order.id,
                    other.c.blocking,
                    other.c.exception_id.not_in(matched),
                )
            ),
        )
    )
    return GtinPreview(exceptions, orders or 0, confirmable or 0)


def exception_timeline(
    session: Session, *, vendor_id: int, exception_id: int, page: PageRequest | None
) -> tuple[list[Event], int]:
    """The exception's events, oldest first (all of them with `page` None)."""
    return timeline_page(
        session,
        vendor_id=vendor_id,
        where=subject_is(EventSubject.EXCEPTION, exception_id),
        page=page,
    )


class ExportKey(NamedTuple):
    """Where an export's next batch starts: after this row, newest first."""

    created_at: datetime
    id: int


resolved_product = aliased(Product, name="resolved_product")
# In the order `export.csv_cells` unpacks them.
_EXPORT_ROW = (
    OrderItemException.id,
    OrderItemException.created_at,
    Vendor.code.label("vendor_code"),
    Order.order_number,
    Order.order_date,
    OrderItemException.original_gtin,
    OrderItemException.original_sku,
    OrderItemException.original_product_name,
    OrderItem.quantity,
    OrderItemException.exception_type,
    OrderItemException.status,
    OrderItemException.resolved_product_id,
    resolved_product.sku.label("resolved_product_sku"),
    resolved_product.title.label("resolved_product_title"),
    OrderItemException.resolved_by,
    OrderItemException.resolved_at,
    OrderItemException.resolution_notes,
)


def export_batch(
    session: Session,
    *,
    scope: Scope,
    filters: ListFilters,
    after: ExportKey | None,
    limit: int,
    now: datetime | None = None,
) -> Sequence[Any]:
    """The next `limit` rows of the list's filters (`filter_conditions`, as `list_exceptions`),
    newest first, after `after`: keyset pagination on (created_at, id), so every batch is an
    index range whatever its depth, and a row is never read twice."""
    conditions = filter_conditions(session, filters, scope=scope, now=now or utcnow())
    if after is not None:
        conditions.append(
            tuple_(OrderItemException.created_at, OrderItemException.id)
            < tuple_(literal(after.created_at, OrderItemException.created_at.type), after.id)
        )
    statement = (
        select(*_EXPORT_ROW)
        .join(OrderItem, OrderItem.id == OrderItemException.order_item_id)
        .join(Order, Order.id == OrderItem.order_id)
        .join(Vendor, Vendor.id == OrderItemException.vendor_id)
        .outerjoin(resolved_product, resolved_product.id == OrderItemException.resolved_product_id)
    )
    return session.execute(statement.where(*conditions).order_by(*NEWEST_FIRST).limit(limit)).all()


def count_resolved_since(session: Session, *, scope: Scope, since: datetime) -> int:
    """Exceptions resolved (and still resolved) at or after `since`: the queue's "resolved
    today". Read from the partial indexes on the resolved rows' `resolved_at` (migration 0017),
    per vendor or overall."""
    return (
        session.scalar(
            select(func.count())
            .select_from(OrderItemException)
            .where(
                *_in_scope(scope),
                # Inline, so SQLite too proves the partial indexes' `status = 'resolved'`.
                OrderItemException.status
                == literal(ExceptionStatus.RESOLVED, literal_execute=True),
                OrderItemException.resolved_at >= literal(since, UTCDateTime()),
            )
        )
        or 0
    )


def _deadline_columns(*, now: datetime) -> tuple[ColumnElement[Any], ...]:
    """`confirm_by`, `deadline_state` and `age_seconds` (since the exception was raised)."""
    deadline = deadlines.row_confirm_by()
    return (
        deadline.label("confirm_by"),
        deadlines.deadline_state(deadline, now=now).label("deadline_state"),
        deadlines.age_seconds(OrderItemException.created_at, now=now).label("age_seconds"),
    )


def _confirm_by_page(
    session: Session, ids: Select[Any], page: PageRequest, *, scope: Scope
) -> tuple[list[int], int]:
    """`ids` (exception ids, filtered, unordered) soonest ``confirm_by`` first, then the rows
    without one newest first, and how many. Two index walks instead of one sort of every row:
    the rows with a deadline in ``due_at`` order (ties newest first), then the others newest
    first, each stopping at the page."""
    context = exception_context.c
    joined = ids.join(exception_context, context.exception_id == OrderItemException.id)
    with_deadline = joined.where(
        *vendor_filter(scope, context.vendor_id), *deadlines.holds_deadline()
    )
    first = list(
        session.scalars(
            with_deadline.order_by(context.due_at, *NEWEST_FIRST)
            .offset(page.skip)
            .limit(page.limit)
        )
    )
    total = _count(session, ids.order_by(None).subquery())
    if len(first) == page.limit:
        return first, total
    if first:
        holders = page.skip + len(first)
    else:
        holders = _count(session, with_deadline.order_by(None).subquery())
    rest = joined.where(
        or_(~context.blocking, ~context.awaiting, context.due_at.is_(None))
    ).order_by(*NEWEST_FIRST)
    more = session.scalars(rest.offset(max(page.skip - holders, 0)).limit(page.limit - len(first)))
    return first + list(more), total


def count_orders_by_deadline(session: Session, *, scope: Scope, now: datetime) -> dict[str, int]:
    """Blocked orders (the stats' `orders_with_exceptions`) still awaiting confirmation that are
    `at_risk` or `overdue` at `now`; orders without a deadline are not counted.

    Each count is one range of the context's ``(vendor_id,) blocking, awaiting, due_at,
    order_id`` index, its distinct orders counted by ``count(DISTINCT order_id)`` (on
    PostgreSQL half the time of counting a DISTINCT subquery)."""
    counts: dict[str, int] = {}
    context = exception_context.c
    for state in (DeadlineState.AT_RISK, DeadlineState.OVERDUE):
        orders = select(func.count(context.order_id.distinct())).where(
            *deadlines.deadline_conditions(state, scope=scope, now=now)
        )
        counts[state] = session.scalar(orders) or 0
    return counts


# --- KPIs (item_exceptions/kpis.py): exact counts over exceptions, lines and events ----------
# Every query answers per vendor (grouped by vendor_id); the service adds the vendors up. A
# window is [start, end): `start <= at < end`.


class ResolutionKind(StrEnum):
    """How an exception left the queue, from its event (`after.via`, `after.cause`)."""

    BY_HAND = "by_hand"  # resolved one by one (via `one`; older events without `via`)
    BULK = "bulk"  # via `gtin` or `selection` (older events: `bulk_gtin` present)
    CREATED_FROM_EXCEPTION = "created_from_exception"  # via `new_product`
    AUTO_CATALOG = "auto_catalog"  # auto_matched, cause `catalog` (or none: before causes)
    AUTO_SWEEP = "auto_sweep"  # auto_matched, cause `sweep`
    IGNORED = "ignored"
    REOPENED = "reopened"


_RESOLUTION_ACTIONS = (EventAction.RESOLVED, EventAction.AUTO_MATCHED)


def _kpi_events(scope: Scope, *, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    return [
        Event.subject_type == EventSubject.EXCEPTION,
        Event.at >= start,
        Event.at < end,
        *vendor_filter(scope, Event.vendor_id),
    ]


def kpi_lines(
    session: Session, *, scope: Scope, start: datetime, end: datetime
) -> dict[int, tuple[int, int]]:
    """Per vendor: (lines imported in the window, of them raised an exception). The importer
    raises an exception for a line only when it arrives, so the others matched at import.

    Each vendor's lines of the window are one range of ``(vendor_id, created_at)`` (the lines
    carry their order's vendor, migration 0012), each probed once for its exception."""
    in_scope = select(Vendor.id).where(*vendor_filter(scope, Vendor.id))
    rows = session.execute(
        select(OrderItem.vendor_id, func.count(OrderItem.id), func.count(OrderItemException.id))
        .select_from(OrderItem)
        .outerjoin(OrderItemException, OrderItemException.order_item_id == OrderItem.id)
        .where(
            OrderItem.vendor_id.in_(in_scope),
            OrderItem.created_at >= start,
            OrderItem.created_at < end,
        )
        .group_by(OrderItem.vendor_id)
    ).all()
    # (Every line in a vendor's range has that vendor: the IN list holds no null.)
    return {
        vendor_id: (lines, raised) for vendor_id, lines, raised in rows if vendor_id is not None
    }


def kpi_exceptions_by_type(
    session: Session, *, scope: Scope, start: datetime, end: datetime
) -> dict[int, dict[str, int]]:
    """Per vendor: exceptions raised in the window, by their (current) type."""
    rows = session.execute(
        select(OrderItemException.vendor_id, OrderItemException.exception_type, func.count())
        .where(
            OrderItemException.created_at >= start,
            OrderItemException.created_at < end,
            *_in_scope(scope),
        )
        .group_by(OrderItemException.vendor_id, OrderItemException.exception_type)
    ).all()
    found: dict[int, dict[str, int]] = {}
    for vendor_id, exception_type, count in rows:
        found.setdefault(vendor_id, {})[exception_type] = count
    return found


def _resolution_kind() -> ColumnElement[str | None]:
    """An exception event's `ResolutionKind` (NULL for the actions the KPIs do not count)."""
    via = Event.after["via"].as_string()
    cause = Event.after["cause"].as_string()
    legacy_bulk = and_(via.is_(None), Event.after["bulk_gtin"].as_string().is_not(None))
    resolved = Event.action == EventAction.RESOLVED
    return case(
        (and_(resolved, via == ResolvedVia.NEW_PRODUCT), ResolutionKind.CREATED_FROM_EXCEPTION),
        (
            and_(resolved, or_(via.in_((ResolvedVia.GTIN, ResolvedVia.SELECTION)), legacy_bulk)),
            ResolutionKind.BULK,
        ),
        (resolved, ResolutionKind.BY_HAND),
        (
            and_(Event.action == EventAction.AUTO_MATCHED, cause == MatchCause.SWEEP),
            ResolutionKind.AUTO_SWEEP,
        ),
        (Event.action == EventAction.AUTO_MATCHED, ResolutionKind.AUTO_CATALOG),
        (Event.action == EventAction.IGNORED, ResolutionKind.IGNORED),
        (Event.action == EventAction.REOPENED, ResolutionKind.REOPENED),
        else_=None,
    )


def kpi_event_counts(
    session: Session, *, scope: Scope, start: datetime, end: datetime
) -> dict[int, dict[str, int]]:
    """Per vendor: the window's exception events per `ResolutionKind`."""
    kinds = (
        select(Event.vendor_id.label("vendor_id"), _resolution_kind().label("kind"))
        .where(*_kpi_events(scope, start=start, end=end))
        .subquery()
    )
    # Grouped outside: PostgreSQL cannot match a GROUP BY expression with bound parameters.
    rows = session.execute(
        select(kinds.c.vendor_id, kinds.c.kind, func.count())
        .where(kinds.c.kind.is_not(None))
        .group_by(kinds.c.vendor_id, kinds.c.kind)
    ).all()
    found: dict[int, dict[str, int]] = {}
    for vendor_id, kind, count in rows:
        found.setdefault(vendor_id, {})[kind] = count
    return found


class PercentileRanks(NamedTuple):
    """What a linear-interpolation percentile of `values` sorted values needs: the values at
    1-based ranks `lower + 1` and `lower + 2` (None past the end), and the fraction
    (`fraction_percent` / 100) between them."""

    values: int
    lower_value: int
    upper_value: int | None
    fraction_percent: int


def kpi_time_to_resolve(
    session: Session,
    *,
    scope: Scope,
    start: datetime,
    end: datetime,
    percents: Sequence[int],
    by_vendor: bool,
) -> dict[int | None, dict[int, PercentileRanks]]:
    """Per vendor (or None: all in scope together): for each percentile in `percents` (whole
    percents), the ranks around it among the window's resolutions (resolved and auto_matched
    events), each lasting `event.at - exception.created_at` in whole seconds.

    The percentile is PostgreSQL's ``percentile_cont``: position ``h = (n - 1) * p`` in the
    sorted values, interpolated between its two neighbours. Written with integer arithmetic and
    window functions (SQLite has no ``percentile_cont``), so both databases pick the same two
    values and fraction; the caller interpolates."""
    seconds = deadlines.seconds_between(Event.at, OrderItemException.created_at)
    partition = [Event.vendor_id] if by_vendor else []
    ranked = (
        select(
            (Event.vendor_id if by_vendor else literal(None, Integer)).label("vendor_id"),
            seconds.label("seconds"),
            func.row_number()
            .over(partition_by=partition or None, order_by=(seconds, Event.id))
            .label("rank"),
            func.count().over(partition_by=partition or None).label("n"),
        )
        .join(OrderItemException, OrderItemException.id == Event.subject_id)
        .where(
            *_kpi_events(scope, start=start, end=end),
            Event.action.in_(_RESOLUTION_ACTIONS),
        )
        .subquery()
    )
    columns: list[ColumnElement[Any]] = []
    for p in percents:
        position = (ranked.c.n - 1) * p  # h * 100, an integer
        lower = position // 100
        columns += [
            func.max(case((ranked.c.rank == lower + 1, ranked.c.seconds))).label(f"lo{p}"),
            func.max(case((ranked.c.rank == lower + 2, ranked.c.seconds))).label(f"hi{p}"),
            func.max(position % 100).label(f"frac{p}"),
        ]
    rows = session.execute(
        select(ranked.c.vendor_id, func.max(ranked.c.n).label("n"), *columns).group_by(
            ranked.c.vendor_id
        )
    ).all()
    found: dict[int | None, dict[int, PercentileRanks]] = {}
    for row in rows:
        values = row._mapping
        found[row.vendor_id] = {
            p: PercentileRanks(
                values=row.n,
                lower_value=values[f"lo{p}"],
                upper_value=values[f"hi{p}"],
                fraction_percent=values[f"frac{p}"],
            )
            for p in percents
        }
    return found


class AgeBucket(StrEnum):
    UNDER_1_DAY = "under_1_day"
    DAYS_1_TO_3 = "days_1_to_3"
    OVER_3_DAYS = "over_3_days"


def kpi_open_aging(session: Session, *, scope: Scope, now: datetime) -> dict[int, dict[str, int]]:
    """Per vendor: open (pending or ignored) exceptions by age at `now`: under one day, one to
    three days (both included), over three days."""
    created = OrderItemException.created_at
    bucket = case(
        (created > now - timedelta(days=1), AgeBucket.UNDER_1_DAY),
        (created < now - timedelta(days=3), AgeBucket.OVER_3_DAYS),
        else_=AgeBucket.DAYS_1_TO_3,
    )
    buckets = (
        select(OrderItemException.vendor_id.label("vendor_id"), bucket.label("bucket"))
        .where(OrderItemException.status.in_(ExceptionStatus.blocking()), *_in_scope(scope))
        .subquery()
    )
    rows = session.execute(
        select(buckets.c.vendor_id, buckets.c.bucket, func.count()).group_by(
            buckets.c.vendor_id, buckets.c.bucket
        )
    ).all()
    found: dict[int, dict[str, int]] = {}
    for vendor_id, name, count in rows:
        found.setdefault(vendor_id, {})[name] = count
    return found


def kpi_vendors(session: Session, *, scope: Scope) -> list[tuple[int, str]]:
    """(id, code) of the vendors in scope, by id."""
    rows = session.execute(
        select(Vendor.id, Vendor.code).where(*vendor_filter(scope, Vendor.id)).order_by(Vendor.id)
    ).all()
    return [(vendor_id, code) for vendor_id, code in rows]


# --- the exception detail page (`detail.py`): the product picker, the next pending exception --

# Rows each picker look-up may return.
PICKER_PER_LOOKUP = 10


class PickerLookup(NamedTuple):
    """What the product picker looks for; an empty field is not looked up."""

    gtin_ranges: Sequence[tuple[str, str]]  # canonical GTIN ranges [low, high) (prefixes)
    sku: str | None  # lower-cased; the same SKU or an SKU starting with it
    title_words: Sequence[str]  # every word in the title (SQLite: the last one as a prefix)


def _prefix_end(prefix: str) -> str:
    """The smallest string above every string starting with `prefix` (its last character
    incremented): with the lower bound, a range an index walks."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _escaped_like(term: str) -> str:
    return term.replace("/", "//").replace("%", "/%").replace("_", "/_")


def picker_products(
    session: Session, *, vendor_id: int, lookup: PickerLookup, limit: int = PICKER_PER_LOOKUP
) -> list[tuple[int, str]]:
    """(product id, look-up) pairs of the vendor's matchable products, look-ups `gtin`, `sku`,
    `title`, each walking an index and stopping at its limit:

    - `gtin`: ranges of the (vendor_id, gtin_normalized) index (a whole GTIN is a range of one);
    - `sku`: a range of the (vendor_id, lower(sku)) index, rechecked with LIKE;
    - `title`: the FTS5 table's vendor words (SQLite, the last word as a prefix query) or
      ILIKE per word over pg_trgm's GIN index (PostgreSQL)."""
    arms: list[Subquery] = []
    gtin = Product.gtin_normalized
    for low, high in lookup.gtin_ranges:
        arms.append(_picker_arm("gtin", [gtin >= low, gtin < high], gtin, limit, vendor_id))
    if lookup.sku:
        sku = func.lower(Product.sku)
        in_range = [
            sku >= lookup.sku,
            sku < _prefix_end(lookup.sku),
            sku.like(_escaped_like(lookup.sku) + "%", escape="/"),
        ]
        arms.append(_picker_arm("sku", in_range, sku, limit, vendor_id))
    title = _picker_title_arm(session, vendor_id=vendor_id, lookup=lookup, limit=limit)
    if title is not None:
        arms.append(title)
    if not arms:
        return []
    statement = union_all(*(select(arm.c.id, arm.c.via) for arm in arms))
    return [(row.id, row.via) for row in session.execute(statement)]


def _picker_arm(
    via: str,
    conditions: list[ColumnElement[bool]],
    order: SQLColumnExpression[Any],
    limit: int,
    vendor_id: int,
) -> Subquery:
    return (
        select(Product.id.label("id"), literal(via).label("via"))
        .where(matchable(vendor_id), *conditions)
        .order_by(order, Product.id)
        .limit(limit)
        .subquery()
    )


def _picker_title_arm(
    session: Session, *, vendor_id: int, lookup: PickerLookup, limit: int
) -> Subquery | None:
    if not lookup.title_words:
        return None
    if session.get_bind().dialect.name == "postgresql":
        contains = [
            Product.title.ilike("%" + _escaped_like(word) + "%", escape="/")
            for word in lookup.title_words
        ]
        return (
            select(Product.id.label("id"), literal("title").label("via"))
            .where(matchable(vendor_id), *contains)
            .order_by(func.length(Product.title), Product.id)
            .limit(limit)
            .subquery()
        )
    *whole, last = lookup.title_words
    phrases = ['"' + vendor_word(vendor_id, word).replace('"', '""') + '"' for word in whole]
    phrases.append('"' + vendor_word(vendor_id, last).replace('"', '""') + '"*')
    search = table(TITLE_SEARCH_TABLE, column("rowid", Integer))
    rank: ColumnElement[Any] = literal_column(f"bm25({TITLE_SEARCH_TABLE})")
    return (
        select(Product.id.label("id"), literal("title").label("via"))
        .select_from(search)
        .join(Product, Product.id == search.c.rowid)
        .where(
            literal_column(TITLE_SEARCH_TABLE).op("MATCH")(" AND ".join(phrases)),
            matchable(vendor_id),
        )
        .order_by(rank, Product.id)
        .limit(limit)
        .subquery()
    )


def next_pending_id(
    session: Session, *, vendor_id: int, created_at: datetime, exception_id: int
) -> int | None:
    """The vendor's pending exception after this one in the queue's newest-first order, else
    the newest other one (wrapping round); read from the (vendor_id, status, created_at, id)
    index."""
    exception = OrderItemException
    pending = [exception.vendor_id == vendor_id, exception.status == ExceptionStatus.PENDING]
    older = or_(
        exception.created_at < created_at,
        and_(exception.created_at == created_at, exception.id < exception_id),
    )
    found = session.scalar(
        select(exception.id).where(*pending, older).order_by(*NEWEST_FIRST).limit(1)
    )
    if found is None:
        found = session.scalar(
            select(exception.id)
            .where(*pending, exception.id != exception_id)
            .order_by(*NEWEST_FIRST)
            .limit(1)
        )
    return found


def product_titles(session: Session, *, vendor_id: int, ids: Sequence[int]) -> dict[int, str]:
    """Titles of the vendor's products with these ids (any: inactive and the placeholder too,
    as a resolution or a timeline names them)."""
    if not ids:
        return {}
    rows = session.execute(
        select(Product.id, Product.title).where(
            Product.vendor_id == vendor_id, in_list(session, Product.id, ids)
        )
    )
    return {row.id: row.title for row in rows}
