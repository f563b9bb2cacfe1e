"""Synchronous client for the Letzshop vendor GraphQL API.

Retries (429, 5xx, timeouts, dropped connections, unreadable bodies) run through ``tenacity`` with
bounded exponential backoff plus jitter; a ``Retry-After`` header is a floor on the wait, capped so
a hostile value cannot stall an import.

``confirmInventoryUnits`` is never resent blindly: when an attempt fails in a way that may have
reached Letzshop (timeout, dropped connection, 5xx, unreadable answer), the shipment's units are
read back first; units Letzshop has decided are reported as accepted with their state (and named
in ``reconciled``), and only the still undecided ones are sent again. ``setShipmentTracking``
overwrites the same code with the same code, so repeating it is harmless.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx
import orjson
from graphql import GraphQLSyntaxError, OperationDefinitionNode, OperationType, parse
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from ordergate.letzshop.errors import (
    LetzshopAuthError,
    LetzshopError,
    LetzshopGraphQLError,
    LetzshopProtocolError,
    LetzshopUnavailableError,
)
from ordergate.letzshop.graphql import (
    CONFIRM_UNITS_MUTATION,
    CONFIRM_UNITS_OPERATION,
    SET_TRACKING_MUTATION,
    SET_TRACKING_OPERATION,
    SHIPMENT_UNITS_OPERATION,
    SHIPMENT_UNITS_QUERY,
    SHIPMENTS_OPERATION,
    SHIPMENTS_QUERY,
    ConfirmFields,
    Connection,
    Envelope,
    ShipmentUnitsFields,
    TrackingMutationFields,
    confirm_units_variables,
    set_tracking_variables,
    shipment_units_variables,
    shipments_variables,
)
from ordergate.letzshop.parse import (
    GraphQLErrorItem,
    parse_confirm_payload,
    parse_graphql_errors,
    parse_shipment_page,
    parse_tracking_payload,
)
from ordergate.letzshop.types import ConfirmResult, ShipmentPage, TrackingResult, UnitResult
from ordergate.orders.models import UnitState
from ordergate.outbound import GuardedTransport, OutboundPolicy, OutboundRefusedError

logger = logging.getLogger(__name__)

# One text for every way an endpoint can fail to be Letzshop (closed port, timeout, an HTML page,
# a redirect, a refused address), so an error never tells what answered; ``detail`` does, in logs.
UNAVAILABLE_MESSAGE = "Letzshop could not be reached or did not answer as expected"
AUTH_MESSAGE = "Letzshop refused the API key"

_AUTH_STATUSES = frozenset({401, 403})
_AUTH_CODES = frozenset({"UNAUTHENTICATED", "UNAUTHORIZED", "FORBIDDEN"})
_AUTH_WORDS = (
    "unauthorized",
    "unauthorised",
    "unauthenticated",
    "authentication",
    "not authorized",
    "invalid api key",
    "access denied",
    "forbidden",
)
_UNDECIDED = UnitState.UNCONFIRMED
_T = TypeVar("_T")
# A Retry-After above backoff_max times this is treated as hostile or broken and cut down.
_RETRY_AFTER_CAP_FACTOR = 4


class _RetryableError(Exception):
    """A failure worth another attempt; turned into a public error once attempts run out."""

    def __init__(
        self, reason: str, *, retry_after: float | None = None, malformed: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.malformed = malformed

    def give_up(self, attempts: int) -> LetzshopError:
        detail = f"{self.reason} after {attempts} attempts"
        # A body that stays unreadable is a protocol problem, not an outage.
        if self.malformed:
            return LetzshopProtocolError(UNAVAILABLE_MESSAGE, detail=detail)
        return LetzshopUnavailableError(
            UNAVAILABLE_MESSAGE, detail=detail, last_reason=self.reason, attempts=attempts
        )


@dataclass(frozen=True, slots=True)
class _Response:
    data: dict[str, Any] | None
    errors: list[GraphQLErrorItem]


@dataclass(frozen=True, slots=True)
class QueryAnswer:
    """A read-only query's answer: ``data`` (None when the service gave none) and ``errors``."""

    data: dict[str, Any] | None
    errors: list[GraphQLErrorItem]


