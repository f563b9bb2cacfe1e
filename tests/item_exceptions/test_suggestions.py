"""GET …/order-exceptions/{id}/suggestions: the right product for seeded typo, SKU, MPN, title,
other-form and remembered cases; never another vendor's product; nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ordergate.catalog.models import GtinMapping, Product
from ordergate.events.models import Event
from ordergate.item_exceptions.product_search import (
    LOWER_SKU_INDEX,
    TITLE_SEARCH_TABLE,
    TITLE_TRIGRAM_INDEX,
    VENDOR_TITLE_TRIGRAM_INDEX,
)
from ordergate.item_exceptions.suggestions import gtin_variants, title_similarity
from ordergate.orders.models import OrderItemException
from tests.factories import (
    Caller,
    exception_state,
    gtin13,
    make_caller,
    make_listing_copy,
    make_product,
    make_unmatched_line,
    make_vendor,
    row_count,
)

ADMIN = "/api/v1/admin/order-exceptions"
VENDOR = "/api/v1/vendor/order-exceptions"

PRODUCT_GTIN = gtin13("400638133393")  # 4006381333931


def _suggest(
    client: TestClient, caller: Caller, exception_id: int, **params: Any
) -> dict[str, Any]:
    url = caller.url(admin=ADMIN, vendor=VENDOR) + f"/{exception_id}/suggestions"
    response = client.get(url, headers=caller.headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _top(body: dict[str, Any]) -> dict[str, Any]:
    assert body["suggestions"], body
    return body["suggestions"][0]


def _ids(body: dict[str, Any]) -> list[int]:
    return [s["product"]["id"] for s in body["suggestions"]]


def _other_vendor_twin(db: Session, *, title: str, gtin: str | None, sku: str | None) -> int:
    """Another vendor's product that matches the line on every signal."""
    other = make_vendor(db, code="shop2")
    return make_product(db, vendor_id=other.id, title=title, gtin=gtin, sku=sku).id


def _line(db: Session, caller: Caller, **fields: Any) -> OrderItemException:
    fields.setdefault("product_name", "Qqqq")
    fields.setdefault("sku", None)
    return make_unmatched_line(db, vendor_id=caller.vendor.id, **fields)


# --- GTIN typos and forms ---------------------------------------------------------------


def test_check_digit_typo_finds_the_product(
    client: TestClient, db: Session, caller: Caller
) -> None:
    product = make_product(db, vendor_id=caller.vendor.id, title="Funko Pop", gtin=PRODUCT_GTIN)
    make_product(db, vendor_id=caller.vendor.id, title="Other", gtin=gtin13("400638133394"))
    twin = _other_vendor_twin(db, title="Funko Pop", gtin=PRODUCT_GTIN, sku=None)
    exception = _line(db, caller, gtin="4006381333932", exception_type="gtin_mismatch")
    db.commit()
    body = _suggest(client, caller, exception.id)
    assert body["exception_id"] == exception.id
    assert body["exception_type"] == "gtin_mismatch"
    top = _top(body)
    assert top["product"]["id"] == product.id
    assert top["reasons"] == ["gtin_check_digit_typo"]
    assert top["score"] == 0.9
    assert twin not in _ids(body)


def test_one_digit_off_and_swapped_digits(client: TestClient, db: Session, caller: Caller) -> None:
    product = make_product(db, vendor_id=caller.vendor.id, title="Puzzle", gtin=PRODUCT_GTIN)
    twin = _other_vendor_twin(db, title="Puzzle", gtin=PRODUCT_GTIN, sku=None)
    # 4006381333931 with its fifth digit mistyped (check digit no longer fits)...
    one_off = _line(db, caller, gtin="4006481333931", exception_type="gtin_mismatch")
    # ... and with the 3rd and 4th digits swapped.
    swapped = _line(db, caller, gtin="4060381333931", exception_type="gtin_mismatch")
    db.commit()
    top = _top(_suggest(client, caller, one_off.id))
    assert (top["product"]["id"], top["reasons"]) == (product.id, ["gtin_one_digit_off"])
    top = _top(_suggest(client, caller, swapped.id))
    assert (top["product"]["id"], top["reasons"]) == (product.id, ["gtin_digits_swapped"])
    assert twin not in _ids(_suggest(client, caller, one_off.id))


def test_missing_digit_is_one_digit_off(client: TestClient, db: Session, caller: Caller) -> None:
    product = make_product(db, vendor_id=caller.vendor.id, title="Plush", gtin=PRODUCT_GTIN)
    exception = _line(db, caller, gtin="400638133931", exception_type="gtin_mismatch")
    db.commit()
    top = _top(_suggest(client, caller, exception.id))
    assert (top["product"]["id"], top["reasons"]) == (product.id, ["gtin_one_digit_off"])


