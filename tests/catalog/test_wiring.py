"""Products added to a catalog resolve the exceptions waiting for them on every path.

The catalog cannot import the exception workflow (it sits below it), so its write use cases
take the matching as a required keyword argument. This lists every caller in `src/` and
`bench/`: a new caller fails here until it is added, with the real matching passed in."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "src" / "ordergate" / "catalog"
# The catalog's write use cases and the keyword that carries the matching into each.
WRITES = {
    "create_product": "after_products_added",
    "add_products": "after_products_added",
    "run_copy_to_catalog": "matching",
}
# (file, use case, what is passed): the real implementation, from item_exceptions.matching.
CALLERS = {
    ("src/ordergate/catalog/endpoints.py", "run_copy_to_catalog", "GTIN_MATCHING"),
    ("src/ordergate/catalog/endpoints.py", "create_product", "AUTO_MATCH"),
    ("src/ordergate/web/catalog_pages.py", "run_copy_to_catalog", "GTIN_MATCHING"),
    ("src/ordergate/catalog/service.py", "add_products", "after_products_added"),
    ("src/ordergate/demo.py", "add_products", "auto_match_products"),
    ("bench/auto_match.py", "run_copy_to_catalog", "GtinMatching(...)"),
    # create-product from an exception: resolves it by hand, then calls the AUTO_MATCH the
    # endpoint passed (tests/item_exceptions/test_actions_create_product.py)
    ("src/ordergate/item_exceptions/actions.py", "add_products", "resolve_then_match"),
}


def _passed(value: ast.expr) -> str:
    if isinstance(value, ast.Call):
        return f"{ast.unparse(value.func)}(...)"
    return ast.unparse(value)


def _calls() -> set[tuple[str, str, str]]:
    found = set()
    files = [*(ROOT / "src").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name not in WRITES:
                continue
            passed = [_passed(k.value) for k in node.keywords if k.arg == WRITES[name]]
            found.add((str(path.relative_to(ROOT)), name, passed[0] if passed else "NOTHING"))
    return found


def test_every_catalog_write_is_handed_the_matching() -> None:
    assert _calls() == CALLERS


def test_the_endpoints_hand_over_item_exceptions_matching() -> None:
    # The web layer's composition root (deps.py) holds the wiring the endpoints pass.
    from ordergate.deps import AUTO_MATCH, GTIN_MATCHING
    from ordergate.item_exceptions import matching

    assert AUTO_MATCH is matching.auto_match_products
    assert (GTIN_MATCHING.pending, GTIN_MATCHING.match, GTIN_MATCHING.batch_size) == (
        matching.pending_gtins,
        matching.match_gtins,
        matching.CHUNK_SIZE,
    )


def test_below_the_wiring_the_catalog_does_not_import_item_exceptions() -> None:
    importers = []
    for path in sorted(CATALOG.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            modules = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if any(m.startswith("ordergate.item_exceptions") for m in modules):
                importers.append(path.name)
    assert importers == []
