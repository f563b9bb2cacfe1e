"""An independent Letzshop stand-in for the contract check's tests: any SDL, served by plain
graphql-core (not the sandbox, not ariadne), introspection on or off, every call recorded.

Its default schema is the contract with five differences the check must name exactly
(``STANDIN_DIFFERENCES``)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from graphql import (
    GraphQLSchema,
    OperationDefinitionNode,
    build_schema,
    graphql,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import ordergate.letzshop

CONTRACT = (Path(ordergate.letzshop.__file__).parent / "contract.graphql").read_text()

# (before, after) in the contract's text
STANDIN_DIFFERENCES = (
    ("  locale: String\n", "  language: String\n"),  # Order.locale is gone
    (
        "shipments(state: ShipmentStateEnum, first: Int, after: String)",
        "shipments(state: ShipmentStateEnum, first: Int, cursor: String)",
    ),
    ("  returned\n}", "  returned\n  shipped\n}"),  # InventoryUnitStateEnum.shipped
    ("ConfirmInventoryUnitsInput", "InventoryUnitsConfirmationInput"),  # the input type renamed
    ("  code: String!\n  provider", "  code: String!\n  carrier: String!\n  provider"),
)


def standin_sdl() -> str:
    sdl = CONTRACT
    for before, after in STANDIN_DIFFERENCES:
        assert before in sdl, before
        sdl = sdl.replace(before, after)
    return sdl


@dataclass
class StandIn:
    schema: GraphQLSchema
    introspection: bool = True
    calls: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    _server: uvicorn.Server | None = None

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    def operation_types(self) -> list[str]:
        """Each call's operation type(s), as parsed from its query text."""
        kinds = []
        for call in self.calls:
            document = parse(call["query"])
            kinds += [
                d.operation.value
                for d in document.definitions
                if isinstance(d, OperationDefinitionNode)
            ]
        return kinds

    async def endpoint(self, request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        self.calls.append(
            {
                "query": body.get("query"),
                "operation_name": body.get("operationName"),
                "variables": body.get("variables"),
                "authorization": request.headers.get("authorization"),
            }
        )
        if not self.introspection:
            errors = validate(
                self.schema,
                parse(body["query"]),
                [*specified_rules, NoSchemaIntrospectionCustomRule],
            )
            if errors:
                return JSONResponse({"errors": [e.formatted for e in errors]})
        root = {"shipments": {"nodes": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}}
        result = await graphql(
            self.schema,
            body["query"],
            root_value=root,
            variable_values=body.get("variables"),
            operation_name=body.get("operationName"),
        )
        return JSONResponse(result.formatted)

    def start(self) -> StandIn:
        app = Starlette(routes=[Route("/graphql", self.endpoint, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        threading.Thread(target=self._server.run, daemon=True).start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "stand-in did not start"
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True


def make_standin(sdl: str | None = None) -> StandIn:
    return StandIn(build_schema(sdl or standin_sdl())).start()
