"""The exception detail page `/exceptions/{id}` (docs/dashboard.md, "Exception detail"): the
order and its line, what went wrong in plain words, suggestions, a product picker, resolve (this
line or every pending line with its GTIN, optionally remembered), ignore, create the product,
reopen, and the timeline. Every action calls the service the API endpoint calls; a refusal
re-renders the page with the API's message and its 4xx status (nothing is written)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from ordergate.deps import AUTO_MATCH, USER_EMAILS, SessionDep
from ordergate.errors import AppError, ValidationFailedError
from ordergate.events.timeline import TimelineEntry
from ordergate.gtin import normalize_gtin
from ordergate.item_exceptions import actions, detail, history, queue, service, suggestions
from ordergate.item_exceptions.schemas import (
    CreateProductRequest,
    IgnoreRequest,
    ReopenRequest,
    ResolveRequest,
)
from ordergate.item_exceptions.suggestions import SuggestionReason
from ordergate.routing import CommittingRoute
from ordergate.schemas import IdParam
from ordergate.scope import VendorScope
from ordergate.web.deps import FormDep, WebContext, WebDep
from ordergate.web.templating import is_htmx, redirect, render

M = TypeVar("M", bound=BaseModel)
router = APIRouter(route_class=CommittingRoute, include_in_schema=False)

# (short name, what it means and what to do), by exception type; a line without a GTIN is
# told apart from a GTIN the catalog lacks.
TYPE_EXPLAINED: dict[str, tuple[str, str]] = {
    "product_not_found": (
        "Product not found",
        "No active product in the catalog has this line's GTIN, so the order cannot be "
        "confirmed. Resolve it to the right product, or create the product from the line.",
    ),
    "gtin_mismatch": (
        "Invalid GTIN",
        "The GTIN the marketplace sent is not valid (its check digit or length is wrong), so "
        "it cannot match any product. Pick the product it was meant to be (near GTINs are "
        "suggested), or create the product with a corrected GTIN.",
    ),
    "duplicate_gtin": (
        "Duplicate GTIN",
        "Several active products in the catalog share this GTIN, so the import could not "
        "choose. Resolve the line to the right one.",
    ),
    "no_gtin": (
        "No GTIN",
        "The line came without a GTIN, so nothing could match it automatically. Find its "
        "product by SKU or title.",
    ),
}

REASON_TEXT: dict[str, str] = {
    SuggestionReason.SAME_GTIN: "Same GTIN",
    SuggestionReason.GTIN_CHECK_DIGIT_TYPO: "The GTIN differs only in its check digit (a typo)",
    SuggestionReason.GTIN_ONE_DIGIT_OFF: "The GTIN is one digit off",
    SuggestionReason.GTIN_DIGITS_SWAPPED: "The GTIN has two neighbouring digits swapped",
    SuggestionReason.GTIN_OTHER_FORM: (
        "The same GTIN written another way (packaging level or leading zeros)"
    ),
    SuggestionReason.SAME_SKU: "Same SKU",
    SuggestionReason.SAME_MPN: "Same manufacturer part number as the marketplace listing",
    SuggestionReason.REMEMBERED_ELSEWHERE: "Other vendors matched this GTIN to this article",
    SuggestionReason.TITLE_SIMILAR: "Similar title",
}

MATCHED_BY = {"gtin": "GTIN", "sku": "SKU", "title": "title"}
UNIT_STATE_TEXT = {
    "unconfirmed": "awaiting confirmation",
    "confirmed_available": "confirmed",
    "confirmed_unavailable": "declined",
    "returned": "returned",
}
SYSTEM_CAUSE_TEXT = {
    "import": "System (marketplace import)",
    "auto_match": "System (catalog auto-match)",
    "sweep": "System (catalog sweep)",
}
VIA_TEXT = {
    "one": "Resolved",
    "gtin": "Resolved with every pending line of GTIN {gtin}",
    "selection": "Resolved in a bulk selection",
    "new_product": "Resolved to a product created from the line",
}

SuggestionLimit = suggestions.DEFAULT_LIMIT
QueryText = Annotated[str, Query(max_length=detail.PICKER_MAX_LENGTH)]
FormText = Annotated[str, Form(max_length=2_000)]
ShortText = Annotated[str, Form(max_length=500)]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _validated(model: type[M], data: dict[str, Any]) -> M:
    """The API's request model over the form's fields; its refusal in the API's words
    (`VALIDATION_ERROR`, "Invalid request: check <fields>")."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [
            {
                "field": ".".join(str(part) for part in err["loc"]),
                "message": err["msg"],
                "type": err["type"],
            }
            for err in exc.errors()
        ]
        fields = ", ".join(d["field"] for d in details) or "request"
        raise ValidationFailedError(f"Invalid request: check {fields}", details=details) from exc