def is_read_only(query: str) -> bool:
    """True when ``query`` parses and every operation in it is a query (no mutation, no
    subscription)."""
    try:
        document = parse(query)
    except GraphQLSyntaxError:
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return bool(operations) and all(op.operation == OperationType.QUERY for op in operations)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date); None if absent
    or unreadable. Never negative; not capped here."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)


def _is_auth_error(error: GraphQLErrorItem) -> bool:
    if error.code and error.code.upper() in _AUTH_CODES:
        return True
    message = error.message.lower()
    return any(word in message for word in _AUTH_WORDS)


class LetzshopClient:
    """One vendor's connection to Letzshop. Use as a context manager, or call ``close()``.

    Requests go through a ``GuardedTransport`` for ``policy`` (resolve, check, pin); only a test
    that brings its own ``transport`` may leave it out. Redirects are never followed."""

    def __init__(
        self,
        endpoint: str,
        api_key: str,
        *,
        timeout: float = 20.0,
        max_retries: int = 4,
        page_size: int = 50,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        policy: OutboundPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        # The endpoint itself is judged per request (by the policy, or httpx): a stored one that
        # is unusable must fail the request like any other bad endpoint, not the construction.
        if max_retries < 0 or page_size < 1:
            raise ValueError("max_retries must be >= 0 and page_size >= 1")
        if transport is None:
            if policy is None:
                raise ValueError("LetzshopClient needs an outbound policy (or a test transport)")
            transport = GuardedTransport(policy)
        self._endpoint = endpoint
        self._max_retries = max_retries
        self._page_size = page_size
        self._retry_after_cap = backoff_max * _RETRY_AFTER_CAP_FACTOR
        self._backoff = wait_exponential_jitter(
            multiplier=backoff_base, max=backoff_max, jitter=backoff_base
        )
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            # A redirect is an upstream error: following it could leave the allow-list, turn the
            # POST into a GET and carry the key elsewhere. No proxy or .netrc from the environment.
            follow_redirects=False,
            trust_env=False,
            headers={
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": "ordergate",
            },
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- operations ----------------------------------------------------------------------------

    def iter_shipment_pages(
        self, state: str | None = None, *, after: str | None = None
    ) -> Iterator[ShipmentPage]:
        """Yield every page of shipments in ``state`` (``None``: all) that follows the cursor
        ``after`` (``None``: from the first page), one request per page; ``page.end_cursor``
        is where a later walk can resume.

        Pages are fetched lazily, so only the current page is held in memory (stop iterating
        and no further page is fetched). When Letzshop answers with partial data, the page is
        still yielded: nodes the errors broke become parse failures and the messages are in
        ``page.graphql_errors``.
        """
        while True:
            variables = shipments_variables(state, self._page_size, after)
            response = self._execute(SHIPMENTS_OPERATION, SHIPMENTS_QUERY, variables)
            connection = _root_field(response, Connection.ROOT)
            page = parse_shipment_page(connection, errors=response.errors)
            yield page
            if not page.has_next_page:
                return
            if not page.end_cursor or page.end_cursor == after:
                # A server that says "more" without moving the cursor would loop forever.
                raise LetzshopProtocolError("hasNextPage is true but endCursor did not advance")
            after = page.end_cursor

    def confirm_units(
        self, decisions: list[tuple[str, bool]], *, shipment_id: str, read_first: bool = False
    ) -> ConfirmResult:
        """Confirm (``True``) or decline (``False``) inventory units of one shipment, by unit id.

        Units Letzshop refuses (already decided, unknown, another vendor's) come back in
        ``errors`` and change nothing; the rest are applied. Before any resend the shipment's
        units are read back (see the module docstring); with ``read_first`` before the first
        send too (a queued retry: an earlier attempt's answer may have been lost)."""
        if not decisions:
            return ConfirmResult(units=[], errors=[])
        pending = dict(decisions)
        reconciled: list[UnitResult] = []
        sent = read_first

        def attempt() -> ConfirmResult:
            nonlocal sent
            if sent:  # the previous attempt may have been applied: ask before resending
                for unit in self._decided_units(shipment_id, list(pending)):
                    reconciled.append(unit)
                    del pending[unit.id]
                if not pending:
                    return ConfirmResult(units=[], errors=[])
            sent = True
            variables = confirm_units_variables(list(pending.items()))
            payload = _payload(CONFIRM_UNITS_OPERATION, CONFIRM_UNITS_MUTATION, variables)
            response = self._post_once(payload)
            return parse_confirm_payload(_root_field(response, ConfirmFields.ROOT))

        result = self._retry(CONFIRM_UNITS_OPERATION, attempt)
        return ConfirmResult(
            units=reconciled + result.units,
            errors=result.errors,
            reconciled=[unit.id for unit in reconciled],
        )

    def read(self, operation: str, query: str, variables: dict[str, object]) -> QueryAnswer:
        """Run a read-only ``query`` and return its data and errors as they came (a contract
        check reads what a failing query says). A text holding anything but queries is
        refused before any request; a refused key raises ``LetzshopAuthError``."""
        if not is_read_only(query):
            raise ValueError(f"{operation}: only query operations may be sent by read()")
        response = self._execute(operation, query, variables)
        if not response.data and any(_is_auth_error(e) for e in response.errors):
            raise LetzshopAuthError(AUTH_MESSAGE, detail=f"{operation} refused the key")
        return QueryAnswer(data=response.data, errors=response.errors)

    def _decided_units(self, shipment_id: str, unit_ids: list[str]) -> list[UnitResult]:
        """Those of ``unit_ids`` that Letzshop reports decided, with their state."""
        variables = shipment_units_variables(shipment_id)
        response = self._execute(SHIPMENT_UNITS_OPERATION, SHIPMENT_UNITS_QUERY, variables)
        states = _unit_states(_root_field(response, ShipmentUnitsFields.ROOT))
        wanted = set(unit_ids)
        return [
            UnitResult(id=unit_id, state=state)
            for unit_id, state in states.items()
            if unit_id in wanted and state != _UNDECIDED
        ]

    def set_tracking(self, shipment_id: str, code: str, provider: str) -> TrackingResult:
        """Send a tracking code. Keep tracking locally too: Letzshop may not read it back."""
        variables = set_tracking_variables(shipment_id, code, provider)
        response = self._execute(SET_TRACKING_OPERATION, SET_TRACKING_MUTATION, variables)
        return parse_tracking_payload(_root_field(response, TrackingMutationFields.ROOT))

    # --- transport -----------------------------------------------------------------------------

    def _execute(self, operation: str, query: str, variables: dict[str, object]) -> _Response:
        payload = _payload(operation, query, variables)
        return self._retry(operation, lambda: self._post_once(payload))

    def _retry(self, operation: str, attempt: Callable[[], _T]) -> _T:
        """``attempt()`` until it succeeds or the retries run out (then a public error)."""
        attempts = self._max_retries + 1
        retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=self._wait_seconds,
            retry=retry_if_exception_type(_RetryableError),
            before_sleep=lambda state: _log_retry(operation, attempts, state),
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _RetryableError as exc:
            raise exc.give_up(attempts) from exc

    def _wait_seconds(self, state: RetryCallState) -> float:
        backoff = self._backoff(state)
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _RetryableError) and error.retry_after is not None:
            return max(min(error.retry_after, self._retry_after_cap), backoff)
        return backoff

    def _post_once(self, payload: dict[str, object]) -> _Response:
        try:
            response = self._http.post(self._endpoint, json=payload)
        except OutboundRefusedError as exc:
            # Checked again per connection: the stored endpoint may resolve elsewhere by now.
            detail = f"endpoint refused ({exc.reason}): {exc.message}"
            raise LetzshopError(UNAVAILABLE_MESSAGE, detail=detail) from exc
        except httpx.TimeoutException as exc:
            raise _RetryableError(f"timeout ({type(exc).__name__})") from exc
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise _RetryableError(f"connection error ({type(exc).__name__})") from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            detail = f"request failed ({type(exc).__name__})"
            raise LetzshopError(UNAVAILABLE_MESSAGE, detail=detail) from exc
        return _read_response(response)


