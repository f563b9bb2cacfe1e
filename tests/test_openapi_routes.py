"""The API's route set is a contract: the (method, path) pairs in the OpenAPI document are
exactly those in `tests/data/openapi_routes.txt`. A refactor that loses or adds a route fails
here; a deliberate change updates the file in the same commit."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

SNAPSHOT = Path(__file__).parent / "data" / "openapi_routes.txt"


def routes(app: FastAPI) -> list[str]:
    paths = app.openapi()["paths"]
    return sorted(f"{method.upper()} {path}" for path, item in paths.items() for method in item)


def test_the_openapi_route_set_is_the_snapshot(app: FastAPI) -> None:
    expected = SNAPSHOT.read_text().split("\n")[:-1]
    actual = routes(app)
    assert [r for r in expected if r not in actual] == [], "routes lost"
    assert [r for r in actual if r not in expected] == [], "routes added"
    assert actual == expected