def _int_field(name: str, value: str) -> int:
    text = value.strip()
    if not text.isascii() or not text.isdigit():
        raise ValidationFailedError(
            f"Invalid request: check {name}",
            details=[{"field": name, "message": "must be a whole number", "type": "int"}],
        )
    return int(text)


def _cents(value: str) -> int | None:
    """A price as people type it (12.34, 12,34, €12) in cents; blank: None."""
    text = value.strip().replace("€", "").replace(" ", "").replace(",", ".")
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = Decimal(-1)
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailedError(
            "Invalid request: check price",
            details=[{"field": "price", "message": "a price like 12.34", "type": "decimal"}],
        )
    return int(amount * 100)


def _vendor_scope(web: WebContext, vendor_id: int) -> VendorScope:
    """The exception's vendor as a `VendorScope` for the by-GTIN services (the exception was
    found in the user's scope first, so this never widens it)."""
    scope = web.scope
    if isinstance(scope, VendorScope):
        return scope
    return VendorScope(
        actor_user_id=scope.actor_user_id, vendor_id=vendor_id, is_admin=scope.is_admin
    )


def _gtin_of(row: Any) -> str | None:
    raw = (row.original_gtin or "").strip()
    return raw or None


def _type_key(row: Any) -> str:
    if row.exception_type == "product_not_found" and _gtin_of(row) is None:
        return "no_gtin"
    return str(row.exception_type)


def _preview(session: Any, web: WebContext, row: Any) -> dict[str, Any] | None:
    """What resolving every pending line with this GTIN would touch (the API's preview)."""
    gtin = _gtin_of(row)
    if gtin is None or row.status != "pending":
        return None
    try:
        return queue.preview_bulk_resolve(
            session, scope=_vendor_scope(web, row.vendor_id), gtin=gtin
        )
    except AppError:
        return None


def _timeline(entries: list[TimelineEntry], titles: dict[int, str]) -> list[dict[str, Any]]:
    """The events as people read them: when, who, what happened, the notes."""

    def product(product_id: Any) -> str:
        if not isinstance(product_id, int):
            return "a product"
        return f"{titles.get(product_id, 'product')} (#{product_id})"

    shown = []
    for entry in entries:
        after = entry.after or {}
        before = entry.before or {}
        if entry.actor.type == "user":
            who = entry.actor.email or f"user #{entry.actor.user_id}"
        else:
            cause = entry.actor.cause
            who = SYSTEM_CAUSE_TEXT.get(str(cause), "System") if cause else "System"
        action = entry.action
        if action == "created":
            what = "Raised when the order was imported"
        elif action == "resolved":
            via = str(after.get("via") or ("gtin" if after.get("bulk_gtin") else "one"))
            what = VIA_TEXT.get(via, "Resolved").format(gtin=after.get("bulk_gtin", ""))
            what += f": {product(after.get('product_id'))}"
        elif action == "ignored":
            what = "Ignored (the order stays blocked)"
        elif action == "reopened":
            what = f"Reopened from {before.get('status', 'resolved')}: back on the placeholder"
            if after.get("mapping_removed"):
                what += "; the remembered GTIN mapping was removed"
        elif action == "auto_matched":
            how = (
                "by a sweep over the catalog"
                if after.get("cause") == "sweep"
                else "when the product entered the catalog"
            )
            what = f"Matched automatically {how}: {product(after.get('resolved_product_id'))}"
        elif action == "marked_duplicate":
            count = len(after.get("candidate_product_ids") or [])
            what = f"Marked duplicate GTIN: {count} catalog products share it"
        else:
            what = action.replace("_", " ").capitalize()
        shown.append({"at": entry.at, "who": who, "what": what, "notes": entry.notes})
    return shown


def _product_ids_named(row: Any, entries: list[TimelineEntry]) -> set[int]:
    ids: set[int] = set()
    if row.resolved_product_id:
        ids.add(row.resolved_product_id)
    for entry in entries:
        for payload in (entry.after or {}, entry.before or {}):
            for key in ("product_id", "resolved_product_id"):
                value = payload.get(key)
                if isinstance(value, int):
                    ids.add(value)
    return ids


