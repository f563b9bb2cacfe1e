"""Comparing ordergate's GraphQL texts with a service's schema (no network here).

``compare(service)`` walks every operation of ``graphql.py`` over two schemas at once: the
contract ordergate targets (``contract.graphql``) and the service's (built from its
introspection answer). Walking by position rather than by type name means a renamed type is
followed, and each difference is named where it is used, with what the service offers instead.
``graphql.validate`` against the service's schema then catches whatever the walk did not word
itself (reported as ``validation`` findings).

``probe_findings`` words the errors of the fallback ``shipments(first: 1)`` query, for a
service that refuses introspection.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    build_schema,
    get_named_type,
    is_composite_type,
    is_leaf_type,
    is_non_null_type,
    parse,
    validate,
)
from graphql.pyutils import Undefined, suggestion_list

from ordergate.letzshop.graphql import (
    CONFIRM_UNITS_MUTATION,
    CONFIRM_UNITS_OPERATION,
    SET_TRACKING_MUTATION,
    SET_TRACKING_OPERATION,
    SHIPMENT_UNITS_OPERATION,
    SHIPMENT_UNITS_QUERY,
    SHIPMENTS_OPERATION,
    SHIPMENTS_QUERY,
)
from ordergate.letzshop.parse import GraphQLErrorItem

CONTRACT_PATH = Path(__file__).with_name("contract.graphql")


class Use(StrEnum):
    """What an operation is for; a mismatch in ``CONFIRMATION`` stops confirmations."""

    IMPORT = "import"  # the sync reads shipments
    CONFIRMATION = "confirmation"  # confirmInventoryUnits: confirm and decline
    READ_BACK = "read_back"  # read after a lost confirm answer, before any resend
    TRACKING = "tracking"  # setShipmentTracking


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    text: str
    use: Use


OPERATIONS: Final = (
    Operation(SHIPMENTS_OPERATION, SHIPMENTS_QUERY, Use.IMPORT),
    Operation(CONFIRM_UNITS_OPERATION, CONFIRM_UNITS_MUTATION, Use.CONFIRMATION),
    Operation(SHIPMENT_UNITS_OPERATION, SHIPMENT_UNITS_QUERY, Use.READ_BACK),
    Operation(SET_TRACKING_OPERATION, SET_TRACKING_MUTATION, Use.TRACKING),
)
CONFIRMATION_OPERATION: Final = CONFIRM_UNITS_OPERATION


class Kind(StrEnum):
    """The kinds of mismatch (the JSON's ``kind``)."""

    MISSING_ROOT = "missing_root"  # no query or mutation type at all
    MISSING_FIELD = "missing_field"
    MISSING_ARGUMENT = "missing_argument"
    REQUIRED_ARGUMENT = "required_argument"  # the service requires one we never send
    INPUT_TYPE = "input_type"  # an argument or input field of another type
    INPUT_FIELD = "input_field"  # we send an input field the service does not know
    REQUIRED_INPUT_FIELD = "required_input_field"  # the service requires one we never send
    MISSING_TYPE = "missing_type"  # a fragment's type condition names no type of the service
    OUTPUT_TYPE = "output_type"  # a field returns another type (e.g. price as String)
    ENUM_VALUES = "enum_values"  # values missing at the service, or unknown to ordergate
    VALIDATION = "validation"  # graphql.validate's words for anything not covered above
    PROBE_FIELD = "probe_field"  # the fallback query failed on this field
    PROBE_FAILED = "probe_failed"  # the fallback query failed, without saying where


@dataclass(slots=True)
class Mismatch:
    kind: Kind
    subject: str  # what differs, e.g. "Variant.price" (merges uses across operations)
    message: str
    expected: str | None = None
    offered: str | None = None
    operations: list[str] = field(default_factory=list)
    where: list[str] = field(default_factory=list)
    positions: set[int] = field(default_factory=set)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "subject": self.subject,
            "message": self.message,
            "operations": self.operations,
            "where": self.where,
            "expected": self.expected,
            "offered": self.offered,
        }


