"""The read-only contract check: do ordergate's GraphQL texts fit the vendor's Letzshop?

``run_check`` sends, with the vendor's stored key, only queries (``LetzshopClient.read``
refuses anything else before a byte leaves):

1. the standard introspection query (``__schema``: query and mutation fields with their
   arguments, and every type with its fields, input fields and enum values, so it answers what
   a ``__type`` per type would), turned into a schema with ``graphql.build_client_schema`` and
   compared with the contract by ``contract.compare``;
2. one ``shipments(state: unconfirmed, first: 1)`` with every field the import reads: the
   texts' last word, and the only one when the service refuses introspection (then its errors
   are the mismatches, the same query with ``state: confirmed`` tries the other value the
   import sends, and the mutations cannot be verified).

The report is stored on the vendor's credentials (``last_check_*``) and returned. While the
last check found a mismatch in the confirmation mutation, ``ensure_confirmation_allowed``
refuses confirm and decline (they are the same mutation) with ``LETZSHOP_CHECK_MISMATCH``;
imports are not affected. A check that could not reach Letzshop records nothing.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from graphql import GraphQLError, GraphQLSchema, build_client_schema, get_introspection_query
from sqlalchemy.orm import Session, sessionmaker

from ordergate.config import Settings
from ordergate.db import utcnow
from ordergate.letzshop import repository
from ordergate.letzshop.client import LetzshopClient, QueryAnswer
from ordergate.letzshop.connection import open_client, upstream_error
from ordergate.letzshop.contract import (
    CONFIRMATION_OPERATION,
    Comparison,
    Mismatch,
    compare,
    probe_findings,
)
from ordergate.letzshop.credentials import connection_for, get_credentials
from ordergate.letzshop.errors import LetzshopCheckMismatchError, LetzshopError
from ordergate.letzshop.graphql import (
    SHIPMENTS_OPERATION,
    SHIPMENTS_QUERY,
    Connection,
    shipments_variables,
)
from ordergate.letzshop.models import CheckStatus, SyncState
from ordergate.scope import VendorScope
from ordergate.security import SecretBox

logger = logging.getLogger(__name__)

INTROSPECTION_OPERATION = "IntrospectionQuery"  # the name get_introspection_query gives it
INTROSPECTION_QUERY = get_introspection_query(descriptions=True)
PROBE_FIRST = 1
_PAGE_LIMIT = re.compile(
    r"(?:max(?:imum)?|clamp(?:ed)?|limit(?:ed)?|at most|up to|cap(?:ped)?)\D{0,25}?(\d{1,6})",
    re.IGNORECASE,
)


class CheckMode(StrEnum):
    INTROSPECTION = "introspection"  # the schema was read and compared
    PROBE_ONLY = "probe_only"  # introspection refused: only the shipments query was tried


@dataclass(slots=True)
class CheckReport:
    """What one check found; ``as_json()`` is what the API returns and the database keeps."""

    vendor_id: int
    endpoint: str
    checked_at: datetime
    mode: CheckMode
    mismatches: list[Mismatch]
    introspection_error: str | None = None
    scalars: list[dict[str, Any]] = field(default_factory=list)
    page_size: dict[str, Any] = field(default_factory=dict)
    probe: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> CheckStatus:
        return CheckStatus.MISMATCH if self.mismatches else CheckStatus.OK

    @property
    def blocks_confirmation(self) -> bool:
        return any(CONFIRMATION_OPERATION in m.operations for m in self.mismatches)

    def summary(self) -> list[str]:
        """The report in plain words, one line each."""
        lines = []
        if self.mode == CheckMode.PROBE_ONLY:
            lines.append(
                "Introspection is disabled by the service"
                + (f" ({self.introspection_error})" if self.introspection_error else "")
                + ": only the import's shipments(first: 1) query was checked; the confirmation "
                "and tracking mutations could not be verified (none is ever sent by a check)"
            )
        if not self.mismatches:
            lines.append(
                "OK: every field, argument, input and enum value ordergate uses fits the service"
                if self.mode == CheckMode.INTROSPECTION
                else "OK: the shipments query with every field the import reads was accepted"
            )
        lines.extend(m.message for m in self.mismatches)
        if self.blocks_confirmation:
            lines.append(
                "Confirmations (confirm and decline) are refused until a check passes; imports "
                "go on"
            )
        hint = self.page_size.get("hint")
        if hint:
            lines.append(hint)
        return lines

    def as_json(self) -> dict[str, Any]:
        return {
            "vendor_id": self.vendor_id,
            "endpoint": self.endpoint,
            # As the API spells datetimes (pydantic: UTC as "Z"), so stored and answered agree.
            "checked_at": self.checked_at.isoformat().replace("+00:00", "Z"),
            "status": self.status.value,
            "mode": self.mode.value,
            "introspection": {
                "available": self.mode == CheckMode.INTROSPECTION,
                "error": self.introspection_error,
            },
            "confirmation_verified": self.mode == CheckMode.INTROSPECTION,
            "blocks_confirmation": self.blocks_confirmation,
            "summary": self.summary(),
            "mismatches": [m.as_json() for m in self.mismatches],
            "scalars": self.scalars,
            "page_size": self.page_size,
            "probe": self.probe,
        }


# --- the check ----------------------------------------------------------------------------------


def run_check(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    box: SecretBox,
    scope: VendorScope,
) -> dict[str, Any]:
    """Check the vendor's Letzshop with its stored key and record the report (a job runner: no
    transaction is open while Letzshop is asked). 400/409 without usable credentials, 502 when
    Letzshop cannot be reached or refuses the key (nothing is recorded then)."""
    with session_factory() as session:
        connection = connection_for(session, scope=scope, box=box)
    try:
        with open_client(connection, settings) as client:
            report = inspect_service(
                client,
                vendor_id=scope.vendor_id,
                endpoint=connection.endpoint,
                page_size=settings.letzshop_page_size,
            )
    except LetzshopError as exc:
        raise upstream_error(scope.vendor_id, exc) from exc
    result = report.as_json()
    with session_factory() as session:
        repository.record_check(
            session,
            scope,
            {
                "last_check_at": report.checked_at,
                "last_check_status": report.status.value,
                "last_check_blocks_confirmation": report.blocks_confirmation,
                "last_check_result": result,
            },
        )
        session.commit()
    return result


def inspect_service(
    client: LetzshopClient, *, vendor_id: int, endpoint: str, page_size: int
) -> CheckReport:
    """Ask the service (read-only) and compare; no database."""
    checked_at = utcnow()
    introspected = client.read(INTROSPECTION_OPERATION, INTROSPECTION_QUERY, {})
    schema, refusal = _schema_of(introspected)
    probe_answer = _probe(client, SyncState.UNCONFIRMED)
    probe = _probe_summary(probe_answer, SyncState.UNCONFIRMED)
    if schema is None:
        # Without a schema, the other state the import sends is tried too (reconciling reads
        # the confirmed list): as harmless as the first.
        confirmed_answer = _probe(client, SyncState.CONFIRMED)
        confirmed = _probe_summary(confirmed_answer, SyncState.CONFIRMED)
        mismatches = probe_findings(probe_answer.errors, query=probe["query"])
        known = {m.subject for m in mismatches}
        mismatches += [
            m
            for m in probe_findings(confirmed_answer.errors, query=confirmed["query"])
            if m.subject not in known
        ]
        return CheckReport(
            vendor_id=vendor_id,
            endpoint=endpoint,
            checked_at=checked_at,
            mode=CheckMode.PROBE_ONLY,
            mismatches=mismatches,
            introspection_error=refusal,
            scalars=_observed_scalars(probe),
            page_size={"configured": page_size, "hint": None},
            probe={**probe, "also": [confirmed]},
        )
    comparison = compare(schema)
    mismatches = comparison.mismatches
    import_found = any(SHIPMENTS_OPERATION in m.operations for m in mismatches)
    if probe_answer.errors and not import_found:
        # The schema says the query fits, yet the service refused it: report its words.
        mismatches = [*mismatches, *probe_findings(probe_answer.errors, query=probe["query"])]
    return CheckReport(
        vendor_id=vendor_id,
        endpoint=endpoint,
        checked_at=checked_at,
        mode=CheckMode.INTROSPECTION,
        mismatches=mismatches,
        scalars=_declared_scalars(comparison, probe),
        page_size=_page_size_hints(schema, page_size),
        probe=probe,
    )


def _schema_of(answer: QueryAnswer) -> tuple[GraphQLSchema | None, str | None]:
    """The service's schema, or None and why it could not be had."""
    data = answer.data or {}
    if not isinstance(data.get("__schema"), dict):
        messages = "; ".join(e.message for e in answer.errors)
        return None, messages or "the answer held no __schema"
    try:
        return build_client_schema(data), None  # type: ignore[arg-type]
    except (GraphQLError, TypeError, KeyError, ValueError, AttributeError) as exc:
        logger.warning("introspection answer unusable: %s", exc)
        return None, f"the introspection answer could not be read ({exc})"