def _page(
    request: Request,
    session: Any,
    web: WebContext,
    exception_id: int,
    *,
    status_code: int = 200,
    chosen_scope: str = "one",
    q: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    view = history.exception_detail(
        session, scope=web.scope, exception_id=exception_id, emails=USER_EMAILS
    )
    row = service.get_exception(session, scope=web.scope, exception_id=exception_id)
    entries: list[TimelineEntry] = view["events"]
    titles = detail.product_titles(
        session, vendor_id=row.vendor_id, ids=_product_ids_named(row, entries)
    )
    resolver = None
    if row.resolved_by is not None:
        resolver = USER_EMAILS(session, user_ids=[row.resolved_by]).get(row.resolved_by)
    open_ = row.status in ("pending", "ignored")
    suggested = (
        suggestions.suggest_products(
            session, scope=web.scope, exception_id=exception_id, limit=SuggestionLimit
        ).suggestions
        if open_
        else []
    )
    picked = (
        detail.search_products(session, scope=web.scope, exception_id=exception_id, query=q)
        if q and open_
        else None
    )
    defaults = (
        actions.create_product_defaults(session, scope=web.scope, exception_id=exception_id)
        if open_
        else None
    )
    preview = _preview(session, web, row)
    gtin = _gtin_of(row)
    context = {
        "web": web,
        "section": "queue",
        "row": row,
        "order": view["order"],
        "item": view["item"],
        "gtin": gtin,
        "canonical_gtin": view["item"].gtin_normalized or normalize_gtin(gtin).canonical,
        "gtin_invalid": normalize_gtin(gtin).status == "invalid",
        "type_key": _type_key(row),
        "explained": TYPE_EXPLAINED[_type_key(row)],
        "resolver": resolver,
        "resolved_title": titles.get(row.resolved_product_id or 0),
        "suggestions": suggested,
        "reason_text": REASON_TEXT,
        "picked": picked,
        "matched_by": MATCHED_BY,
        "q": q,
        "defaults": defaults,
        "preview": preview,
        "chosen_scope": "gtin" if chosen_scope == "gtin" and preview else "one",
        "timeline": _timeline(entries, titles),
        "unit_state_text": UNIT_STATE_TEXT,
        "next_id": detail.next_pending_exception(
            session, scope=web.scope, exception_id=exception_id
        ),
        "errors": errors or {},
        "values": values or {},
    }
    return render(request, "exception_detail.html", context, status_code=status_code)


def _refused(
    request: Request,
    session: Any,
    web: WebContext,
    exception_id: int,
    error: AppError,
    *,
    form: str,
    values: dict[str, Any],
    chosen_scope: str = "one",
) -> Response:
    """The page again with the API's message on the form, in the error's status; the
    request's writes are rolled back first, so the page shows what the database holds."""
    session.rollback()
    return _page(
        request,
        session,
        web,
        exception_id,
        status_code=error.status_code,
        chosen_scope=chosen_scope,
        errors={form: error.message},
        values={form: values},
    )


def _done(request: Request, exception_id: int, message: str) -> Response:
    return redirect(request, f"/exceptions/{exception_id}", flash=message)


@router.get("/exceptions/{exception_id}")
def exception_page(
    request: Request,
    exception_id: IdParam,
    session: SessionDep,
    web: WebDep,
    scope: Annotated[str, Query(max_length=10)] = "one",
    q: QueryText = "",
) -> Response:
    return _page(request, session, web, exception_id, chosen_scope=scope, q=q.strip())


@router.get("/exceptions/{exception_id}/products")
def product_picker(
    request: Request, exception_id: IdParam, session: SessionDep, web: WebDep, q: QueryText = ""
) -> Response:
    """The picker's results (the htmx type-ahead); without htmx, the page with them."""
    term = q.strip()
    if not is_htmx(request):
        return redirect(request, f"/exceptions/{exception_id}?q={quote(term, safe='')}#resolve")
    picked = detail.search_products(session, scope=web.scope, exception_id=exception_id, query=term)
    context = {
        "web": web,
        "row": service.get_exception(session, scope=web.scope, exception_id=exception_id),
        "picked": picked,
        "q": term,
        "matched_by": MATCHED_BY,
    }
    return render(request, "exception_detail.html", context, block="picker_results")


@router.post("/exceptions/{exception_id}/resolve")
def resolve(
    request: Request,
    exception_id: IdParam,
    session: SessionDep,
    web: FormDep,
    product_id: Annotated[str, Form(max_length=20)] = "",
    scope: Annotated[str, Form(max_length=10)] = "one",
    remember: Annotated[str, Form(max_length=10)] = "",
    notes: FormText = "",
) -> Response:
    values = {"notes": notes, "remember": bool(remember), "product_id": product_id}
    try:
        body = _validated(
            ResolveRequest,
            {
                "product_id": _int_field("product_id", product_id),
                "notes": notes.strip() or None,
                "remember": bool(remember),
            },
        )
        if scope == "gtin":
            message = _resolve_by_gtin(session, web, exception_id, body)
        else:
            row = service.resolve_exception(
                session,
                scope=web.scope,
                exception_id=exception_id,
                product_id=body.product_id,
                notes=body.notes,
                remember=body.remember,
            )
            message = f"Resolved exception {exception_id}"
            if detail.order_confirmable(session, scope=web.scope, order_id=row.order_id):
                message += f"; order {row.order_number} can now be confirmed"
    except AppError as error:
        return _refused(
            request,
            session,
            web,
            exception_id,
            error,
            form="resolve",
            values=values,
            chosen_scope=scope,
        )
    return _done(request, exception_id, message)


def _resolve_by_gtin(session: Any, web: WebContext, exception_id: int, body: Any) -> str:
    """Every pending line of the vendor with this exception's GTIN (`bulk_resolve_by_gtin`,
    as `POST …/bulk-resolve`); the message counts the orders it made confirmable."""
    row = service.get_exception(session, scope=web.scope, exception_id=exception_id)
    gtin = _gtin_of(row)
    if gtin is None:
        raise ValidationFailedError(
            "gtin must not be blank: this line has no GTIN; resolve this line only",
            details={"field": "gtin"},
        )
    vendor = _vendor_scope(web, row.vendor_id)
    preview = queue.preview_bulk_resolve(session, scope=vendor, gtin=gtin)
    count = service.bulk_resolve_by_gtin(
        session,
        scope=vendor,
        gtin=gtin,
        product_id=body.product_id,
        notes=body.notes,
        remember=body.remember,
    )
    confirmable = preview["confirmable_orders"]
    return (
        f"Resolved {_plural(count, 'exception')} with GTIN {gtin}; "
        f"{_plural(confirmable, 'order')} can now be confirmed"
    )


@router.post("/exceptions/{exception_id}/ignore")
def ignore(
    request: Request, exception_id: IdParam, session: SessionDep, web: FormDep, notes: FormText = ""
) -> Response:
    try:
        body = _validated(IgnoreRequest, {"notes": notes})
        service.ignore_exception(
            session, scope=web.scope, exception_id=exception_id, notes=body.notes
        )
    except AppError as error:
        return _refused(
            request, session, web, exception_id, error, form="ignore", values={"notes": notes}
        )
    return _done(
        request, exception_id, f"Ignored exception {exception_id}; it still blocks confirmation"
    )


@router.post("/exceptions/{exception_id}/create-product")
def create_product(
    request: Request,
    exception_id: IdParam,
    session: SessionDep,
    web: FormDep,
    title: ShortText = "",
    sku: ShortText = "",
    brand: ShortText = "",
    price: Annotated[str, Form(max_length=30)] = "",
    gtin: Annotated[str, Form(max_length=60)] = "",
    notes: FormText = "",
) -> Response:
    values = {
        "title": title,
        "sku": sku,
        "brand": brand,
        "price": price,
        "gtin": gtin,
        "notes": notes,
    }
    try:
        body = _validated(
            CreateProductRequest,
            {
                "title": title.strip() or None,
                "sku": sku.strip() or None,
                "brand": brand.strip() or None,
                "price_cents": _cents(price),
                "gtin": gtin.strip() or None,
                "notes": notes.strip() or None,
            },
        )
        created = actions.create_product_from_exception(
            session,
            scope=web.scope,
            exception_id=exception_id,
            **body.model_dump(),
            after_products_added=AUTO_MATCH,
        )
    except AppError as error:
        return _refused(request, session, web, exception_id, error, form="create", values=values)
    others = created.resolved_count - 1
    message = f"Created product {created.product.title!r} (#{created.product.id}) and resolved"
    message += f" {_plural(created.resolved_count, 'exception')}"
    if others > 0:
        message += f" (this one and {_plural(others, 'other pending line')} with its GTIN)"
    return _done(request, exception_id, message)


@router.post("/exceptions/{exception_id}/reopen")
def reopen(
    request: Request, exception_id: IdParam, session: SessionDep, web: FormDep, notes: FormText = ""
) -> Response:
    try:
        body = _validated(ReopenRequest, {"notes": notes})
        reopened = actions.reopen_exception(
            session, scope=web.scope, exception_id=exception_id, notes=body.notes
        )
    except AppError as error:
        return _refused(
            request, session, web, exception_id, error, form="reopen", values={"notes": notes}
        )
    message = f"Reopened exception {exception_id}: the line waits on the placeholder again"
    if reopened.mapping_removed is not None:
        gtin_key = reopened.mapping_removed.gtin_key
        message += f"; the remembered mapping of GTIN {gtin_key} is removed"
    return _done(request, exception_id, message)
