"""Hooks into Strawberry's internals.

Strawberry keeps the graphql-core schema it builds in ``Schema._schema`` and has no public
accessor for it; the validation cache and the fast paths need it.
"""

from __future__ import annotations

import inspect
from typing import Any

from graphql import GraphQLSchema
from strawberry.channels import GraphQLWSConsumer
from strawberry.channels.handlers.ws_handler import ChannelsWebSocketAdapter
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from internals.hooks import hook, hook_active

__all__ = [
    "CONSUMER_QUEUE",
    "GRAPHQL_SCHEMA",
    "GRAPHQL_WS",
    "TRANSPORT_WS",
    "graphql_schema",
    "graphql_schema_install",
]

GRAPHQL_SCHEMA = "strawberry.graphql_schema"
# internals/protocols.py. Off: Strawberry's own run_operation (no fast paths, no size
# refusal before parsing), no per-operation end on a revoked credential (the socket
# still closes with 4403), and a syntax error or unknown operationName closes the socket
# with 4400 instead of ending its operation with an ``error``.
TRANSPORT_WS = "strawberry.transport_ws"
# internals/protocols.py. Off: Strawberry's own graphql-ws handling (a refused
# connection_init closes with 1011, not 4403).
GRAPHQL_WS = "strawberry.graphql_ws"
# internals/websocket.py. Off: Strawberry's asyncio.Queue per socket.
CONSUMER_QUEUE = "strawberry.consumer_queue"


def graphql_schema(schema: Any) -> GraphQLSchema:
    """Return the graphql-core schema a Strawberry schema executes against."""
    return schema._schema  # type: ignore[no-any-return]


def _graphql_schema_if_active(schema: Any) -> GraphQLSchema | None:
    return graphql_schema(schema) if hook_active(GRAPHQL_SCHEMA) else None


def graphql_schema_install() -> None:
    """Hand schema/caches.py the graphql-core schema, so it can cache validations."""
    from schema import caches

    caches.graphql_schema_of = _graphql_schema_if_active


@hook(
    GRAPHQL_SCHEMA,
    library="strawberry-graphql",
    versions=">=0.280,<0.400",
    purpose="the graphql-core schema (Schema._schema) for cached validation and fast paths",
    fallback="Strawberry validates every document itself; fast paths are off",
    install=graphql_schema_install,
)
def _check_graphql_schema() -> None:
    import strawberry

    @strawberry.type
    class Query:
        ok: bool = True

    built = graphql_schema(strawberry.Schema(query=Query))
    if not isinstance(built, GraphQLSchema) or "Query" not in built.type_map:
        raise TypeError(f"Schema._schema is {type(built).__name__}, not a GraphQLSchema")


def _source(obj: Any) -> str:
    return inspect.getsource(obj)


def _parameters(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


@hook(
    TRANSPORT_WS,
    library="strawberry-graphql",
    versions=">=0.280,<0.400",
    purpose="graphql-transport-ws operations run by our run_operation (fast paths, size "
    "refusal); errors before execution end the operation, not the socket",
    fallback="Strawberry's run_operation (schema.stream for every operation)",
)
def _check_transport_ws() -> None:
    base = BaseGraphQLTransportWSHandler
    init = _source(base.__init__)
    for attribute in ("self.operations", "self.connection_init_timeout_task"):
        if attribute not in init:
            raise AttributeError(f"BaseGraphQLTransportWSHandler has no {attribute}")
    for method, parameters in (
        (base.run_operation, ["self", "operation"]),
        (base.handle_task_exception, ["self", "error"]),
        (base._send_result_stream, ["self", "operation", "result_source"]),
        (base.cleanup_operation, ["self", "operation_id"]),
        (base.send_message, ["self", "message"]),
        (Operation.send_operation_message, ["self", "message"]),
        (Operation.send_initial_errors, ["self", "errors"]),
    ):
        if _parameters(method) != parameters:
            raise TypeError(f"{method.__qualname__}{_parameters(method)}")
    slots = set(getattr(Operation, "__slots__", ()))
    wanted = {"id", "query", "variables", "operation_name"}
    if not wanted <= slots:
        raise AttributeError(f"Operation lacks {sorted(wanted - slots)}")
    # Our _get_pre_execution_close_reason (None: an ``error`` for the operation, not a 4400
    # for the socket) must be what decides.
    if "self._get_pre_execution_close_reason(" not in _source(base._handle_pre_execution_error):
        raise TypeError("pre-execution errors no longer ask _get_pre_execution_close_reason")
    # The fast path writes the frames Strawberry's send_next would: {"id", "type", "payload"}.
    if '"type": "next"' not in _source(Operation.send_next).replace("'", '"'):
        raise TypeError("Operation.send_next no longer sends type next")


@hook(
    GRAPHQL_WS,
    library="strawberry-graphql",
    versions=">=0.280,<0.400",
    purpose="legacy graphql-ws: 4403 on a refused init, size refusal, ends on revocation",
    fallback="Strawberry's graphql-ws handling (a refused init closes with 1011)",
)
def _check_graphql_ws() -> None:
    base = BaseGraphQLWSHandler
    if "self.tasks" not in _source(base.__init__):
        raise AttributeError("BaseGraphQLWSHandler has no tasks")
    for method, parameters in (
        (base.cleanup_operation, ["self", "operation_id"]),
        (base.send_message, ["self", "message"]),
        (base.handle_start, ["self", "message"]),
        (base.handle_connection_init, ["self", "message"]),
    ):
        if _parameters(method) != parameters:
            raise TypeError(f"{method.__qualname__}{_parameters(method)}")
    if "self.context.connection_params" not in _source(base.handle_connection_init):
        raise TypeError("graphql-ws connection_init no longer sets context.connection_params")


@hook(
    CONSUMER_QUEUE,
    library="strawberry-graphql",
    versions=">=0.280,<0.400",
    purpose="a small FIFO in place of the asyncio.Queue Strawberry keeps per socket",
    fallback="Strawberry's asyncio.Queue",
)
def _check_consumer_queue() -> None:
    if "self.message_queue" not in inspect.getsource(GraphQLWSConsumer.__init__):
        raise AttributeError("GraphQLWSConsumer no longer has message_queue")
    for method in (GraphQLWSConsumer.receive, GraphQLWSConsumer.disconnect):
        if "self.message_queue.put_nowait(" not in inspect.getsource(method):
            raise TypeError(f"GraphQLWSConsumer.{method.__name__} no longer uses put_nowait")
    if "message_queue.get()" not in inspect.getsource(ChannelsWebSocketAdapter.iter_json):
        raise TypeError("Strawberry's adapter no longer reads message_queue.get()")
