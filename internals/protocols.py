"""The websocket protocol handlers: graphql-transport-ws with server pings and the fast
paths (internals/fastpaths/registry.py), and legacy graphql-ws."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any, Protocol

from django.conf import settings
from graphql import DocumentNode, GraphQLError
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws import types as transport_ws
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage,
    StartMessage,
)
from strawberry.types.execution import ExecutionResult, PreExecutionError

from internals.fastpaths.execution import operation_execute
from internals.fastpaths.inbox import InboxPlan, inbox_payload
from internals.fastpaths.post import PostPlan, post_payload
from internals.fastpaths.registry import fast_path_serve
from internals.fastpaths.subscription import OperationPlan, room_serve
from internals.hooks import hook_active
from internals.keepalive import pinger
from internals.strawberry import GRAPHQL_WS, TRANSPORT_WS
from internals.wsmessages import request_payload_problem, subscribe_message_problem
from schema.context import ChatContext
from schema.errors import error_record
from schema.httpspec import is_request_error
from schema.limits import QUERY_TOO_LARGE, query_size_error
from schema.persisted import persisted_payload_apply
from schema.subscriptions import inbox_values


class Socket(Protocol):
    """What the handlers need of the consumer serving their socket (internals.websocket)."""

    @property
    def write_paused(self) -> bool: ...

    async def send(self, text_data: str | None = None) -> None: ...

    async def send_unpaused(self, text: str) -> None: ...


__all__ = ["GraphQLTransportWSHandler", "GraphQLWSHandler"]

logger = logging.getLogger(__name__)


# What the operations of a legacy graphql-ws socket get when its credential is revoked.
SESSION_ENDED: dict[str, Any] = {
    "data": None,
    "errors": [{"message": "Your session has ended.", "extensions": {"code": "UNAUTHENTICATED"}}],
}


class GraphQLWSHandler(BaseGraphQLWSHandler[ChatContext, None]):
    """Legacy graphql-ws: a refused connection_init closes with 4403, as on
    graphql-transport-ws (Strawberry's default is 1011, which clients retry)."""

    async def handle(self) -> None:
        self.view.protocol_handler = self  # type: ignore[attr-defined]
        await super().handle()

    async def credential_revoked(self) -> None:
        """The socket's credential was revoked: end its operations with UNAUTHENTICATED
        (the socket closes next)."""
        if not hook_active(GRAPHQL_WS):
            return
        for operation_id in list(self.tasks):
            ended: Any = {"type": "data", "id": operation_id, "payload": SESSION_ENDED}
            await self.send_message(ended)
            # Its task sends "complete" as it is cancelled.
            await self.cleanup_operation(operation_id)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload = message.get("payload")
        if isinstance(payload, dict) and hook_active(GRAPHQL_WS):
            self.context.connection_params = payload
            try:
                await self.view.on_ws_connect(self.context)
            except ConnectionRejectionError as error:
                await self.send_message({"type": "connection_error", "payload": error.payload})
                await self.websocket.close(code=4403, reason="Forbidden")
                return
        await super().handle_connection_init(message)

    async def handle_start(self, message: StartMessage) -> None:
        payload = message.get("payload")
        if (
            self.connection_acknowledged
            and hook_active(GRAPHQL_WS)
            and isinstance(message.get("id"), str)
            and (problem := request_payload_problem(payload)) is not None
        ):
            # Strawberry would run it and mask what breaks as INTERNAL_SERVER_ERROR, with
            # a logged traceback. The protocol ends an operation it cannot run with an
            # ``error`` for its id; the socket and its other operations go on.
            error_record("BAD_REQUEST")
            refusal: Any = {
                "type": "error",
                "id": message["id"],
                "payload": {"message": problem, "extensions": {"code": "BAD_REQUEST"}},
            }
            await self.send_message(refusal)
            return
        # A well-formed payload may name its document by hash instead of carrying it.
        if self.connection_acknowledged and (missing := await persisted_payload_apply(payload)):
            await self.send_message(
                {"type": "error", "id": message["id"], "payload": missing.formatted}
            )  # type: ignore[typeddict-item]
            return
        query = payload.get("query") if isinstance(payload, dict) else None
        if (
            self.connection_acknowledged
            and hook_active(GRAPHQL_WS)
            and isinstance(query, str)
            and (error := query_size_error(query)) is not None
        ):
            # Refused before it is parsed (nor cached), as graphql-ws reports errors.
            error_record(QUERY_TOO_LARGE)
            refused = {"type": "error", "id": message["id"], "payload": error.formatted}
            await self.send_message(refused)  # type: ignore[arg-type]
            return
        await super().handle_start(message)


def _coercion_error(error: GraphQLError) -> bool:
    """Whether ``error`` is graphql-core's own, raised before execution (no path; no
    original error but another GraphQLError, as coercion wraps the scalar's)."""
    original = error.original_error
    return not error.path and (original is None or isinstance(original, GraphQLError))


async def _request_error_first(results: Any) -> AsyncIterator[Any]:
    """The results as they come, but a first one that is a request error (no data, and
    only ``_coercion_error``s: variables that do not coerce) as the PreExecutionError it
    is. (An exception from a subscription's source stream comes without a path too, but
    with its original exception: a ``next``, as before.)

    Strawberry sends one as ``next`` for a query or mutation (graphql-core raises it in
    execute, not before); PROTOCOL.md makes an error "before execution starts" an ``error``
    message, as it already is for a subscription."""
    first = True
    async with aclosing(results):
        async for result in results:
            if (
                first
                and isinstance(result, ExecutionResult)
                and not isinstance(result, PreExecutionError)
                and result.data is None
                and result.errors
                and all(_coercion_error(error) for error in result.errors)
            ):
                result = PreExecutionError(
                    data=None, errors=result.errors, extensions=result.extensions
                )
            first = False
            yield result


class GraphQLTransportWSHandler(BaseGraphQLTransportWSHandler[ChatContext, None]):
    """graphql-transport-ws with server pings and the fast paths (see
    internals/fastpaths/registry.py)."""

    async def handle(self) -> None:
        self.view.protocol_handler = self  # type: ignore[attr-defined]
        await super().handle()

    async def credential_revoked(self) -> None:
        """The socket's credential was revoked: stop its operations (the socket closes
        with 4403 next)."""
        if not hook_active(TRANSPORT_WS):
            return
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)

    async def handle_connection_init(self, message: transport_ws.ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        if hook_active(TRANSPORT_WS):
            # Strawberry cancelled the timeout task but keeps it (and its traceback) for
            # the socket's lifetime.
            self.connection_init_timeout_task = None
        if self.connection_acknowledged and settings.CHAT["KEEPALIVE_SECONDS"] > 0:
            pinger().add(self)

    async def shutdown(self) -> None:
        pinger().discard(self)
        await super().shutdown()

    async def handle_subscribe(self, message: transport_ws.SubscribeMessage) -> None:
        # PROTOCOL.md, Invalid message: "Receiving a message of a type or format which is
        # not specified in this document will result in an immediate socket closure with
        # the event 4400: <error-message>." Strawberry checks only that payload.query
        # exists: a query that is not a string failed later, as INTERNAL_SERVER_ERROR.
        problem = subscribe_message_problem(message)
        if problem is not None and self.connection_acknowledged:
            await self.websocket.close(code=4400, reason=problem)
            return
        # A well-formed message (its shape checked first: a malformed one is 4400 whatever
        # it carries) may name its document by hash instead of carrying it.
        if self.connection_acknowledged and (
            refused := await persisted_payload_apply(message.get("payload"))
        ):
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [refused.formatted]}
            )  # type: ignore[typeddict-item]
            return
        await super().handle_subscribe(message)

    async def _send_result_stream(
        self, operation: Operation[ChatContext, None], result_source: Any
    ) -> None:
        if hook_active(TRANSPORT_WS):
            result_source = _request_error_first(result_source)
        await super()._send_result_stream(operation, result_source)

    @staticmethod
    def _get_pre_execution_close_reason(error: Any) -> str | None:
        # Strawberry closes the socket with 4400 for a syntax error or an unknown
        # operationName, ending every other subscription on it (and graphql-ws clients
        # treat 4400 as fatal: no retry). PROTOCOL.md, Error: "Operation execution
        # error(s) in response to the Subscribe message. This can occur before execution
        # starts, usually due to validation errors": an ``error`` for that id instead.
        if hook_active(TRANSPORT_WS):
            return None
        return BaseGraphQLTransportWSHandler._get_pre_execution_close_reason(error)

    async def run_operation(self, operation: Operation[ChatContext, None]) -> None:
        if not hook_active(TRANSPORT_WS):
            # Strawberry's own run_operation: no fast path (nor its count).
            await super().run_operation(operation)
            return
        query = operation.query
        if isinstance(query, str) and (error := query_size_error(query)) is not None:
            # Refused before it is parsed (nor cached): the ``error`` message ends it.
            error_record(QUERY_TOO_LARGE)
            await operation.send_initial_errors([error])
            return
        served = fast_path_serve(
            self.schema,  # type: ignore[arg-type]
            query,
            operation.operation_name,
            operation.variables,
        )
        if served is None:
            await super().run_operation(operation)
        elif isinstance(served.plan, OperationPlan):
            await self._run_subscription(operation, served.plan)
        elif isinstance(served.plan, InboxPlan):
            await self._run_inbox(operation, served.plan)
        else:
            await self._run_single(operation, served.plan)

    async def _run_single(
        self, operation: Operation[ChatContext, None], plan: PostPlan | DocumentNode
    ) -> None:
        """A query or mutation served by its fast path: a post (fastpaths/post.py) or a
        document parsed and validated before (fastpaths/execution.py). One ``next`` and
        ``complete``, as Strawberry sends them."""
        try:
            if isinstance(plan, PostPlan):
                payload = await post_payload(
                    plan,
                    self.context,
                    self.schema,  # type: ignore[arg-type]
                    operation.variables,
                )
            else:
                payload = await operation_execute(
                    self.schema,  # type: ignore[arg-type]
                    plan,
                    operation_name=operation.operation_name,
                    variables=operation.variables,
                    context=self.context,
                )
            if is_request_error(payload):
                # Variables that do not coerce: an ``error``, as _request_error_first makes
                # it on Strawberry's path.
                await operation.send_operation_message(
                    {"id": operation.id, "type": "error", "payload": payload["errors"]}
                )
                return
            await operation.send_operation_message(
                {"id": operation.id, "type": "next", "payload": payload}  # type: ignore[arg-type,misc]
            )
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except Exception as error:
            # As Strawberry's run_operation does. (Cancelled, by the client's complete or
            # the socket's end: nothing more to send.)
            await self.handle_task_exception(error)
            with contextlib.suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise

    async def _run_inbox(self, operation: Operation[ChatContext, None], plan: InboxPlan) -> None:
        """``inbox`` served by its fast path, as schema.subscriptions.Subscription.inbox
        serves it."""
        context = self.context
        user = context.user
        if not user.is_authenticated or context.inbox_open:
            # Strawberry's path reports the refusal exactly as the resolver raises it.
            await super().run_operation(operation)
            return
        consumer: Socket = self.view  # type: ignore[assignment]
        prefix = '{"id": ' + json.dumps(operation.id) + ', "type": "next", "payload": '
        try:
            async with aclosing(inbox_values(context)) as values:
                async for value in values:
                    payload = await inbox_payload(plan, self.schema, value, context)  # type: ignore[arg-type]
                    await consumer.send(text_data=prefix + payload + "}")
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except Exception as error:
            await self.handle_task_exception(error)
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
            raise

    async def _run_subscription(
        self, operation: Operation[ChatContext, None], plan: OperationPlan
    ) -> None:
        """A room subscription served by its fast path (fastpaths/subscription.py)."""
        consumer: Socket = self.view  # type: ignore[assignment]
        sink = _OperationSink(consumer, operation.id)
        try:
            served = await room_serve(plan, self.schema, self.context, sink)  # type: ignore[arg-type]
            if served:
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except Exception as error:
            await self.handle_task_exception(error)
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
            raise
        if not served:
            # Refused at its start: Strawberry's path reports it exactly as the resolver
            # raises it.
            await super().run_operation(operation)


class _OperationSink:
    """An operation's ``next`` messages on its socket (fastpaths.subscription.PayloadSink)."""

    __slots__ = ("_consumer", "_prefix")

    def __init__(self, consumer: Socket, operation_id: str) -> None:
        self._consumer = consumer
        # The frame is {"id": ..., "type": "next", "payload": ...}, as Strawberry encodes it.
        self._prefix = '{"id": ' + json.dumps(operation_id) + ', "type": "next", "payload": '

    @property
    def write_paused(self) -> bool:
        return self._consumer.write_paused

    async def send_payload(self, payload: str) -> None:
        # Waits while the client is not reading (see ChatWSConsumer.send).
        await self._consumer.send(text_data=self._prefix + payload + "}")

    async def send_payload_unpaused(self, payload: str) -> None:
        await self._consumer.send_unpaused(self._prefix + payload + "}")
