"""Who acts, over which vendor's data: the one value every service and repository is scoped by.

The web layer builds a `Scope` per request (`deps.py`: one dependency per kind of route and
tree), the dashboard builds the same from its cookie session, and the CLI and jobs build one for
the system. Repositories apply it with `scoped()`, so no query spells the vendor filter itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement
from sqlalchemy.sql import Select

S = TypeVar("S", bound=Select[Any])


@dataclass(frozen=True, slots=True)
class Scope:
    """`vendor_id` None: every vendor's data (an admin's view)."""

    actor_user_id: int | None
    vendor_id: int | None
    is_admin: bool = False
    role: str | None = None  # the actor's role in `vendor_id`: "owner" or "staff"


@dataclass(frozen=True, slots=True)
class VendorScope(Scope):
    """One vendor's data, for an admin acting on it or for that vendor's own staff."""

    vendor_id: int


def vendor_filter(scope: Scope, vendor_column: Any) -> list[ColumnElement[bool]]:
    """The scope's condition on a vendor column: none for every vendor."""
    return [] if scope.vendor_id is None else [vendor_column == scope.vendor_id]


def scoped(statement: S, scope: Scope, vendor_column: Any) -> S:
    """`statement` limited to the scope's vendor (Polar's readable statement)."""
    return statement.where(*vendor_filter(scope, vendor_column))