def test_other_packaging_level_is_other_form(
    client: TestClient, db: Session, caller: Caller
) -> None:
    product = make_product(db, vendor_id=caller.vendor.id, title="Board game", gtin=PRODUCT_GTIN)
    case_of_ten = "1" + PRODUCT_GTIN[:-1]
    case_of_ten += __import__("stdnum.ean", fromlist=["ean"]).calc_check_digit(case_of_ten)
    exception = _line(db, caller, gtin=case_of_ten)
    db.commit()
    top = _top(_suggest(client, caller, exception.id))
    assert (top["product"]["id"], top["reasons"]) == (product.id, ["gtin_other_form"])


def test_lost_leading_zeros_is_other_form(client: TestClient, db: Session, caller: Caller) -> None:
    product = make_product(db, vendor_id=caller.vendor.id, title="Figure", gtin="012345678905")
    exception = _line(db, caller, gtin="12345678905", exception_type="gtin_mismatch")
    db.commit()
    top = _top(_suggest(client, caller, exception.id))
    assert (top["product"]["id"], top["reasons"]) == (product.id, ["gtin_other_form"])


# --- SKU, MPN, title, remembered --------------------------------------------------------


def test_same_sku_ignores_case(client: TestClient, db: Session, caller: Caller) -> None:
    product = make_product(db, vendor_id=caller.vendor.id, title="Mug", sku="MH-FU-56757")
    make_product(db, vendor_id=caller.vendor.id, title="Mug 2", sku="MH-FU-56758")
    twin = _other_vendor_twin(db, title="Mug", gtin=None, sku="MH-FU-56757")
    exception = _line(db, caller, gtin=None, sku=" mh-fu-56757 ")
    db.commit()
    body = _suggest(client, caller, exception.id)
    assert _ids(body) == [product.id]
    assert _top(body)["reasons"] == ["same_sku"]
    assert twin not in _ids(body)


def test_same_mpn_through_another_listing(client: TestClient, db: Session, caller: Caller) -> None:
    _, product = make_listing_copy(
        db, vendor_id=caller.vendor.id, title="LEGO City 60316", gtin=PRODUCT_GTIN, mpn="60316"
    )
    # The marketplace also lists the article under another GTIN; the order came with that one.
    other_gtin = gtin13("570201711234")
    listing = make_listing_copy(
        db, vendor_id=make_vendor(db, code="shop2").id, title="LEGO", gtin=other_gtin, mpn="60316"
    )
    exception = _line(db, caller, gtin=other_gtin)
    db.commit()
    body = _suggest(client, caller, exception.id)
    assert _ids(body) == [product.id]
    assert _top(body)["reasons"] == ["same_mpn"]
    assert listing[1].id not in _ids(body)


def test_similar_title_ranks_the_right_product_first(
    client: TestClient, db: Session, caller: Caller
) -> None:
    titles = [
        "Ravensburger Puzzle 1000 Neuschwanstein",
        "Ravensburger Puzzle 500 Neuschwanstein",
        "Ravensburger Puzzle 1000 Eiffel Tower",
        "Playmobil City Police Station",
        "Funko Pop! Marvel Iron Man",
    ]
    products = [make_product(db, vendor_id=caller.vendor.id, title=t) for t in titles]
    twin = _other_vendor_twin(db, title=titles[0], gtin=None, sku=None)
    exception = _line(db, caller, gtin=None, product_name="ravensburger neuschwanstein puzle 1000")
    db.commit()
    body = _suggest(client, caller, exception.id)
    top = _top(body)
    assert top["product"]["id"] == products[0].id
    assert top["reasons"] == ["title_similar"]
    assert 0.8 < top["title_similarity"] <= 1
    assert set(_ids(body)) <= {p.id for p in products}
    assert twin not in _ids(body)


def test_remembered_elsewhere_shows_only_the_own_product(
    client: TestClient, db: Session, caller: Caller
) -> None:
    unknown_gtin = gtin13("500000000001")
    # Both vendors copied the same marketplace listing, which has another GTIN.
    listing, own = make_listing_copy(
        db, vendor_id=caller.vendor.id, title="Schleich Horse", gtin=gtin13("400000000002")
    )
    other = make_vendor(db, code="shop2")
    theirs = make_product(db, vendor_id=other.id, title="Their horse", gtin=listing.gtin)
    theirs.marketplace_product_id = listing.id
    db.add(GtinMapping(vendor_id=other.id, gtin_key=unknown_gtin.zfill(14), product_id=theirs.id))
    exception = _line(db, caller, gtin=unknown_gtin)
    db.commit()
    body = _suggest(client, caller, exception.id)
    assert _ids(body) == [own.id]
    assert _top(body)["reasons"] == ["remembered_elsewhere"]
    assert _top(body)["remembered_by_vendors"] == 1
    assert "Their horse" not in str(body)


