"""The shipment digest (``Shipment.digest``, stored as ``orders.content_hash``): the same node,
the same digest; any field changed, another."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ordergate.letzshop.parse import parse_shipment
from ordergate.letzshop.types import Shipment

from .node_paths import Path, render, walk


def _digest(node: dict[str, Any]) -> str | None:
    parsed = parse_shipment(node)
    assert isinstance(parsed, Shipment), parsed
    return parsed.digest


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return f"{value}x"
    return "x" if value is None else None


def _leaves(node: dict[str, Any]) -> list[Path]:
    def at(path: Path) -> Any:
        value: Any = node
        for step in path:
            value = value[step]
        return value

    return [path for path in walk(node) if not isinstance(at(path), dict | list)]


def _set(node: dict[str, Any], path: Path, value: Any) -> None:
    target: Any = node
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


def test_same_node_same_digest(clean_node: dict[str, Any]) -> None:
    first = _digest(clean_node)
    assert first is not None
    assert _digest(copy.deepcopy(clean_node)) == first


def test_every_field_changes_the_digest(clean_node: dict[str, Any]) -> None:
    original = _digest(clean_node)
    leaves = _leaves(clean_node)
    assert len(leaves) > 20  # the node's ids, states, order, addresses, variants, prices
    for path in leaves:
        node = copy.deepcopy(clean_node)
        target: Any = node
        for step in path:
            target = target[step]
        _set(node, path, _changed(target))
        parsed = parse_shipment(node)
        if not isinstance(parsed, Shipment):
            continue  # the change made the node unusable: it fails, nothing is stored
        assert parsed.digest != original, render(path)


@pytest.mark.parametrize("field", ["state", "id"])
def test_a_unit_field_changes_the_digest(clean_node: dict[str, Any], field: str) -> None:
    node = copy.deepcopy(clean_node)
    node["inventoryUnits"][0][field] = f"{node['inventoryUnits'][0][field]}-2"
    assert _digest(node) != _digest(clean_node)