def _payload(operation: str, query: str, variables: dict[str, object]) -> dict[str, object]:
    return {
        Envelope.QUERY: query,
        Envelope.VARIABLES: variables,
        Envelope.OPERATION_NAME: operation,
    }


def _unit_states(shipment: object) -> dict[str, str]:
    """Unit id → state from a ``shipment { inventoryUnits { id state } }`` answer."""
    units = shipment.get(ShipmentUnitsFields.UNITS) if isinstance(shipment, dict) else None
    if not isinstance(units, list):
        raise LetzshopProtocolError("the shipment's inventoryUnits are not a list")
    states: dict[str, str] = {}
    for unit in units:
        unit_id = unit.get(ShipmentUnitsFields.UNIT_ID) if isinstance(unit, dict) else None
        state = unit.get(ShipmentUnitsFields.UNIT_STATE) if isinstance(unit, dict) else None
        if not isinstance(unit_id, str) or not isinstance(state, str):
            raise LetzshopProtocolError("a unit of the shipment has no id or state")
        states[unit_id] = state
    return states


def _log_retry(operation: str, attempts: int, state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    reason = error.reason if isinstance(error, _RetryableError) else repr(error)
    wait = state.next_action.sleep if state.next_action else 0.0
    logger.warning(
        "Letzshop %s: %s; retrying in %.2fs (attempt %d of %d)",
        operation,
        reason,
        wait,
        state.attempt_number,
        attempts,
    )


def _read_response(response: httpx.Response) -> _Response:
    status = response.status_code
    if status in _AUTH_STATUSES:
        raise LetzshopAuthError(AUTH_MESSAGE, detail=f"HTTP {status}")
    if status == 429 or status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise _RetryableError(f"HTTP {status}", retry_after=retry_after)
    if 300 <= status < 400:
        # Following would turn the POST into a GET and may drop the Authorization header.
        location = response.headers.get("Location", "?")
        raise _protocol_error(f"HTTP {status} redirect to {location}; fix the endpoint URL")
    body = _json_body(response)
    if not isinstance(body, dict):
        raise _protocol_error(f"HTTP {status}: response is not a JSON object")
    data = body.get(Envelope.DATA)
    if data is not None and not isinstance(data, dict):
        raise _protocol_error(f"HTTP {status}: 'data' is not an object")
    errors = parse_graphql_errors(body.get(Envelope.ERRORS))
    if status >= 400 and not errors:
        raise _protocol_error(f"HTTP {status} without GraphQL errors")
    return _Response(data=data, errors=errors)


def _json_body(response: httpx.Response) -> object:
    try:
        return orjson.loads(response.content)
    except ValueError:
        # On success statuses an unreadable body is most likely a truncated or proxied answer,
        # so it is retried; on 4xx it will not get better.
        reason = f"HTTP {response.status_code} with malformed JSON"
        if response.is_success:
            raise _RetryableError(reason, malformed=True) from None
        raise _protocol_error(reason) from None


def _protocol_error(detail: str) -> LetzshopProtocolError:
    return LetzshopProtocolError(UNAVAILABLE_MESSAGE, detail=detail)


def _root_field(response: _Response, root: str) -> object:
    """The operation's root field, or the error explaining why it is missing."""
    value = response.data.get(root) if response.data else None
    if value is not None:
        if response.errors:
            logger.warning(
                "Letzshop %s answered with partial errors: %s",
                root,
                "; ".join(error.message for error in response.errors),
            )
        return value
    if not response.errors:
        raise _protocol_error(f"response has no '{root}'")
    messages = [error.message for error in response.errors]
    summary = f"Letzshop {root} failed: {'; '.join(messages)}"
    if any(_is_auth_error(error) for error in response.errors):
        raise LetzshopAuthError(AUTH_MESSAGE, detail=summary)
    raise LetzshopGraphQLError(summary, messages=messages)
