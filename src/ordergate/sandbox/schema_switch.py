"""The schema switch: which SDL ``/graphql`` serves, and whether it answers introspection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

SchemaVariant = Literal["standard", "drifted"]
SCHEMA_VARIANTS: tuple[str, ...] = get_args(SchemaVariant)


@dataclass(frozen=True, slots=True)
class SchemaConfig:
    """``variant``: ``standard`` (``schema.graphql``) or ``drifted`` (see ``schema.DRIFTS``).
    ``introspection``: False refuses ``__schema`` and ``__type`` as a service with introspection
    disabled does (a validation error, no data)."""

    variant: SchemaVariant = "standard"
    introspection: bool = True


class SchemaConfigError(ValueError):
    """The control endpoint got a schema switch it cannot use."""


def parse_schema_config(body: Any) -> SchemaConfig:
    """A ``SchemaConfig`` from the JSON body of ``POST /control/schema``."""
    if not isinstance(body, dict):
        raise SchemaConfigError("body must be a JSON object")
    unknown = set(body) - set(SchemaConfig.__dataclass_fields__)
    if unknown:
        raise SchemaConfigError(f"unknown fields: {sorted(unknown)}")
    variant = body.get("variant", "standard")
    if variant not in SCHEMA_VARIANTS:
        raise SchemaConfigError(f"variant must be one of {list(SCHEMA_VARIANTS)}, not {variant!r}")
    introspection = body.get("introspection", True)
    if not isinstance(introspection, bool):
        raise SchemaConfigError("introspection must be true or false")
    return SchemaConfig(variant=variant, introspection=introspection)
