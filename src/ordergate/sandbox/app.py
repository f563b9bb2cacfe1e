"""The sandbox's HTTP face: ``POST /graphql`` plus a small JSON control API for tests.

Order of events for one ``/graphql`` request: latency, then the fault switch (a fault that
answers before execution ends the request: 5xx, 429, malformed JSON, GraphQL errors, auth
faults), then the API key, then execution. ``partial_errors`` and ``timeout`` act after
execution, so a mutation under them *is* applied: the client just cannot tell, as with a real
lost response.

Control API (JSON; errors are ``{"error": {"code", "message", "details"}}`` with 400/404):
- ``POST /control/faults`` ``{mode, count, retry_after, latency_ms, timeout_seconds, bad_key,
  mutations_only}``
  (see ``FaultConfig``); replaces the whole fault setting and echoes it. ``GET`` reads it.
- ``POST /control/reset``: generated shipments, construction-time faults, empty mutation log.
- ``POST /control/shipments`` ``{api_key, shipments: [node, ...], replace?: bool}``: adds the
  nodes for the key's first vendor → ``{vendor_id, added}``.
- ``GET /control/shipments[?api_key=]`` → ``{shipments: [{vendor_id, shipment}]}``.
- ``GET /control/mutations`` → ``{mutations: [{operation_name, fields, query, variables,
  api_key, fault, status_code, result}]}``, every mutation request in arrival order.
- ``POST /control/schema`` ``{variant: "standard"|"drifted", introspection: bool}`` (see
  ``SchemaConfig``); replaces the switch and echoes it. ``GET`` reads it. Reset restores the
  construction-time switch.
- ``GET /control/requests`` → ``{requests: [{operation_name, variables, fault, status_code,
  shipment_ids}]}``, every ``/graphql`` request in arrival order with the shipment ids it served.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from typing import Any

from ariadne import graphql
from graphql import FieldNode, GraphQLSyntaxError, OperationDefinitionNode, OperationType, parse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ordergate.sandbox.faults import (
    BadKeyStyle,
    FaultConfig,
    FaultConfigError,
    FaultMode,
    parse_fault_config,
)
from ordergate.sandbox.schema import SandboxContext, sandbox_schema
from ordergate.sandbox.schema_switch import SchemaConfigError, parse_schema_config
from ordergate.sandbox.state import SandboxState

# Non-null root fields: an error there nulls the whole of ``data``, as GraphQL prescribes.
_NON_NULL_ROOT_FIELDS = frozenset({"shipments"})
_MALFORMED_BODY = '{"data": {"shipments": {"nodes": [{"id": "v1-shp-0'


def create_sandbox_app(state: SandboxState) -> Starlette:
    app = Starlette(
        routes=[
            Route("/graphql", graphql_endpoint, methods=["POST"]),
            Route("/control/faults", set_faults, methods=["POST"]),
            Route("/control/faults", get_faults, methods=["GET"]),
            Route("/control/reset", reset, methods=["POST"]),
            Route("/control/schema", set_schema, methods=["POST"]),
            Route("/control/schema", get_schema, methods=["GET"]),
            Route("/control/shipments", add_shipments, methods=["POST"]),
            Route("/control/shipments", dump_shipments, methods=["GET"]),
            Route("/control/mutations", list_mutations, methods=["GET"]),
            Route("/control/requests", list_requests, methods=["GET"]),
        ]
    )
    app.state.sandbox = state
    return app


def _sandbox(request: Request) -> SandboxState:
    state = request.app.state.sandbox
    if not isinstance(state, SandboxState):
        raise TypeError("app.state.sandbox must be a SandboxState")
    return state


# -- /graphql ----------------------------------------------------------------------------------


async def graphql_endpoint(request: Request) -> Response:
    sandbox = _sandbox(request)
    faults = sandbox.faults
    if faults.latency_ms:
        await asyncio.sleep(faults.latency_ms / 1000)
    body = await _json_object(request)
    # Parsed only when it matters: the bench's sandbox serves thousands of pages.
    mutation = faults.mutations_only and _mutation_fields(body) is not None
    fault = sandbox.take_fault(mutation=mutation)
    api_key = _bearer_key(request)
    log = _RequestLog(sandbox, body, api_key, fault)

    early = _fault_response(fault, faults)
    if early is not None:
        return log.done(early, None)
    if body is None:
        return log.done(_errors_response("Request body must be a JSON object", status=400), None)
    vendor_ids = sandbox.vendors_for_key(api_key)
    if vendor_ids is None:
        return log.done(_auth_failure(faults.bad_key), None)

    context = SandboxContext(state=sandbox, vendor_ids=vendor_ids)
    switch = sandbox.schema
    _, result = await graphql(
        sandbox_schema(switch.variant),
        body,
        context_value=context,
        introspection=switch.introspection,
    )
    if fault == "partial_errors":
        result = _with_partial_errors(result)
    response = log.done(JSONResponse(result), result)
    if fault == "timeout":
        await asyncio.sleep(faults.timeout_seconds)
    return response


async def _json_object(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _bearer_key(request: Request) -> str | None:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return key.strip()


def _fault_response(fault: FaultMode | None, faults: FaultConfig) -> Response | None:
    """The answer for a fault that strikes before execution; None lets the request through."""
    if fault == "http_500":
        return _errors_response("Internal Server Error", status=500)
    if fault in ("http_502", "http_503"):
        # Gateways answer these, so the body is their HTML, not GraphQL JSON.
        status = 502 if fault == "http_502" else 503
        title = "502 Bad Gateway" if status == 502 else "503 Service Unavailable"
        html = f"<html><body><h1>{title}</h1></body></html>"
        return Response(html, status_code=status, media_type="text/html")
    if fault == "rate_limit":
        response = _errors_response("Too many requests", status=429)
        response.headers["Retry-After"] = _retry_after(faults.retry_after)
        return response
    if fault == "malformed_json":
        return Response(_MALFORMED_BODY, status_code=200, media_type="application/json")
    if fault == "graphql_errors":
        return JSONResponse(
            {"data": None, "errors": [_error("Internal server error", "INTERNAL_SERVER_ERROR")]}
        )
    if fault == "auth_401":
        return _auth_failure("http_401")
    if fault == "auth_errors":
        return _auth_failure("graphql_errors")
    return None


def _retry_after(seconds: float) -> str:
    # Whole seconds as HTTP defines them; fractions pass through so tests can stay fast.
    return str(int(seconds)) if seconds == int(seconds) else f"{seconds:g}"


def _auth_failure(style: BadKeyStyle) -> Response:
    if style == "http_401":
        response = _errors_response("Unauthorized: invalid or missing API key", status=401)
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    return JSONResponse({"data": None, "errors": [_error("Invalid API key", "UNAUTHENTICATED")]})


def _error(message: str, code: str) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code}}


def _errors_response(message: str, *, status: int) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message}]}, status_code=status)


def _with_partial_errors(result: dict[str, Any]) -> dict[str, Any]:
    """Null the first shipment node (or the first root field) and say so in ``errors``."""
    data = result.get("data")
    if not isinstance(data, dict) or not data:
        return result
    field, value = next(iter(data.items()))
    nodes = value.get("nodes") if isinstance(value, dict) else None
    error = _error("Internal error while resolving this field", "INTERNAL_SERVER_ERROR")
    if isinstance(nodes, list) and nodes:
        nodes[0] = None
        for edge in value.get("edges") or []:
            edge["node"] = None
            break
        error["path"] = [field, "nodes", 0]
    else:
        error["path"] = [field]
        if field in _NON_NULL_ROOT_FIELDS:
            result["data"] = None
        else:
            data[field] = None
    result["errors"] = [*(result.get("errors") or []), error]
    return result


class _RequestLog:
    """Records every request in the request log, and mutations also in the mutation log."""

    def __init__(
        self,
        sandbox: SandboxState,
        body: dict[str, Any] | None,
        api_key: str | None,
        fault: FaultMode | None,
    ) -> None:
        self.sandbox = sandbox
        self.body = body
        self.api_key = api_key
        self.fault = fault
        self.fields = _mutation_fields(body)

    def done(self, response: Response, result: dict[str, Any] | None) -> Response:
        self.sandbox.record_request(
            {
                "operation_name": self.body.get("operationName") if self.body else None,
                "variables": self.body.get("variables") if self.body else None,
                "fault": self.fault,
                "status_code": response.status_code,
                "shipment_ids": _served_shipment_ids(result),
            }
        )
        if self.fields is not None and self.body is not None:
            self.sandbox.record_mutation(
                {
                    "operation_name": self.body.get("operationName"),
                    "fields": self.fields,
                    "query": self.body.get("query"),
                    "variables": self.body.get("variables"),
                    "api_key": self.api_key,
                    "fault": self.fault,
                    "status_code": response.status_code,
                    "result": result,
                }
            )
        return response


def _served_shipment_ids(result: dict[str, Any] | None) -> list[str]:
    data = result.get("data") if result else None
    connection = data.get("shipments") if isinstance(data, dict) else None
    nodes = connection.get("nodes") if isinstance(connection, dict) else None
    return [node["id"] for node in nodes or [] if isinstance(node, dict) and "id" in node]


def _mutation_fields(body: dict[str, Any] | None) -> list[str] | None:
    """Root field names when the requested operation is a mutation, else None."""
    query = body.get("query") if body else None
    if not isinstance(query, str):
        return None
    try:
        document = parse(query)
    except GraphQLSyntaxError:
        return None
    operation = _chosen_operation(document.definitions, body.get("operationName") if body else None)
    if operation is None or operation.operation != OperationType.MUTATION:
        return None
    selections = operation.selection_set.selections
    return [selection.name.value for selection in selections if isinstance(selection, FieldNode)]


def _chosen_operation(definitions: Any, name: Any) -> OperationDefinitionNode | None:
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((op for op in operations if op.name and op.name.value == name), None)


# -- /control ----------------------------------------------------------------------------------


async def set_faults(request: Request) -> Response:
    try:
        faults = parse_fault_config(await _json_object(request))
    except FaultConfigError as error:
        return _control_error("invalid_faults", str(error))
    _sandbox(request).set_faults(faults)
    return JSONResponse(asdict(faults))


async def get_faults(request: Request) -> Response:
    return JSONResponse(asdict(_sandbox(request).faults))


async def set_schema(request: Request) -> Response:
    try:
        switch = parse_schema_config(await _json_object(request))
    except SchemaConfigError as error:
        return _control_error("invalid_schema", str(error))
    _sandbox(request).set_schema(switch)
    return JSONResponse(asdict(switch))


async def get_schema(request: Request) -> Response:
    return JSONResponse(asdict(_sandbox(request).schema))


async def reset(request: Request) -> Response:
    _sandbox(request).reset()
    return JSONResponse({"reset": True})


async def add_shipments(request: Request) -> Response:
    sandbox = _sandbox(request)
    body = await _control_body(request)
    vendor_ids = sandbox.vendors_for_key(body.get("api_key"))
    shipments = body.get("shipments")
    if not vendor_ids:
        return _control_error("unknown_api_key", "api_key covers no sandbox vendor", status=404)
    if not isinstance(shipments, list) or not all(isinstance(s, dict) for s in shipments):
        return _control_error("invalid_shipments", "shipments must be a list of objects")
    added = sandbox.add_shipments(vendor_ids[0], shipments, replace=bool(body.get("replace")))
    return JSONResponse({"vendor_id": vendor_ids[0], "added": added})


async def dump_shipments(request: Request) -> Response:
    sandbox = _sandbox(request)
    api_key = request.query_params.get("api_key")
    vendor_ids = sandbox.vendors_for_key(api_key) if api_key is not None else None
    if api_key is not None and vendor_ids is None:
        return _control_error("unknown_api_key", "api_key covers no sandbox vendor", status=404)
    return JSONResponse({"shipments": sandbox.dump(vendor_ids)})


async def list_mutations(request: Request) -> Response:
    return JSONResponse({"mutations": _sandbox(request).mutations()})


async def list_requests(request: Request) -> Response:
    return JSONResponse({"requests": _sandbox(request).requests()})


async def _control_body(request: Request) -> dict[str, Any]:
    body = await _json_object(request)
    return body if body is not None else {}


def _control_error(code: str, message: str, *, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "details": {}}}, status)
