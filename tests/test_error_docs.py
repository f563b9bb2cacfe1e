"""docs/errors.md documents every error the app can answer: each (HTTP status, code) of every
`AppError` subclass (all ordergate modules imported, subclasses walked recursively) is in one of
its tables, and every code the tables name exists in the source (an `AppError` subclass, or a
handler's literal such as VALIDATION_ERROR)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import ordergate
from ordergate.errors import AppError

DOC = Path(__file__).parents[1] / "docs" / "errors.md"
_CODE = re.compile(r"`([A-Z][A-Z0-9_]+)`")


def app_errors() -> set[type[AppError]]:
    for module in pkgutil.walk_packages(ordergate.__path__, "ordergate."):
        if ".migrations" not in module.name:  # alembic scripts run only under alembic
            importlib.import_module(module.name)
    found: set[type[AppError]] = set()
    todo = [AppError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def documented() -> set[tuple[int, str]]:
    """(status, code) of every table row: the HTTP cell, then the codes of the next cell."""
    pairs = set()
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = (
            [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        )
        for i, cell in enumerate(cells[:-1]):
            if re.fullmatch(r"\d{3}", cell):
                pairs.update((int(cell), code) for code in _CODE.findall(cells[i + 1]))
    return pairs


def source_literals() -> set[str]:
    root = Path(ordergate.__file__).parent
    return {
        node.value
        for path in root.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def test_every_app_error_is_documented() -> None:
    errors = app_errors()
    assert len(errors) > 30  # the walk found the domains' errors
    docs = documented()
    missing = sorted(
        (cls.status_code, cls.code, f"{cls.__module__}.{cls.__qualname__}")
        for cls in errors
        if (cls.status_code, cls.code) not in docs
    )
    assert missing == [], "AppError (status, code) pairs not in docs/errors.md:\n" + "\n".join(
        map(str, missing)
    )


def test_every_documented_code_exists() -> None:
    codes = {code for _, code in documented()}
    known = {cls.code for cls in app_errors()} | source_literals()
    unknown = sorted(codes - known)
    assert unknown == [], f"codes in docs/errors.md that nothing answers: {unknown}"