def _probe(client: LetzshopClient, state: SyncState) -> QueryAnswer:
    variables = shipments_variables(state.value, PROBE_FIRST, None)
    return client.read(SHIPMENTS_OPERATION, SHIPMENTS_QUERY, variables)


def _probe_summary(answer: QueryAnswer, state: SyncState) -> dict[str, Any]:
    data = answer.data or {}
    connection = data.get(Connection.ROOT) if isinstance(data, dict) else None
    nodes = connection.get(Connection.NODES) if isinstance(connection, dict) else None
    first = nodes[0] if isinstance(nodes, list) and nodes and isinstance(nodes[0], dict) else None
    return {
        "query": f"shipments(state: {state.value}, first: {PROBE_FIRST})",
        "ok": not answer.errors and isinstance(connection, dict),
        "shipments_returned": len(nodes) if isinstance(nodes, list) else 0,
        "errors": [e.message for e in answer.errors],
        "observed": _observed(first),
    }


def _observed(node: dict[str, Any] | None) -> dict[str, str]:
    """The JSON kind of the amounts in the shipment returned (number or string)."""
    if node is None:
        return {}
    order = node.get("order") if isinstance(node.get("order"), dict) else {}
    units = node.get("inventoryUnits") if isinstance(node.get("inventoryUnits"), list) else []
    unit = units[0] if units and isinstance(units[0], dict) else {}
    variant = unit.get("variant") if isinstance(unit.get("variant"), dict) else {}
    found = {}
    for where, holder, name in (
        ("shipments.nodes.order.total", order, "total"),
        ("shipments.nodes.inventoryUnits.variant.price", variant, "price"),
    ):
        if holder and name in holder:
            found[where] = _json_kind(holder[name])
    return found


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def _declared_scalars(comparison: Comparison, probe: dict[str, Any]) -> list[dict[str, Any]]:
    observed = probe.get("observed", {})
    return [
        {**scalar.as_json(), "observed": observed.get(scalar.where)}
        for scalar in comparison.scalars
    ]