def test_signals_add_up(client: TestClient, db: Session, caller: Caller) -> None:
    both = make_product(
        db, vendor_id=caller.vendor.id, title="Hasbro Monopoly", gtin=PRODUCT_GTIN, sku="HB-1"
    )
    sku_only = make_product(db, vendor_id=caller.vendor.id, title="Hasbro Cluedo", sku="hb-1")
    exception = _line(
        db,
        caller,
        gtin="4006381333932",
        sku="HB-1",
        product_name="Hasbro Monopoly",
        exception_type="gtin_mismatch",
    )
    db.commit()
    body = _suggest(client, caller, exception.id)
    assert _ids(body) == [both.id, sku_only.id]
    first, second = body["suggestions"]
    assert first["reasons"] == ["gtin_check_digit_typo", "same_sku", "title_similar"]
    assert first["title_similarity"] == 1.0
    assert first["score"] > second["score"]
    assert 0 < second["score"] < 1


# --- duplicate GTIN ---------------------------------------------------------------------


def test_duplicate_gtin_ranks_only_its_candidates(
    client: TestClient, db: Session, caller: Caller
) -> None:
    red = make_product(db, vendor_id=caller.vendor.id, title="T-shirt red M", gtin=PRODUCT_GTIN)
    blue = make_product(db, vendor_id=caller.vendor.id, title="T-shirt blue M", gtin=PRODUCT_GTIN)
    make_product(db, vendor_id=caller.vendor.id, title="T-shirt blue M (other GTIN)")
    twin = _other_vendor_twin(db, title="T-shirt blue M", gtin=PRODUCT_GTIN, sku=None)
    exception = _line(
        db,
        caller,
        gtin=PRODUCT_GTIN,
        product_name="T-shirt blue M",
        exception_type="duplicate_gtin",
    )
    db.commit()
    body = _suggest(client, caller, exception.id)
    assert _ids(body) == [blue.id, red.id]
    assert body["suggestions"][0]["reasons"] == ["same_gtin", "title_similar"]
    assert body["suggestions"][1]["reasons"][0] == "same_gtin"
    assert twin not in _ids(body)


# --- what is never suggested, limits, isolation -------------------------------------------


def test_inactive_and_placeholder_are_never_suggested(
    client: TestClient, db: Session, caller: Caller
) -> None:
    make_product(db, vendor_id=caller.vendor.id, title="Old", gtin=PRODUCT_GTIN, is_active=False)
    exception = _line(
        db, caller, gtin=PRODUCT_GTIN, product_name="Unmatched product (placeholder) Old"
    )
    db.commit()
    assert _suggest(client, caller, exception.id)["suggestions"] == []


def test_limit_bounds_the_list(client: TestClient, db: Session, caller: Caller) -> None:
    for n in range(8):
        make_product(db, vendor_id=caller.vendor.id, title=f"LEGO City Set {n}")
    exception = _line(db, caller, gtin=None, product_name="LEGO City Set")
    db.commit()
    assert len(_suggest(client, caller, exception.id)["suggestions"]) == 5
    assert len(_suggest(client, caller, exception.id, limit=2)["suggestions"]) == 2
    assert len(_suggest(client, caller, exception.id, limit=20)["suggestions"]) == 8


@pytest.mark.parametrize("limit", ["0", "21", "x"])
def test_bad_limit_is_422(client: TestClient, db: Session, caller: Caller, limit: str) -> None:
    exception = _line(db, caller, gtin=None)
    db.commit()
    url = caller.url(admin=ADMIN, vendor=VENDOR) + f"/{exception.id}/suggestions"
    response = client.get(url, headers=caller.headers, params={"limit": limit})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "limit" in str(response.json()["error"]["details"])


def test_another_vendors_exception_answers_like_a_missing_one(
    client: TestClient, db: Session
) -> None:
    caller = make_caller(client, db, "vendor")
    other = make_vendor(db, code="shop2")
    foreign = make_unmatched_line(db, vendor_id=other.id, gtin=PRODUCT_GTIN)
    db.commit()
    for exception_id in (foreign.id, foreign.id + 1000):
        response = client.get(f"{VENDOR}/{exception_id}/suggestions", headers=caller.headers)
        assert response.status_code == 404
        assert response.json()["error"] == {
            "code": "ORDER_ITEM_EXCEPTION_NOT_FOUND",
            "message": f"Order item exception {exception_id} not found",
            "details": {"exception_id": exception_id},
        }


