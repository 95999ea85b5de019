"""Direct execution of known documents: the websocket hot path.

Strawberry's pipeline parses every operation again and runs its extension hooks around
each step. Clients send the same few documents over and over (``sendMessage`` above all),
so here each distinct document is parsed and validated once, with the same limits as the
schema's extensions (MAX_TOKENS, depth), and executed straight on graphql-core. Errors
get the same codes and masking (``ErrorCodes``), so a client cannot tell the two paths
apart; anything that does not parse or validate goes through Strawberry, which reports
it exactly as before.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLFormattedError,
    GraphQLResolveInfo,
    OperationDefinitionNode,
    OperationType,
    execute,
    parse,
    specified_rules,
    validate,
)
from graphql.execution import VariableValues, get_argument_values, get_variable_values
from strawberry.execution import optimized_is_awaitable

from schema.caches import DocumentCache, document_cost, document_key
from schema.cost import QueryCost
from schema.errors import errors_format as schema_errors_format
from schema.introspection import IntrospectionSwitch
from schema.limits import DEPTH_RULES, MAX_TOKENS, query_size_error

if TYPE_CHECKING:
    from strawberry import Schema

__all__ = [
    "document_prepare",
    "errors_format",
    "event_execute",
    "field_arguments",
    "operation_execute",
    "operation_get",
    "root_field",
    "root_field_arguments",
    "variables_coerce",
]


_prepared: DocumentCache[DocumentNode | None] = DocumentCache()


def document_prepare(schema: Schema, query: str) -> DocumentNode | None:
    """Parse and validate once per distinct document; None when either fails (or the
    document is over the byte limit)."""
    if query_size_error(query) is not None:
        return None
    return _prepared.get(
        (schema, document_key(query)), lambda: _prepare(schema, query), document_cost
    )


def _prepare(schema: Schema, query: str) -> DocumentNode | None:
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return None
    if validate(
        schema._schema,
        document,
        rules=[*specified_rules, *DEPTH_RULES, IntrospectionSwitch, QueryCost],
    ):
        return None
    return document


def operation_get(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    """The operation a request selects, as graphql-core picks it; None if none matches."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((op for op in operations if op.name and op.name.value == name), None)


def root_field(
    schema: Schema, query: str, operation_name: str | None, kind: OperationType, name: str
) -> tuple[DocumentNode, OperationDefinitionNode, FieldNode] | None:
    """The selected operation's one root field, if the operation is of ``kind`` and the
    field is ``name`` with no directives (what the fast paths know how to run)."""
    document = document_prepare(schema, query)
    operation = operation_get(document, operation_name) if document else None
    if document is None or operation is None or operation.operation != kind:
        return None
    selections = operation.selection_set.selections
    if len(selections) != 1 or not isinstance(selections[0], FieldNode):
        return None
    node = selections[0]
    if node.name.value != name or node.directives:
        return None
    return document, operation, node


def variables_coerce(
    schema: Schema, operation: OperationDefinitionNode, variables: dict[str, Any] | None
) -> VariableValues | None:
    """The operation's variables coerced as the executor coerces them (defaults applied,
    in ``.coerced``); None where it would report an error."""
    coerced = get_variable_values(
        schema._schema, operation.variable_definitions or (), variables or {}
    )
    return None if isinstance(coerced, list) else coerced


def field_arguments(
    schema: Schema,
    operation: OperationDefinitionNode,
    node: FieldNode,
    coerced: VariableValues,
) -> dict[str, Any] | None:
    """The root field's arguments from coerced variables, as the executor gets them; None
    where it would report an error."""
    root_type = schema._schema.get_root_type(operation.operation)
    assert root_type is not None
    try:
        return get_argument_values(root_type.fields[node.name.value], node, coerced)
    except GraphQLError:
        return None


def root_field_arguments(
    schema: Schema,
    operation: OperationDefinitionNode,
    node: FieldNode,
    variables: dict[str, Any] | None,
) -> dict[str, Any] | None:
    """The root field's arguments coerced as the executor coerces them; None where it
    would report an error."""
    coerced = variables_coerce(schema, operation, variables)
    return None if coerced is None else field_arguments(schema, operation, node, coerced)


def errors_format(errors: list[GraphQLError]) -> list[GraphQLFormattedError]:
    """Errors as sent to clients: coded and masked as ``ErrorCodes`` does, then formatted."""
    return schema_errors_format(errors)


_UNRESOLVED: Any = object()


class _RootResolved:
    """graphql-core middleware: the root field gives ``value`` instead of running its
    resolver; every other field resolves as usual."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def resolve(self, next_: Any, root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        if info.path.prev is None:
            return self.value
        return next_(root, info, **args)


async def operation_execute(
    schema: Schema,
    document: DocumentNode,
    *,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    context: Any,
    root_value: Any = None,
    resolved: Any = _UNRESOLVED,
) -> dict[str, Any]:
    """Execute a prepared document; return the ``next`` payload (data, coded errors).
    With ``resolved``, the root field's value is that, its resolver not run (the rest of
    the selection executes on it as usual)."""
    result = execute(
        schema._schema,
        document,
        root_value=root_value,
        context_value=context,
        variable_values=variables,
        operation_name=operation_name,
        middleware=None if resolved is _UNRESOLVED else [_RootResolved(resolved)],
        is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
    )
    if optimized_is_awaitable(result):
        result = await result  # type: ignore[misc]
    assert isinstance(result, ExecutionResult)
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = errors_format(result.errors)
    return payload


async def event_execute(
    schema: Schema,
    document: DocumentNode,
    *,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    context: Any,
    value: Any,
) -> str:
    """A subscription's ``next`` payload for one event ``value``, executed and encoded."""
    payload = await operation_execute(
        schema,
        document,
        operation_name=operation_name,
        variables=variables,
        context=context,
        root_value=value,
    )
    return json.dumps(payload)
