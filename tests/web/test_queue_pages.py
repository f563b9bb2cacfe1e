"""The queue page through the ASGI client: scopes, filters in the URL, cards that agree with the
API, CSV exports of the view, the grouped mode, bulk resolve/ignore (per-row results, all or
nothing), CSRF, empty states, and the picker and suggestion fragments."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ordergate.db import utcnow
from ordergate.orders.models import OrderItemException
from ordergate.vendors.models import Vendor
from tests.factories import (
    exception_state,
    login,
    make_order,
    make_product,
    make_unmatched_line,
    row_count,
    set_deadline_hours,
)
from tests.web.pages import ADMIN, STAFF, commit_and_log_in, post_form, two_shops

ADMIN_API = "/api/v1/admin/order-exceptions"
VENDOR_API = "/api/v1/vendor/order-exceptions"
_CARD = re.compile(r'<span class="value">(\d+)</span><span class="label">([^<]+)</span>')
_ROW = re.compile(r'<tr data-exception-id="(\d+)"')
_SUMMARY = re.compile(r"of (\d+) (?:exceptions?|groups)")


def cards(html: str) -> dict[str, int]:
    return {label: int(value) for value, label in _CARD.findall(html)}


def row_ids(html: str) -> list[int]:
    return [int(i) for i in _ROW.findall(html)]


def total_of(html: str) -> int:
    match = _SUMMARY.search(html)
    return int(match.group(1)) if match else 0


def _line(db: Session, vendor: Vendor, name: str, **kw: Any) -> OrderItemException:
    return make_unmatched_line(db, vendor_id=vendor.id, product_name=name, **kw)


def _states(db: Session, ids: list[int]) -> list[dict[str, Any]]:
    return [exception_state(db, i) for i in ids]


# --- scopes -------------------------------------------------------------------------------------


def test_vendor_staff_see_only_their_own_rows_whatever_the_url_says(
    client: TestClient, db: Session
) -> None:
    shop1, shop2 = two_shops(db)
    own = _line(db, shop1, "Wooden train")
    other = _line(db, shop2, "Riesling 2019")
    commit_and_log_in(client, db)
    for url in ("/queue", f"/queue?vendor={shop2.id}", "/queue?vendor="):
        page = client.get(url)
        assert page.status_code == 200
        assert row_ids(page.text) == [own.id]
        assert "Riesling 2019" not in page.text
        assert 'id="f-vendor"' not in page.text  # no vendor filter for staff
    assert other.id not in row_ids(client.get("/queue?search=Riesling").text)


def test_admins_see_every_vendor_and_narrow_with_the_vendor_filter(
    client: TestClient, db: Session
) -> None:
    shop1, shop2 = two_shops(db)
    one = _line(db, shop1, "Wooden train")
    two = _line(db, shop2, "Riesling 2019")
    commit_and_log_in(client, db, ADMIN)
    page = client.get("/queue")
    assert sorted(row_ids(page.text)) == sorted([one.id, two.id])
    assert "All vendors" in page.text
    assert "To act on several rows at once, choose one vendor" in page.text
    narrowed = client.get(f"/queue?vendor={shop2.id}")
    assert row_ids(narrowed.text) == [two.id]
    assert 'name="exception_id"' in narrowed.text  # bulk needs one vendor: now offered
    assert cards(narrowed.text)["Pending"] == 1
    missing = client.get("/queue?vendor=999999")
    assert missing.status_code == 404
    assert "VENDOR_NOT_FOUND" in missing.text
    assert "Riesling 2019" not in missing.text


def test_a_bad_filter_value_is_a_422_page_naming_the_parameter(
    client: TestClient, db: Session
) -> None:
    two_shops(db)
    commit_and_log_in(client, db)
    page = client.get("/queue?status=done")
    assert page.status_code == 422
    assert "check status" in page.text
    assert client.get("/queue?limit=0").status_code == 422


# --- filters, cards and the API agree ----------------------------------------------------------


def _mixed_queue(db: Session, vendor: Vendor) -> dict[str, list[int]]:
    pending = [_line(db, vendor, f"Pending item {n}").id for n in range(3)]
    duplicate = [_line(db, vendor, "Dup item", exception_type="duplicate_gtin").id]
    ignored = [_line(db, vendor, "Ignored item", status="ignored").id]
    resolved = [_line(db, vendor, "Resolved item", status="resolved").id]
    return {
        "pending": pending + duplicate,
        "duplicate": duplicate,
        "ignored": ignored,
        "resolved": resolved,
    }


def test_filters_in_the_url_narrow_rows_and_cards_agree_with_the_api(
    client: TestClient, db: Session
) -> None:
    shop1, _ = two_shops(db)
    made = _mixed_queue(db, shop1)
    commit_and_log_in(client, db)
    api = login(client, STAFF)

    stats = client.get(f"{VENDOR_API}/stats", headers=api).json()
    page = client.get("/queue")
    shown = cards(page.text)
    assert shown["Pending"] == stats["pending"] == 4
    assert shown["Ignored"] == stats["ignored"] == 1
    assert shown["Affected orders"] == stats["orders_with_exceptions"]
    assert shown["Orders overdue"] == stats["overdue"]
    assert shown["Orders at risk (&lt; 24 h)"] == stats["at_risk"]
    assert sorted(row_ids(page.text)) == sorted(made["pending"])

    for query, api_params, expected in (
        ("", {"status": "pending"}, made["pending"]),
        ("?status=ignored", {"status": "ignored"}, made["ignored"]),
        (
            "?type=duplicate_gtin",
            {"status": "pending", "exception_type": "duplicate_gtin"},
            made["duplicate"],
        ),
        (
            "?status=all",
            {},
            [i for ids in made.values() for i in ids if ids is not made["duplicate"]],
        ),
        (
            "?search=Pending+item+1",
            {"status": "pending", "search": "Pending item 1"},
            [made["pending"][1]],
        ),
    ):
        page = client.get(f"/queue{query}")
        listed = client.get(VENDOR_API, headers=api, params=api_params).json()
        assert sorted(row_ids(page.text)) == sorted(set(expected)), query
        assert total_of(page.text) == listed["total"] == len(set(expected)), query
    # A view is a bookmarkable URL: the named views are links carrying their filters.
    page = client.get("/queue")
    assert 'href="/queue?type=duplicate_gtin"' in page.text
    assert 'href="/queue?status=ignored"' in page.text
    assert 'href="/queue?status=all&amp;deadline=overdue&amp;sort=confirm_by"' in page.text


def test_deadline_filter_and_the_overdue_card_match_the_api(
    client: TestClient, db: Session
) -> None:
    shop1, _ = two_shops(db)
    set_deadline_hours(db, shop1, 48)
    now = utcnow()
    late = _line(
        db,
        shop1,
        "Late one",
        order=make_order(db, vendor_id=shop1.id, order_date=now - timedelta(hours=60)),
    )
    soon = _line(
        db,
        shop1,
        "Soon one",
        order=make_order(db, vendor_id=shop1.id, order_date=now - timedelta(hours=30)),
    )
    _line(db, shop1, "Fresh one", order=make_order(db, vendor_id=shop1.id, order_date=now))
    commit_and_log_in(client, db)
    api = login(client, STAFF)
    stats = client.get(f"{VENDOR_API}/stats", headers=api).json()
    page = client.get("/queue")
    assert cards(page.text)["Orders overdue"] == stats["overdue"] == 1
    assert cards(page.text)["Orders at risk (&lt; 24 h)"] == stats["at_risk"] == 1
    assert row_ids(client.get("/queue?status=all&deadline=overdue").text) == [late.id]
    at_risk = client.get("/queue?deadline=at_risk&sort=confirm_by")
    assert row_ids(at_risk.text) == [soon.id]
    assert "At risk (&lt; 24 h)" in at_risk.text
    exported = _csv_ids(client.get("/queue/export.csv?status=all&deadline=overdue"))
    assert exported == [late.id]
    api_csv = client.get(
        f"{VENDOR_API}/export.csv", headers=api, params={"deadline_state": "overdue"}
    )
    assert _csv_ids(api_csv) == [late.id]


def test_resolved_today_counts_todays_resolutions(client: TestClient, db: Session) -> None:
    shop1, _ = two_shops(db)
    old = _line(db, shop1, "Resolved long ago", status="resolved")
    old.resolved_at = utcnow() - timedelta(days=3)
    today = _line(db, shop1, "Resolved now", status="resolved")
    today.resolved_at = utcnow()
    commit_and_log_in(client, db)
    page = client.get("/queue")
    assert cards(page.text)["Resolved today"] == 1
    assert 'href="/queue?status=resolved"' in page.text


# --- CSV exports --------------------------------------------------------------------------------


def _csv_ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    return [int(row["exception_id"]) for row in rows]


def test_the_csv_export_of_a_filtered_view_has_exactly_its_rows(
    client: TestClient, db: Session
) -> None:
    shop1, shop2 = two_shops(db)
    made = _mixed_queue(db, shop1)
    _line(db, shop2, "Other vendor's", exception_type="duplicate_gtin")
    commit_and_log_in(client, db)
    api = login(client, STAFF)
    page = client.get("/queue?type=duplicate_gtin")
    assert 'href="/queue/export.csv?type=duplicate_gtin"' in page.text
    exported = client.get("/queue/export.csv?type=duplicate_gtin")
    assert _csv_ids(exported) == made["duplicate"]
    same = client.get(
        f"{VENDOR_API}/export.csv",
        headers=api,
        params={"status": "pending", "exception_type": "duplicate_gtin"},
    )
    assert exported.content == same.content  # the API's own export, byte for byte
    assert sorted(_csv_ids(client.get("/queue/export.csv"))) == sorted(made["pending"])


# --- grouped by GTIN ----------------------------------------------------------------------------


def test_the_grouped_mode_ranks_groups_and_links_their_lines_and_bulk_resolve(
    client: TestClient, db: Session
) -> None:
    shop1, _ = two_shops(db)
    big = [_line(db, shop1, "Lego City", gtin="5702016912234") for _ in range(3)]
    _line(db, shop1, "Puzzle", gtin="4005556150311")
    commit_and_log_in(client, db)
    api = login(client, STAFF)
    page = client.get("/queue?mode=groups")
    assert page.status_code == 200
    assert total_of(page.text) == 2
    assert page.text.index("Lego City") < page.text.index("Puzzle")  # most orders first
    first = min(e.id for e in big)
    assert f'href="/exceptions/{first}?scope=gtin"' in page.text
    assert "Resolve all 3" in page.text
    assert "Show 3 lines" in page.text
    assert "search=" in page.text
    listed = client.get("/queue?search=5702016912234&type=product_not_found")
    assert sorted(row_ids(listed.text)) == sorted(e.id for e in big)
    groups_csv = client.get("/queue/groups.csv?mode=groups")
    assert groups_csv.content == client.get(f"{VENDOR_API}/groups.csv", headers=api).content


# --- bulk ---------------------------------------------------------------------------------------


def test_bulk_resolve_resolves_the_checked_rows_and_shows_each_result(
    client: TestClient, db: Session
) -> None:
    shop1, _ = two_shops(db)
    a = _line(db, shop1, "Train A")
    b = _line(db, shop1, "Train B")
    done = _line(db, shop1, "Train C", status="resolved")
    untouched = _line(db, shop1, "Train D")
    product = make_product(db, vendor_id=shop1.id, title="Wooden train", sku="WT-1")
    csrf = commit_and_log_in(client, db)
    response = post_form(
        client,
        "/queue/bulk",
        csrf,
        {
            "action": "resolve",
            "exception_id": [str(a.id), str(b.id), str(done.id)],
            "product_id": str(product.id),
            "view": "",
        },
    )
    assert response.status_code == 200, response.text
    assert "Done: 2 resolved, 0 ignored, 1 skipped" in response.text
    assert f'<li data-result-id="{done.id}">' in response.text
    assert "already resolved" in response.text
    for exception in (a, b):
        state = exception_state(db, exception.id)
        assert state["status"] == "resolved"
        assert state["item_product_id"] == product.id
    assert exception_state(db, untouched.id)["status"] == "pending"
    assert row_ids(response.text) == [untouched.id]  # the pending view, redrawn
    assert cards(response.text)["Resolved today"] == 2


def test_bulk_ignore_sets_the_rows_aside_with_one_reason(client: TestClient, db: Session) -> None:
    shop1, _ = two_shops(db)
    a = _line(db, shop1, "Bottle A")
    ignored = _line(db, shop1, "Bottle B", status="ignored")
    csrf = commit_and_log_in(client, db)
    response = post_form(
        client,
        "/queue/bulk",
        csrf,
        {"action": "ignore", "exception_id": [str(a.id), str(ignored.id)], "notes": "Sample"},
    )
    assert response.status_code == 200, response.text
    assert "Done: 0 resolved, 1 ignored, 1 skipped" in response.text
    assert "already ignored" in response.text
    state = exception_state(db, a.id)
    assert state["status"] == "ignored"
    assert state["resolution_notes"] == "Sample"


def test_bulk_with_another_vendors_id_changes_nothing_and_says_which(
    client: TestClient, db: Session
) -> None:
    shop1, shop2 = two_shops(db)
    own = _line(db, shop1, "Train A")
    foreign = _line(db, shop2, "Riesling")
    product = make_product(db, vendor_id=shop1.id, title="Wooden train")
    csrf = commit_and_log_in(client, db)
    ids = [own.id, foreign.id]
    before = _states(db, ids)
    for data in (
        {"action": "resolve", "product_id": str(product.id)},
        {"action": "ignore", "notes": "nope"},
    ):
        response = post_form(
            client, "/queue/bulk", csrf, {**data, "exception_id": [str(i) for i in ids]}
        )
        assert response.status_code == 404
        assert (
            f"Order item exceptions not found: {foreign.id}; nothing was changed" in response.text
        )
        assert _states(db, ids) == before
        # The form keeps the user's choice: the rows stay checked.
        assert f'value="{own.id}" id="sel-{own.id}" checked' in response.text


def test_bulk_refusals_show_the_apis_message_and_change_nothing(
    client: TestClient, db: Session
) -> None:
    shop1, shop2 = two_shops(db)
    own = _line(db, shop1, "Train A")
    foreign_product = make_product(db, vendor_id=shop2.id, title="Riesling")
    csrf = commit_and_log_in(client, db)
    before = _states(db, [own.id])
    cases = (
        ({"action": "ignore", "notes": "  "}, 422, "check notes"),
        ({"action": "resolve", "product_id": ""}, 422, "check product_id"),
        (
            {"action": "resolve", "product_id": str(foreign_product.id)},
            400,
            f"{foreign_product.id}",
        ),
        ({"action": "explode"}, 422, "check action"),
    )
    for data, status, words in cases:
        response = post_form(client, "/queue/bulk", csrf, {**data, "exception_id": [str(own.id)]})
        assert response.status_code == status, (data, response.text[:500])
        assert words in response.text, data
        assert _states(db, [own.id]) == before
    nothing = post_form(client, "/queue/bulk", csrf, {"action": "ignore", "notes": "x"})
    assert nothing.status_code == 422
    assert "Select at least one exception first" in nothing.text
    too_many = post_form(
        client,
        "/queue/bulk",
        csrf,
        {"action": "ignore", "notes": "x", "exception_id": [str(i) for i in range(1, 502)]},
    )
    assert too_many.status_code == 422
    assert "check exception_ids" in too_many.text
    assert _states(db, [own.id]) == before


def test_a_bulk_post_without_the_form_token_is_refused_and_changes_nothing(
    client: TestClient, db: Session
) -> None:
    shop1, _ = two_shops(db)
    own = _line(db, shop1, "Train A")
    commit_and_log_in(client, db)
    before = _states(db, [own.id])
    response = client.post(
        "/queue/bulk", data={"action": "ignore", "notes": "x", "exception_id": str(own.id)}
    )
    assert response.status_code == 403
    assert "CSRF_TOKEN_INVALID" in response.text
    assert _states(db, [own.id]) == before


def test_an_admin_acts_in_bulk_on_the_vendor_filtered(client: TestClient, db: Session) -> None:
    shop1, shop2 = two_shops(db)
    one = _line(db, shop1, "Train A")
    two = _line(db, shop2, "Riesling")
    csrf = commit_and_log_in(client, db, ADMIN)
    refused = post_form(
        client,
        "/queue/bulk",
        csrf,
        {"action": "ignore", "notes": "x", "exception_id": [str(two.id)], "vendor": ""},
    )
    assert refused.status_code == 409  # all vendors: choose one first
    ok = post_form(
        client,
        "/queue/bulk",
        csrf,
        {
            "action": "ignore",
            "notes": "Wrong shop",
            "exception_id": [str(two.id)],
            "vendor": str(shop2.id),
            "view": f"vendor={shop2.id}",
        },
    )
    assert ok.status_code == 200, ok.text
    assert exception_state(db, two.id)["status"] == "ignored"
    assert exception_state(db, one.id)["status"] == "pending"
    wrong = post_form(
        client,
        "/queue/bulk",
        csrf,
        {"action": "ignore", "notes": "x", "exception_id": [str(one.id)], "vendor": str(shop2.id)},
    )
    assert wrong.status_code == 404
    assert exception_state(db, one.id)["status"] == "pending"


# --- empty states -------------------------------------------------------------------------------


def test_empty_states_say_what_to_do(client: TestClient, db: Session) -> None:
    shop1, _ = two_shops(db)
    commit_and_log_in(client, db)
    none_yet = client.get("/queue")
    assert "No exceptions yet." in none_yet.text
    assert 'href="/sync"' in none_yet.text
    _line(db, shop1, "Train A", status="ignored")
    db.commit()
    clear = client.get("/queue")
    assert "Nothing pending: the queue is clear." in clear.text
    assert "1 ignored" in clear.text
    no_match = client.get("/queue?search=zzzz-nothing")
    assert "Nothing matches these filters." in no_match.text
    assert '<a href="/queue">Clear filters</a>' in no_match.text


# --- fragments ----------------------------------------------------------------------------------


def test_the_product_picker_searches_only_the_vendors_active_catalog(
    client: TestClient, db: Session
) -> None:
    shop1, shop2 = two_shops(db)
    mine = make_product(
        db, vendor_id=shop1.id, title="Wooden train", sku="WT-1", gtin="4006381333931"
    )
    make_product(db, vendor_id=shop1.id, title="Wooden train old", is_active=False)
    make_product(db, vendor_id=shop2.id, title="Wooden train crate")
    commit_and_log_in(client, db)
    for term in ("wooden", "WT-1", "4006381333931"):
        found = client.get("/queue/products", params={"q": term})
        assert found.status_code == 200
        assert f'data-pick-product="{mine.id}"' in found.text, term
        assert found.text.count("data-pick-product=") == 1, term
    assert "No active product matches" in client.get("/queue/products?q=zzz").text
    assert "Type at least two characters" in client.get("/queue/products?q=w").text


def test_the_product_picker_is_the_detail_pages_indexed_search_and_says_when_more_match(
    client: TestClient, db: Session
) -> None:
    shop1, _ = two_shops(db)
    blocks = [make_product(db, vendor_id=shop1.id, title=f"Wooden block {n:02}") for n in range(12)]
    by_prefix = make_product(db, vendor_id=shop1.id, title="Kite", gtin="5901234123457")
    commit_and_log_in(client, db)
    found = client.get("/queue/products", params={"q": "wooden bl"})
    shown = [int(i) for i in re.findall(r'data-pick-product="(\d+)"', found.text)]
    assert shown == [b.id for b in blocks[:10]]  # by title, at most 10
    assert "More match: type more to narrow." in found.text
    # A GTIN's first digits: the picker's GTIN index ranges, as on the detail page.
    by_gtin = client.get("/queue/products", params={"q": "590123"})
    assert re.findall(r'data-pick-product="(\d+)"', by_gtin.text) == [str(by_prefix.id)]
    assert "More match" not in by_gtin.text


def test_row_suggestions_answer_404_for_another_vendors_exception(
    client: TestClient, db: Session
) -> None:
    shop1, shop2 = two_shops(db)
    own = _line(db, shop1, "Wooden train", gtin="4006381333931")
    foreign = _line(db, shop2, "Riesling")
    product = make_product(db, vendor_id=shop1.id, title="Wooden train", gtin="4006381333931")
    commit_and_log_in(client, db)
    mine = client.get(f"/queue/suggestions/{own.id}")
    assert mine.status_code == 200
    assert f'data-pick-product="{product.id}"' in mine.text
    assert client.get(f"/queue/suggestions/{foreign.id}").status_code == 404
    assert row_count(db, OrderItemException) == 2
