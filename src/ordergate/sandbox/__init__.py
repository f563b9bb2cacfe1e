"""The Letzshop sandbox: our own stand-in for the Letzshop vendor GraphQL API.

Letzshop has no sandbox (its playground mutates real orders), so development, demos, tests and
benchmarks run against this one. See ``docs/letzshop-api.md`` for the contract it follows.
"""

from ordergate.sandbox.app import create_sandbox_app
from ordergate.sandbox.catalog import Article, duplicate_gtins, sandbox_catalog
from ordergate.sandbox.faults import FAULT_MODES, FaultConfig, FaultMode
from ordergate.sandbox.generator import (
    DirtMix,
    GeneratedShipments,
    LineKind,
    generate_dataset,
    generate_shipments,
)
from ordergate.sandbox.pages import SHIPMENTS_QUERY, iter_shipment_pages, shipments_page_json
from ordergate.sandbox.schema import DRIFTS, schema_sdl
from ordergate.sandbox.schema_switch import SCHEMA_VARIANTS, SchemaConfig, SchemaVariant
from ordergate.sandbox.server import SandboxHandle, run_in_thread
from ordergate.sandbox.state import DEFAULT_API_KEYS, MAX_PAGE_SIZE, SandboxState

__all__ = [
    "DEFAULT_API_KEYS",
    "DRIFTS",
    "FAULT_MODES",
    "MAX_PAGE_SIZE",
    "SCHEMA_VARIANTS",
    "SHIPMENTS_QUERY",
    "Article",
    "DirtMix",
    "FaultConfig",
    "FaultMode",
    "GeneratedShipments",
    "LineKind",
    "SandboxHandle",
    "SandboxState",
    "SchemaConfig",
    "SchemaVariant",
    "create_sandbox_app",
    "duplicate_gtins",
    "generate_dataset",
    "generate_shipments",
    "iter_shipment_pages",
    "run_in_thread",
    "sandbox_catalog",
    "schema_sdl",
    "shipments_page_json",
]
