"""Everything the sandbox remembers: keys, vendors, shipments, faults and received mutations.

Shipments are kept as plain dicts in the GraphQL response shape, so whatever a test injects
(however odd) is exactly what a client reads back. The server's event loop and a test thread may
both touch the state, hence one lock around every read and write.
"""

from __future__ import annotations

import base64
import binascii
import copy
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ordergate.sandbox.catalog import Article, sandbox_catalog
from ordergate.sandbox.faults import FaultConfig, FaultMode
from ordergate.sandbox.generator import DirtMix, generate_shipments
from ordergate.sandbox.schema_switch import SchemaConfig

DEFAULT_API_KEYS: dict[str, tuple[str, ...]] = {
    "sandbox-key-1": ("sandbox-vendor-1",),
    "sandbox-key-2": ("sandbox-vendor-2",),
    "sandbox-key-multi": ("sandbox-vendor-1", "sandbox-vendor-2"),
}
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
UNDECIDED = "unconfirmed"
_CURSOR_PREFIX = "shipment:"


class SandboxInputError(ValueError):
    """A query argument the real service would refuse (bad cursor, negative page size)."""


@dataclass(slots=True)
class StoredShipment:
    seq: int  # insertion order; cursors point at it, so paging survives state changes
    vendor_id: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ShipmentsPage:
    shipments: list[StoredShipment]
    has_next_page: bool
    has_previous_page: bool


@dataclass(frozen=True, slots=True)
class MutationOutcome:
    changed: list[dict[str, Any]]
    errors: list[dict[str, Any]]


def shipment_state(data: Mapping[str, Any]) -> str:
    """``unconfirmed`` while any unit is undecided, else ``confirmed`` (derived, as Letzshop)."""
    units = [unit for unit in data.get("inventoryUnits") or [] if isinstance(unit, Mapping)]
    if not units:
        return str(data.get("state") or UNDECIDED)
    if any(unit.get("state") == UNDECIDED for unit in units):
        return UNDECIDED
    return "confirmed"


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{seq}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise SandboxInputError(f"Invalid cursor: {cursor!r}") from None
    if not text.startswith(_CURSOR_PREFIX) or not text[len(_CURSOR_PREFIX) :].isdigit():
        raise SandboxInputError(f"Invalid cursor: {cursor!r}")
    return int(text[len(_CURSOR_PREFIX) :])


def page_size(first: int | None) -> int:
    """``first`` defaults to 50 and is clamped to 100, as graphql-ruby's max_page_size does."""
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0:
        raise SandboxInputError("Argument 'first' must be non-negative")
    return min(first, MAX_PAGE_SIZE)