@dataclass(frozen=True, slots=True)
class ScalarType:
    """The type a leaf field the import reads has, in the contract and at the service."""

    where: str
    field: str
    contract: str
    service: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "where": self.where,
            "field": self.field,
            "contract": self.contract,
            "service": self.service,
        }


@dataclass(slots=True)
class Comparison:
    mismatches: list[Mismatch]
    scalars: list[ScalarType]


@cache
def contract_schema() -> GraphQLSchema:
    return build_schema(CONTRACT_PATH.read_text(encoding="utf-8"))


@cache
def operation_document(text: str) -> DocumentNode:
    return parse(text)


def compare(service: GraphQLSchema) -> Comparison:
    """Every difference between the contract and ``service`` that ordergate's texts touch."""
    walk = _Walk(contract_schema(), service)
    for operation in OPERATIONS:
        walk.operation(operation)
    return Comparison(mismatches=walk.result(), scalars=walk.scalars)


def operation_uses(names: Iterable[str]) -> list[str]:
    by_name = {op.name: op.use.value for op in OPERATIONS}
    return sorted({by_name[name] for name in names if name in by_name})


# --- the walk -----------------------------------------------------------------------------------


def _type_text(type_: Any) -> str:
    return str(type_) if type_ is not None else "nothing"


def _fields_text(names: Iterable[str]) -> str:
    listed = sorted(names)
    return ", ".join(f"`{n}`" for n in listed) if listed else "none"


def _instead(name: str, offered: Iterable[str], ours: Iterable[str]) -> str:
    """What the service has instead: the names ours lacks first (a rename shows there), then
    all of them."""
    listed = list(offered)
    known = set(ours)
    new = [n for n in listed if n not in known]
    hint = f"; it has what ordergate does not know: {_fields_text(new)}" if new else ""
    if not new:
        hint = _did_you_mean(name, listed)
    return f"{hint}; all it has: {_fields_text(listed)}"


def _did_you_mean(name: str, options: Iterable[str]) -> str:
    close = suggestion_list(name, list(options))[:3]
    return f" (did you mean {' or '.join(f'`{c}`' for c in close)}?)" if close else ""


