"""``sandbox serve``: the Letzshop stand-in on a local port."""

from __future__ import annotations

from typing import Annotated, cast

import typer
import uvicorn

from ordergate.sandbox.faults import FAULT_MODES, FaultConfig, FaultMode
from ordergate.sandbox.schema_switch import SCHEMA_VARIANTS, SchemaConfig, SchemaVariant
from ordergate.sandbox.server import SandboxHandle, run_in_thread, uvicorn_config
from ordergate.sandbox.state import SandboxState

__all__ = ["SandboxHandle", "run_in_thread", "sandbox_app"]

sandbox_app = typer.Typer(help="The Letzshop sandbox: a local stand-in GraphQL server.")


@sandbox_app.callback()
def _group() -> None:
    """Keeps ``serve`` a subcommand even while it is the only one."""


@sandbox_app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8765,
    seed: Annotated[int, typer.Option(help="Generator seed: same seed, same shipments.")] = 0,
    shipments: Annotated[int, typer.Option(help="Generated shipments per vendor.")] = 40,
    fault: Annotated[
        str | None, typer.Option(help=f"Fault for every request: {', '.join(FAULT_MODES)}.")
    ] = None,
    latency_ms: Annotated[int, typer.Option(help="Latency added to every request.")] = 0,
    schema: Annotated[
        str, typer.Option(help=f"Schema served: {', '.join(SCHEMA_VARIANTS)}.")
    ] = "standard",
    introspection: Annotated[
        bool, typer.Option("--introspection/--no-introspection", help="Answer __schema/__type.")
    ] = True,
) -> None:
    """Serve the sandbox until interrupted."""
    if fault is not None and fault not in FAULT_MODES:
        raise typer.BadParameter(f"must be one of {', '.join(FAULT_MODES)}", param_hint="--fault")
    if schema not in SCHEMA_VARIANTS:
        raise typer.BadParameter(
            f"must be one of {', '.join(SCHEMA_VARIANTS)}", param_hint="--schema"
        )
    faults = FaultConfig(mode=cast(FaultMode | None, fault), latency_ms=latency_ms)
    switch = SchemaConfig(variant=cast(SchemaVariant, schema), introspection=introspection)
    state = SandboxState(seed=seed, shipments_per_vendor=shipments, faults=faults, schema=switch)
    typer.echo(f"Letzshop sandbox on http://{host}:{port}/graphql (seed {seed})")
    for api_key, vendor_ids in state.api_keys.items():
        typer.echo(f"  Authorization: Bearer {api_key}  ->  {', '.join(vendor_ids)}")
    uvicorn.Server(uvicorn_config(state, host, port)).run()
