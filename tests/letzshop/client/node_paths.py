"""Field paths in a shipment node, written as the parser names them: ``order.shipAddress.city``,
``inventoryUnits[0].variant.price``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

Path = tuple[str | int, ...]

_STEP = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def parse_path(text: str) -> Path:
    return tuple(key if key else int(index) for key, index in _STEP.findall(text))


def render(path: Path) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def put(node: dict[str, Any], text: str, value: Any) -> None:
    """Set the field at ``text``, creating missing objects on the way."""
    *parents, last = parse_path(text)
    target: Any = node
    for step in parents:
        if isinstance(step, str) and not isinstance(target.get(step), dict | list):
            target[step] = {}
        target = target[step]
    target[last] = value


def walk(value: Any, path: Path = ()) -> Iterator[Path]:
    """Every path below ``value``, parents before children."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for step, child in items:
        yield (*path, step)
        yield from walk(child, (*path, step))


def names_path(reason: str, path: Path) -> bool:
    """The reason's field (before the first ": ") is ``path``, inside it, or contains it."""
    named = parse_path(reason.split(": ", 1)[0])
    shorter = min(len(named), len(path))
    return named[:shorter] == path[:shorter]
