"""The layering of src/ordergate, read from its `ast` (imports inside functions count too): the
domains form the DAG of docs/architecture.md, FastAPI stays in the web layer, and no endpoint
module (nor the dashboard) imports SQLAlchemy. Each test lists every violating (module, import)
pair."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import ordergate

ROOT = Path(ordergate.__file__).parent
# Domain → the domains it may import. Top-level (kit) modules may be imported by any domain,
# except FORBIDDEN_KIT outside endpoint modules.
ALLOWED: dict[str, set[str]] = {
    "vendors": set(),
    "auth": {"vendors"},
    "events": set(),
    "catalog": {"vendors", "events"},
    "orders": {"catalog", "vendors", "events"},
    "item_exceptions": {"orders", "catalog", "vendors", "events", "webhooks"},
    "letzshop": {"orders", "vendors", "catalog", "events", "webhooks"},
    "sandbox": set(),
    "jobs": {"letzshop", "item_exceptions", "orders", "vendors", "catalog", "events", "webhooks"},
    "webhooks": {"orders", "vendors"},
}
FORBIDDEN_KIT = {"deps", "app", "cli"}
FASTAPI_ALLOWED = {"app", "deps", "routing", "errors", "http_contract", "schemas"}


def imports() -> Iterator[tuple[str, Path, str]]:
    """(module, file, imported module) for every import statement under src/ordergate."""
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                yield from ((module, path, alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the module's package upwards
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                # `from ordergate import orders` imports the module ordergate.orders
                yield from ((module, path, f"{base}.{alias.name}") for alias in node.names)


def _part(name: str, index: int) -> str:
    parts = name.split(".")
    return parts[index] if len(parts) > index else ""


def test_domains_import_only_the_allowed_domains() -> None:
    assert ("ordergate.app", "ordergate.orders.endpoints") in {(m, t) for m, _, t in imports()}
    violations = []
    for module, path, target in imports():
        source, imported = _part(module, 1), _part(target, 1)
        if source not in ALLOWED or _part(target, 0) != "ordergate" or imported == source:
            continue
        if imported in ALLOWED and imported not in ALLOWED[source]:
            violations.append((module, target))
        elif source == "sandbox" and imported:
            violations.append((module, target))  # the sandbox imports nothing of ordergate
        elif imported in FORBIDDEN_KIT and path.name != "endpoints.py":
            violations.append((module, target))
    assert not violations, "imports outside the DAG:\n" + "\n".join(map(str, sorted(violations)))


def test_fastapi_only_in_the_web_layer_and_no_sqlalchemy_in_endpoints() -> None:
    violations = []
    for module, path, target in imports():
        top = target.split(".")[0]
        # The dashboard (ordergate.web) is web layer too, and like the endpoints reads and
        # writes only through the domains' services.
        is_endpoints = path.name == "endpoints.py" or _part(module, 1) == "web"
        web = is_endpoints or (module.count(".") == 1 and _part(module, 1) in FASTAPI_ALLOWED)
        if top == "fastapi" and not web:
            violations.append((module, target))
        if top == "sqlalchemy" and is_endpoints:
            violations.append((module, target))
    assert not violations, "web-layer imports out of place:\n" + "\n".join(
        map(str, sorted(violations))
    )