def test_admin_sees_the_exception_vendors_products_only(client: TestClient, db: Session) -> None:
    caller = make_caller(client, db, "admin")
    other = make_vendor(db, code="shop2")
    mine = make_product(db, vendor_id=caller.vendor.id, title="Figure", sku="S-1")
    theirs = make_product(db, vendor_id=other.id, title="Figure", sku="S-1")
    exception = _line(db, caller, gtin=None, sku="S-1", product_name="Figure")
    db.commit()
    # No ?vendor_id on a per-exception route: the exception's vendor decides.
    response = client.get(f"{ADMIN}/{exception.id}/suggestions", headers=caller.headers)
    assert response.status_code == 200
    assert _ids(response.json()) == [mine.id]
    assert theirs.id not in _ids(response.json())


def test_suggesting_writes_nothing(client: TestClient, db: Session, caller: Caller) -> None:
    make_product(db, vendor_id=caller.vendor.id, title="Funko Pop", gtin=PRODUCT_GTIN)
    exception = _line(db, caller, gtin="4006381333932", exception_type="gtin_mismatch")
    db.commit()
    before = exception_state(db, exception.id)
    counts = [row_count(db, m) for m in (Product, GtinMapping, Event)]
    _suggest(client, caller, exception.id)
    assert exception_state(db, exception.id) == before
    assert [row_count(db, m) for m in (Product, GtinMapping, Event)] == counts


def test_a_new_product_title_is_searchable_at_once(
    client: TestClient, db: Session, caller: Caller
) -> None:
    """The search table follows the catalog (triggers): insert, rename, delete."""
    product = make_product(db, vendor_id=caller.vendor.id, title="Bandai Gundam")
    exception = _line(db, caller, gtin=None, product_name="Bandai Gundam RX-78")
    db.commit()
    assert _ids(_suggest(client, caller, exception.id)) == [product.id]
    product.title = "Mattel Barbie"
    db.commit()
    assert _suggest(client, caller, exception.id)["suggestions"] == []
    product.title = "Bandai Gundam RX-78"
    db.commit()
    assert _ids(_suggest(client, caller, exception.id)) == [product.id]
    db.delete(product)
    db.commit()
    assert _suggest(client, caller, exception.id)["suggestions"] == []


# --- the pure parts ---------------------------------------------------------------------


def test_gtin_variants_of_an_invalid_gtin() -> None:
    variants = gtin_variants("4006381333932")
    assert variants[PRODUCT_GTIN.zfill(14)][0] == "gtin_check_digit_typo"
    assert all(len(v) == 14 for v in variants)
    assert gtin_variants(None) == {}
    assert gtin_variants("N/A") == {}


def test_title_similarity_ignores_case_accents_and_word_order() -> None:
    assert title_similarity("Café Crème", "cafe creme") == 1.0
    assert title_similarity("Puzzle Ravensburger", "Ravensburger Puzzle") == 1.0
    assert title_similarity("", "x") == 0.0


def test_punctuation_and_accents_do_not_hide_a_title(
    client: TestClient, db: Session, caller: Caller
) -> None:
    product = make_product(db, vendor_id=caller.vendor.id, title="Funko Pop! Marvel (Iron-Man)")
    crepe = make_product(db, vendor_id=caller.vendor.id, title="Crêpe-Maker Déluxe/2000")
    iron_man = _line(db, caller, gtin=None, product_name="iron man funko pop marvel")
    maker = _line(db, caller, gtin=None, product_name="crepe maker deluxe 2000")
    db.commit()
    assert _top(_suggest(client, caller, iron_man.id))["product"]["id"] == product.id
    assert _top(_suggest(client, caller, maker.id))["product"]["id"] == crepe.id


def test_title_search_stays_within_the_vendor(client: TestClient, db: Session) -> None:
    """Many namesakes at another vendor never crowd out (or appear among) the vendor's own."""
    caller = make_caller(client, db, "vendor")
    other = make_vendor(db, code="shop2")
    for n in range(30):
        make_product(db, vendor_id=other.id, title=f"LEGO City Fire Station {n}")
    mine = make_product(db, vendor_id=caller.vendor.id, title="LEGO City Fire Station")
    exception = _line(db, caller, gtin=None, product_name="LEGO City Fire Station")
    db.commit()
    assert _ids(_suggest(client, caller, exception.id, limit=20)) == [mine.id]


def test_migration_created_the_product_search_objects(engine: Engine, is_postgres: bool) -> None:
    with engine.connect() as conn:
        if is_postgres:
            indexes = set(
                conn.scalars(text("SELECT indexname FROM pg_indexes WHERE tablename = 'products'"))
            )
            # 0019 replaced 0006's title index by the vendor's (the tests may create btree_gin).
            assert {VENDOR_TITLE_TRIGRAM_INDEX, LOWER_SKU_INDEX} <= indexes
            assert TITLE_TRIGRAM_INDEX not in indexes
        else:
            names = set(conn.scalars(text("SELECT name FROM sqlite_master")))
            assert {
                TITLE_SEARCH_TABLE,
                LOWER_SKU_INDEX,
                "products_title_search_insert",
                "products_title_search_update",
                "products_title_search_delete",
            } <= names