class SandboxState:
    """Keys → vendors → shipments, plus the fault switch and the log of mutations received.

    Each vendor's shipments come from ``generate_shipments(seed, shipments_per_vendor, ...)``
    with its own id prefix (``v1``, ``v2``, ... in order of first appearance in ``api_keys``),
    drawn from ``catalogs[vendor]`` when given (a shop of its own, the demo's) else from the
    shared ``sandbox_catalog(seed)``; ``end_at`` moves each vendor's orders so its newest was
    completed then (``generate_shipments``).
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        shipments_per_vendor: int = 40,
        mix: DirtMix | None = None,
        api_keys: Mapping[str, Sequence[str]] | None = None,
        faults: FaultConfig | None = None,
        schema: SchemaConfig | None = None,
        catalogs: Mapping[str, list[Article]] | None = None,
        end_at: datetime | None = None,
    ) -> None:
        self.seed = seed
        self.shipments_per_vendor = shipments_per_vendor
        self.mix = mix or DirtMix()
        self.api_keys = {key: tuple(v) for key, v in (api_keys or DEFAULT_API_KEYS).items()}
        self.vendor_ids = list(dict.fromkeys(v for vs in self.api_keys.values() for v in vs))
        self.catalog: list[Article] = sandbox_catalog(seed)
        self.catalogs = dict(catalogs or {})
        self.end_at = end_at
        self._initial_faults = faults or FaultConfig()
        self._initial_schema = schema or SchemaConfig()
        self._lock = threading.RLock()
        self.reset()

    # -- lifecycle -------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the generated shipments and the faults and schema switch given at
        construction; logs cleared."""
        with self._lock:
            self._faults = self._initial_faults
            self._schema = self._initial_schema
            self._remaining = self._initial_faults.count
            self._mutations: list[dict[str, Any]] = []
            self._requests: list[dict[str, Any]] = []
            self._shipments: list[StoredShipment] = []
            self._next_seq = 1
            for number, vendor_id in enumerate(self.vendor_ids, start=1):
                generated = generate_shipments(
                    self.seed,
                    self.shipments_per_vendor,
                    mix=self.mix,
                    catalog=self.catalogs.get(vendor_id, self.catalog),
                    id_prefix=f"v{number}",
                    end_at=self.end_at,
                )
                self._append(vendor_id, generated)

    def vendors_for_key(self, api_key: str | None) -> tuple[str, ...] | None:
        """The vendors ``api_key`` covers, or None when the key is unknown or missing."""
        if api_key is None:
            return None
        return self.api_keys.get(api_key)

    # -- shipments -------------------------------------------------------------------------

    def add_shipments(
        self, vendor_id: str, shipments: Iterable[dict[str, Any]], *, replace: bool = False
    ) -> int:
        """Add shipment nodes (copied, never validated) for ``vendor_id``; return how many."""
        if vendor_id not in self.vendor_ids:
            raise KeyError(vendor_id)
        with self._lock:
            if replace:
                self._shipments = [s for s in self._shipments if s.vendor_id != vendor_id]
            return self._append(vendor_id, copy.deepcopy(list(shipments)))

    def _append(self, vendor_id: str, shipments: list[dict[str, Any]]) -> int:
        for data in shipments:
            self._shipments.append(StoredShipment(self._next_seq, vendor_id, data))
            self._next_seq += 1
        return len(shipments)

    def page(
        self,
        vendor_ids: Sequence[str],
        *,
        state: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> ShipmentsPage:
        """One Relay page of the vendors' shipments, filtered by state: in insertion order, except
        ``confirmed`` (a growing history) newest first, so a client can stop at old ones."""
        size = page_size(first)
        after_seq = decode_cursor(after) if after is not None else None
        newest_first = state == "confirmed"
        with self._lock:
            matching = [
                stored
                for stored in self._shipments
                if stored.vendor_id in vendor_ids
                and (state is None or shipment_state(stored.data) == state)
            ]
        if newest_first:
            matching.reverse()
        remaining = [
            s for s in matching if after_seq is None or _beyond(s.seq, after_seq, newest_first)
        ]
        return ShipmentsPage(
            shipments=remaining[:size],
            has_next_page=len(remaining) > size,
            has_previous_page=len(remaining) < len(matching),
        )

    def shipment(self, vendor_ids: Sequence[str], shipment_id: str) -> dict[str, Any] | None:
        """A copy of one of the vendors' shipments, or None."""
        with self._lock:
            stored = self._shipment_of(vendor_ids, shipment_id)
            return copy.deepcopy(stored.data) if stored is not None else None

    def dump(self, vendor_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Copies of the shipments (all vendors when None) with their derived state filled in."""
        with self._lock:
            chosen = [s for s in self._shipments if vendor_ids is None or s.vendor_id in vendor_ids]
            dumped = []
            for stored in chosen:
                data = copy.deepcopy(stored.data)
                data["state"] = shipment_state(stored.data)
                dumped.append({"vendor_id": stored.vendor_id, "shipment": data})
            return dumped

    # -- mutations -------------------------------------------------------------------------

    def confirm_units(
        self, vendor_ids: Sequence[str], decisions: Sequence[tuple[str, bool]]
    ) -> MutationOutcome:
        """Decide each unit; undecidable ones get a per-unit error and stay as they were."""
        changed: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        with self._lock:
            units = self._units_of(vendor_ids)
            for unit_id, is_available in decisions:
                unit = units.get(unit_id)
                if unit is None:
                    # Another vendor's unit reads as unknown: the key must not learn it exists.
                    errors.append(_error(unit_id, "not_found", "Inventory unit not found"))
                elif unit.get("state") != UNDECIDED:
                    message = f"Inventory unit is already {unit.get('state')}"
                    errors.append(_error(unit_id, "already_decided", message))
                else:
                    unit["state"] = _decided_state(is_available)
                    changed.append(unit)
            return MutationOutcome(changed=copy.deepcopy(changed), errors=errors)

    def set_tracking(
        self, vendor_ids: Sequence[str], shipment_id: str, code: str, provider: str | None
    ) -> MutationOutcome:
        with self._lock:
            stored = self._shipment_of(vendor_ids, shipment_id)
            if stored is None:
                return MutationOutcome([], [_error(shipment_id, "not_found", "Shipment not found")])
            stored.data["tracking"] = {"code": code, "provider": provider}
            return MutationOutcome([copy.deepcopy(stored.data)], [])

    def _units_of(self, vendor_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        units: dict[str, dict[str, Any]] = {}
        for stored in self._shipments:
            if stored.vendor_id not in vendor_ids:
                continue
            for unit in stored.data.get("inventoryUnits") or []:
                if isinstance(unit, dict) and isinstance(unit.get("id"), str):
                    units.setdefault(unit["id"], unit)
        return units

    def _shipment_of(self, vendor_ids: Sequence[str], shipment_id: str) -> StoredShipment | None:
        for stored in self._shipments:
            if stored.vendor_id in vendor_ids and stored.data.get("id") == shipment_id:
                return stored
        return None

    # -- faults and the mutation log -----------------------------------------------------------

    @property
    def faults(self) -> FaultConfig:
        with self._lock:
            return replace(self._faults, count=self._remaining)

    def set_faults(self, faults: FaultConfig) -> None:
        with self._lock:
            self._faults = faults
            self._remaining = faults.count

    def take_fault(self, *, mutation: bool = False) -> FaultMode | None:
        """The fault for the request now arriving; uses up one of ``count``. With
        ``mutations_only`` set, only mutations suffer it (and count)."""
        with self._lock:
            mode = self._faults.mode
            if self._faults.mutations_only and not mutation:
                return None
            if mode is None or self._remaining is None:
                return mode
            self._remaining -= 1
            if self._remaining <= 0:
                self._faults = replace(self._faults, mode=None, count=None)
                self._remaining = None
            return mode

    @property
    def schema(self) -> SchemaConfig:
        with self._lock:
            return self._schema

    def set_schema(self, schema: SchemaConfig) -> None:
        with self._lock:
            self._schema = schema

    def record_mutation(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._mutations.append(copy.deepcopy(entry))

    def mutations(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._mutations)

    def record_request(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(copy.deepcopy(entry))

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._requests)


def _beyond(seq: int, cursor_seq: int, newest_first: bool) -> bool:
    return seq < cursor_seq if newest_first else seq > cursor_seq


def _decided_state(is_available: bool) -> str:
    return "confirmed_available" if is_available else "confirmed_unavailable"


def _error(item_id: str, code: str, message: str) -> dict[str, Any]:
    return {"id": item_id, "code": code, "message": message}