class _Walk:
    def __init__(self, contract: GraphQLSchema, service: GraphQLSchema) -> None:
        self.contract = contract
        self.service = service
        self.found: dict[tuple[Kind, str], Mismatch] = {}
        self.scalars: list[ScalarType] = []
        self._compared_inputs: set[tuple[str, str, str]] = set()
        self.op: Operation = OPERATIONS[0]
        self.fragments: dict[str, FragmentDefinitionNode] = {}

    # -- recording --------------------------------------------------------------------------

    def add(
        self,
        kind: Kind,
        subject: str,
        message: str,
        *,
        where: str,
        nodes: Iterable[Node | None] = (),
        expected: str | None = None,
        offered: str | None = None,
    ) -> None:
        key = (kind, subject)
        mismatch = self.found.get(key)
        if mismatch is None:
            mismatch = Mismatch(kind, subject, message, expected=expected, offered=offered)
            self.found[key] = mismatch
        if self.op.name not in mismatch.operations:
            mismatch.operations.append(self.op.name)
        place = f"{self.op.name}: {where}"
        if place not in mismatch.where:
            mismatch.where.append(place)
        mismatch.positions.update(n.loc.start for n in nodes if n is not None and n.loc)

    def result(self) -> list[Mismatch]:
        return sorted(self.found.values(), key=lambda m: (m.kind.value, m.subject))

    # -- operations -------------------------------------------------------------------------

    def operation(self, op: Operation) -> None:
        self.op = op
        document = operation_document(op.text)
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                self._operation(definition)
        self._validation(document)

    def _operation(self, node: OperationDefinitionNode) -> None:
        kind = node.operation.value  # "query" / "mutation"
        contract_root = self.contract.get_root_type(node.operation)
        service_root = self.service.get_root_type(node.operation)
        if contract_root is None:
            raise RuntimeError(f"contract.graphql has no {kind} type")
        if service_root is None:
            self.add(
                Kind.MISSING_ROOT,
                kind,
                f"The service declares no {kind} type at all, so `{self.op.name}` cannot run",
                where=kind,
                nodes=[node],
                expected=f"a {kind} type",
            )
            return
        variables = {v.variable.name.value: v for v in node.variable_definitions or ()}
        self._selections(node.selection_set, contract_root, service_root, "", variables)

    def _selections(
        self,
        selections: SelectionSetNode | None,
        contract_type: GraphQLNamedType,
        service_type: GraphQLNamedType,
        path: str,
        variables: dict[str, Any],
    ) -> None:
        if selections is None:
            return
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                self._field(selection, contract_type, service_type, path, variables)
            elif isinstance(selection, InlineFragmentNode | FragmentSpreadNode):
                self._fragment(selection, contract_type, service_type, path, variables)

    def _fragment(
        self,
        node: InlineFragmentNode | FragmentSpreadNode,
        contract_type: GraphQLNamedType,
        service_type: GraphQLNamedType,
        path: str,
        variables: dict[str, Any],
    ) -> None:
        condition: NamedTypeNode | None
        if isinstance(node, FragmentSpreadNode):
            definition = self.fragments[node.name.value]
            condition, selections = definition.type_condition, definition.selection_set
        else:
            condition, selections = node.type_condition, node.selection_set
        if condition is None:
            self._selections(selections, contract_type, service_type, path, variables)
            return
        name = condition.name.value
        contract_sub = self.contract.get_type(name)
        service_sub = self.service.get_type(name)
        if contract_sub is None:
            raise RuntimeError(f"contract.graphql has no type {name}")
        if service_sub is None or not is_composite_type(service_sub):
            members = _possible_names(self.service, service_type)
            self.add(
                Kind.MISSING_TYPE,
                name,
                f"ordergate reads `... on {name}` in {path or 'the root'}; the service has no "
                f"type `{name}`; `{service_type.name}` can be: {_fields_text(members)}"
                + _did_you_mean(name, members),
                where=f"{path} ... on {name}",
                nodes=[node, condition],
                expected=name,
                offered=", ".join(members) or None,
            )
            return
        self._selections(selections, contract_sub, service_sub, f"{path}<{name}>", variables)

    def _field(
        self,
        node: FieldNode,
        contract_type: GraphQLNamedType,
        service_type: GraphQLNamedType,
        path: str,
        variables: dict[str, Any],
    ) -> None:
        name = node.name.value
        if name.startswith("__"):
            return
        where = f"{path}.{name}" if path else name
        contract_field = _fields(contract_type).get(name)
        if contract_field is None:
            raise RuntimeError(f"contract.graphql: {contract_type.name} has no field {name}")
        service_fields = _fields(service_type)
        service_field = service_fields.get(name)
        subject = f"{contract_type.name}.{name}"
        if service_field is None:
            self.add(
                Kind.MISSING_FIELD,
                subject,
                f"ordergate reads `{name}` on `{service_type.name}` ({where}); the service's "
                f"`{service_type.name}` has no such field"
                + _instead(name, service_fields, _fields(contract_type)),
                where=where,
                nodes=[node],
                expected=f"{name}: {contract_field.type}",
                offered=", ".join(sorted(service_fields)) or None,
            )
            return
        self._arguments(node, contract_field, service_field, subject, where, variables)
        contract_out = get_named_type(contract_field.type)
        service_out = get_named_type(service_field.type)
        if is_leaf_type(contract_out):
            self._leaf(node, contract_field, service_field, subject, where)
            return
        if not is_composite_type(service_out):
            self.add(
                Kind.OUTPUT_TYPE,
                subject,
                f"`{subject}` returns `{service_field.type}` at the service, not an object: "
                f"ordergate selects fields of it (contract: `{contract_field.type}`)",
                where=where,
                nodes=[node],
                expected=str(contract_field.type),
                offered=str(service_field.type),
            )
            return
        self._selections(node.selection_set, contract_out, service_out, where, variables)

    def _leaf(
        self,
        node: FieldNode,
        contract_field: GraphQLField,
        service_field: GraphQLField,
        subject: str,
        where: str,
    ) -> None:
        contract_out = get_named_type(contract_field.type)
        service_out = get_named_type(service_field.type)
        if self.op.use == Use.IMPORT and isinstance(contract_out, GraphQLNamedType):
            self.scalars.append(
                ScalarType(where, subject, str(contract_field.type), str(service_field.type))
            )
        if isinstance(contract_out, GraphQLEnumType) and isinstance(service_out, GraphQLEnumType):
            self._enum_values(contract_out, service_out, where=where, nodes=[node], sent=False)
            return
        if contract_out.name != service_out.name or type(contract_out) is not type(service_out):
            self.add(
                Kind.OUTPUT_TYPE,
                subject,
                f"`{subject}` is `{service_field.type}` at the service; ordergate's contract "
                f"says `{contract_field.type}`",
                where=where,
                nodes=[node],
                expected=str(contract_field.type),
                offered=str(service_field.type),
            )

    # -- arguments and inputs ---------------------------------------------------------------

    def _arguments(
        self,
        node: FieldNode,
        contract_field: GraphQLField,
        service_field: GraphQLField,
        subject: str,
        where: str,
        variables: dict[str, Any],
    ) -> None:
        given = set()
        for argument in node.arguments or ():
            name = argument.name.value
            given.add(name)
            place = f"{where}({name}:)"
            contract_arg = contract_field.args[name]
            service_arg = service_field.args.get(name)
            if service_arg is None:
                self.add(
                    Kind.MISSING_ARGUMENT,
                    f"{subject}({name}:)",
                    f"ordergate passes `{name}` to `{subject}`; the service's `{subject}` takes "
                    "no such argument" + _instead(name, service_field.args, contract_field.args),
                    where=place,
                    nodes=[argument],
                    expected=f"{name}: {contract_arg.type}",
                    offered=", ".join(f"{n}: {a.type}" for n, a in service_field.args.items())
                    or None,
                )
                continue
            variable = (
                variables.get(argument.value.name.value)
                if isinstance(argument.value, VariableNode)
                else None
            )
            nodes: list[Node | None] = [argument, argument.value]
            if variable is not None:
                nodes += [variable, variable.type]
            declared = get_named_type(contract_arg.type)
            offered = get_named_type(service_arg.type)
            if variable is not None and declared.name != offered.name:
                self.add(
                    Kind.INPUT_TYPE,
                    f"{subject}({name}:)",
                    f"`{subject}` takes `{name}: {service_arg.type}` at the service; ordergate "
                    f"declares `${variable.variable.name.value}: {contract_arg.type}`, a type the "
                    "service " + ("has too" if self.service.get_type(declared.name) else "lacks"),
                    where=place,
                    nodes=nodes,
                    expected=str(contract_arg.type),
                    offered=str(service_arg.type),
                )
            self._input(contract_arg.type, service_arg.type, place, nodes)
        for name, service_arg in service_field.args.items():
            required = is_non_null_type(service_arg.type) and service_arg.default_value is Undefined
            if name not in given and required:
                self.add(
                    Kind.REQUIRED_ARGUMENT,
                    f"{subject}({name}:)",
                    f"the service's `{subject}` requires `{name}: {service_arg.type}`, which "
                    "ordergate never passes",
                    where=where,
                    nodes=[node],
                    offered=f"{name}: {service_arg.type}",
                )

    def _input(
        self, contract: GraphQLInputType, service: GraphQLInputType, where: str, nodes: list[Any]
    ) -> None:
        """Compare what ordergate sends (typed by the contract) with what the service takes."""
        c, s = contract, service
        if isinstance(c, GraphQLNonNull):
            c = c.of_type
            if isinstance(s, GraphQLNonNull):
                s = s.of_type
        elif isinstance(s, GraphQLNonNull):
            self._input_type(contract, service, where, nodes, "the service requires a value here")
            return
        if isinstance(c, GraphQLList) or isinstance(s, GraphQLList):
            if not (isinstance(c, GraphQLList) and isinstance(s, GraphQLList)):
                self._input_type(contract, service, where, nodes, "list and single value differ")
                return
            self._input(c.of_type, s.of_type, f"{where}[]", nodes)
            return
        key = (where, c.name, s.name)
        if key in self._compared_inputs:
            return
        self._compared_inputs.add(key)
        if isinstance(c, GraphQLInputObjectType) and isinstance(s, GraphQLInputObjectType):
            self._input_object(c, s, where, nodes)
        elif isinstance(c, GraphQLEnumType) and isinstance(s, GraphQLEnumType):
            self._enum_values(c, s, where=where, nodes=nodes, sent=True)
        elif c.name != s.name or type(c) is not type(s):
            self._input_type(contract, service, where, nodes, None)

    def _input_type(
        self, contract: Any, service: Any, where: str, nodes: list[Any], why: str | None
    ) -> None:
        self.add(
            Kind.INPUT_TYPE,
            where.split(": ")[-1],
            f"ordergate sends `{contract}` at {where}; the service takes `{service}`"
            + (f" ({why})" if why else ""),
            where=where,
            nodes=nodes,
            expected=str(contract),
            offered=str(service),
        )

    def _input_object(
        self,
        contract: GraphQLInputObjectType,
        service: GraphQLInputObjectType,
        where: str,
        nodes: list[Any],
    ) -> None:
        offered = service.fields
        listing = ", ".join(f"`{n}: {f.type}`" for n, f in offered.items()) or "none"
        unmatched = [n for n in offered if n not in contract.fields]
        for name, sent in contract.fields.items():
            place = f"{where}.{name}"
            if name in offered:
                self._input(sent.type, offered[name].type, place, nodes)
                continue
            same_type = [n for n in unmatched if str(offered[n].type) == str(sent.type)]
            rename = same_type[0] if len(same_type) == 1 else None
            if rename is None:
                close = suggestion_list(name, unmatched)
                rename = close[0] if close else None
            if rename is not None:
                unmatched.remove(rename)
                tail = f"we send `{name}`, the service calls it `{rename}`"
            else:
                tail = f"we send `{name}`, the service has no such field"
            self.add(
                Kind.INPUT_FIELD,
                f"{contract.name}.{name}",
                f"{self._input_intro(where, service)} with fields {listing}; {tail}",
                where=place,
                nodes=nodes,
                expected=f"{name}: {sent.type}",
                offered=f"{rename}: {offered[rename].type}" if rename else None,
            )
        for name in unmatched:
            field_ = offered[name]
            if is_non_null_type(field_.type) and field_.default_value is Undefined:
                self.add(
                    Kind.REQUIRED_INPUT_FIELD,
                    f"{service.name}.{name}",
                    f"{self._input_intro(where, service)} with fields {listing}; it requires "
                    f"`{name}`, which ordergate never sends",
                    where=f"{where}.{name}",
                    nodes=nodes,
                    offered=f"{name}: {field_.type}",
                )

    def _input_intro(self, where: str, service: GraphQLInputObjectType) -> str:
        root = where.split("(")[0]
        kind = "mutation" if self.op.text.lstrip().startswith("mutation") else "query"
        return f"{kind} `{root}` exists, `{where}` is `{service.name}`"

    def _enum_values(
        self,
        contract: GraphQLEnumType,
        service: GraphQLEnumType,
        *,
        where: str,
        nodes: list[Any],
        sent: bool,
    ) -> None:
        ours, theirs = list(contract.values), list(service.values)
        missing = [v for v in ours if v not in theirs]
        unknown = [v for v in theirs if v not in ours]
        if not missing and not unknown:
            return
        parts = []
        if missing:
            parts.append(f"the service has no {_fields_text(missing)}")
        if unknown:
            parts.append(f"it may answer {_fields_text(unknown)}, which ordergate does not know")
        usage = "sent" if sent else "read"
        self.add(
            Kind.ENUM_VALUES,
            contract.name,
            f"`{contract.name}` ({usage} at {where}): {'; '.join(parts)}; the service's "
            f"`{service.name}` offers {_fields_text(theirs)}",
            where=where,
            nodes=nodes,
            expected=", ".join(ours),
            offered=", ".join(theirs),
        )

    # -- what the walk did not word ----------------------------------------------------------

    def _validation(self, document: DocumentNode) -> None:
        mine = [m for m in self.found.values() if self.op.name in m.operations]
        covered = {position for m in mine for position in m.positions}
        for error in validate(self.service, document):
            if covered.intersection(error.positions or ()):
                continue
            self.add(
                Kind.VALIDATION,
                error.message,
                f"the service would refuse `{self.op.name}`: {error.message}",
                where=self.op.name,
            )