def _observed_scalars(probe: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"where": where, "field": None, "contract": None, "service": None, "observed": kind}
        for where, kind in probe.get("observed", {}).items()
    ]


def _page_size_hints(schema: GraphQLSchema, configured: int) -> dict[str, Any]:
    """What the service says about ``shipments`` page sizes (descriptions, ``first``'s
    default), if anything."""
    root = schema.query_type
    shipments = root.fields.get(Connection.ROOT) if root else None
    if shipments is None:
        return {"configured": configured, "hint": None}
    first = shipments.args.get("first")
    texts = [shipments.description or "", (first.description or "") if first else ""]
    limits = [int(m.group(1)) for text in texts for m in _PAGE_LIMIT.finditer(text)]
    default = first.default_value if first is not None else None
    maximum = max(limits) if limits else None
    hint = None
    if maximum is not None and configured > maximum:
        hint = (
            f"ORDERGATE_LETZSHOP_PAGE_SIZE is {configured} but the service says it returns at "
            f"most {maximum} shipments per page: the import still walks every page, in more "
            "requests than planned"
        )
    return {
        "configured": configured,
        "max_declared": maximum,
        "first_default": default if isinstance(default, int) else None,
        "descriptions": [t for t in texts if t],
        "hint": hint,
    }


# --- the gate -----------------------------------------------------------------------------------


def ensure_confirmation_allowed(session: Session, *, scope: VendorScope) -> None:
    """Refuse to send confirmInventoryUnits (confirm and decline) while the vendor's last
    check found the confirmation mutation unfit. Never checked, or passed: allowed."""
    credentials = get_credentials(session, scope=scope)
    if not credentials.last_check_blocks_confirmation:
        return
    result = credentials.last_check_result or {}
    problems = [
        str(m.get("message"))
        for m in result.get("mismatches", [])
        if isinstance(m, dict) and CONFIRMATION_OPERATION in (m.get("operations") or [])
    ]
    raise LetzshopCheckMismatchError(
        vendor_id=scope.vendor_id, checked_at=credentials.last_check_at, problems=problems
    )