def _fields(type_: GraphQLNamedType) -> dict[str, GraphQLField]:
    fields = getattr(type_, "fields", None)
    return dict(fields) if isinstance(fields, dict) else {}


def _possible_names(schema: GraphQLSchema, type_: GraphQLNamedType) -> list[str]:
    if isinstance(type_, GraphQLObjectType):
        return [type_.name]
    try:
        return sorted(t.name for t in schema.get_possible_types(type_))  # type: ignore[arg-type]
    except (TypeError, AttributeError):
        return []


# --- the fallback query -------------------------------------------------------------------------

_FIELD_IN_MESSAGE = re.compile(
    r"field ['\"`]?(\w+)['\"`]? (?:on|doesn't exist on) type ['\"`]?(\w+)", re.IGNORECASE
)


def probe_findings(
    errors: list[GraphQLErrorItem], *, query: str = "shipments(first: 1)"
) -> list[Mismatch]:
    """The fallback Shipments query's errors, each tied to the field it names where possible;
    ``query`` says which query it was, in the messages."""
    document = operation_document(SHIPMENTS_QUERY)
    by_location = _field_locations(document)
    found: dict[str, Mismatch] = {}
    for error in errors:
        where = next((by_location[loc] for loc in error.locations if loc in by_location), None)
        if where is None:
            named = _FIELD_IN_MESSAGE.search(error.message)
            if named:
                field_name, type_name = named.group(1), named.group(2)
                where = _path_of(by_location, field_name) or f"{type_name}.{field_name}"
        kind = Kind.PROBE_FIELD if where else Kind.PROBE_FAILED
        subject = where or error.message
        mismatch = found.setdefault(
            subject,
            Mismatch(
                kind,
                subject,
                f"the harmless `{query}` failed"
                + (f" at `{where}`" if where else "")
                + f": {error.message}",
                operations=[SHIPMENTS_OPERATION],
                where=[f"{SHIPMENTS_OPERATION}: {where or 'the query'}"],
            ),
        )
        if error.message not in mismatch.message:
            mismatch.message += f"; {error.message}"
    return list(found.values())


def _field_locations(document: DocumentNode) -> dict[tuple[int, int], str]:
    """(line, column) of each field and variable of the query text → its path."""
    source = document.loc.source if document.loc else None
    found: dict[tuple[int, int], str] = {}
    if source is None:
        return found

    def at(node: Node) -> tuple[int, int]:
        location = source.get_location(node.loc.start) if node.loc else None
        return (location.line, location.column) if location else (0, 0)

    def visit(selections: SelectionSetNode | None, path: str) -> None:
        for selection in selections.selections if selections else ():
            if isinstance(selection, FieldNode):
                where = f"{path}.{selection.name.value}" if path else selection.name.value
                found[at(selection)] = where
                for argument in selection.arguments or ():
                    found[at(argument)] = f"{where}({argument.name.value}:)"
                visit(selection.selection_set, where)
            elif isinstance(selection, InlineFragmentNode):
                name = selection.type_condition.name.value if selection.type_condition else ""
                found[at(selection)] = f"{path}<{name}>"
                visit(selection.selection_set, f"{path}<{name}>")

    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for variable in definition.variable_definitions or ():
                found[at(variable)] = f"${variable.variable.name.value}"
                found[at(variable.variable)] = f"${variable.variable.name.value}"
            visit(definition.selection_set, "")
    return found


def _path_of(by_location: dict[tuple[int, int], str], name: str) -> str | None:
    paths = [p for p in by_location.values() if p.rsplit(".", 1)[-1] == name]
    return paths[0] if len(paths) == 1 else None
