"""Fast path for a room's subscriptions (``messageAdded``, ``roomEvents``,
``roomSignals``) on
graphql-transport-ws: execute once, encode once.

Strawberry runs a subscription by executing its selection on every event for every
subscriber and JSON-encoding each result separately. Here, the selection is executed once
per event per distinct operation (same document, operation name and variables) and the
``next`` payload is encoded once; each subscriber only prepends its own operation id.
Most selections are not even executed but rendered by a function compiled once per
document (internals/fastpaths/render.py).
The shared results hang off the Envelope the RoomHub hands to every local subscriber
(``Envelope.rendered``), so they live exactly as long as the event.

Sharing a result between sockets is correct because every field is the same for every
viewer allowed to subscribe, but for the viewer-dependent ones (render.VIEWER_FIELDS,
``Reaction.reactedByMe``): a document that selects one has its results keyed by viewer
too (at most one result per distinct viewer per event); one that does not pays nothing
per subscriber for them.

One ``RoomStream`` per subscription field: its root field, its event kind and the
argument it resumes after. Anything the fast path does not recognise (other operations,
fragments at the root, invalid documents or variables, invalid arguments) runs through
Strawberry's own path, which produces the exact same results and errors: the plan
restates the resolver's checks (schema.subscriptions._room_stream) and declines what
they refuse.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from graphql import DocumentNode, OperationType, get_named_type

from chat.db import in_thread
from chat.errors import ChatError, Forbidden, TooManyUnknownRooms
from chat.events import MESSAGE_KIND, ROOM_EVENT_KIND, SIGNAL_KIND
from chat.kinds import EventKind
from chat.metrics import FAST_PATH_RESULTS
from chat.services import room_name_check, room_subscribe_check
from internals.fastpaths.execution import (
    event_execute,
    field_arguments,
    root_field,
    variables_coerce,
)
from internals.fastpaths.render import (
    NotRenderable,
    Renderer,
    Scope,
    response_key,
    selection_compile,
    selects_viewer_fields,
)
from realtime.streams import event_stream
from realtime.subscriber import Envelope
from schema.caches import DocumentCache, document_cost, document_key
from schema.errors import error_record
from schema.subscriptions import unknown_room_release, unknown_room_take

if TYPE_CHECKING:
    from prometheus_client import Counter
    from strawberry import Schema

__all__ = [
    "MESSAGE_ADDED",
    "ROOM_EVENTS",
    "ROOM_SIGNALS",
    "OperationPlan",
    "PayloadSink",
    "RoomStream",
    "next_payload",
    "plan_message_added",
    "plan_room_events",
    "plan_room_signals",
    "plan_subscription",
    "ready_payload",
    "room_serve",
]


@dataclass(frozen=True)
class RoomStream:
    """A subscription field streaming one room's event kind."""

    field: str
    kind: EventKind[Any]
    after: str | None  # the argument of the position to resume after (durable kinds)
    rendered: Counter
    executed: Counter


def _stream(field: str, kind: EventKind[Any], after: str | None) -> RoomStream:
    return RoomStream(
        field,
        kind,
        after,
        rendered=FAST_PATH_RESULTS.labels(field=field, how="rendered"),
        executed=FAST_PATH_RESULTS.labels(field=field, how="executed"),
    )


MESSAGE_ADDED = _stream("messageAdded", MESSAGE_KIND, "afterSeq")
ROOM_EVENTS = _stream("roomEvents", ROOM_EVENT_KIND, "afterEventSeq")
ROOM_SIGNALS = _stream("roomSignals", SIGNAL_KIND, None)


@dataclass(frozen=True)
class OperationPlan:
    stream: RoomStream
    document: DocumentNode
    operation_name: str | None
    variables: dict[str, Any]
    room: str
    after: int | None
    # Operations with equal keys get byte-identical payloads for the same event (with
    # the viewer's id added when ``by_viewer``).
    key: tuple[str, str | None, str]
    by_viewer: bool
    # The payload's data without the executor (see internals/fastpaths/render.py), when
    # possible; with the operation's coerced variables (and no viewer) in ``scope``.
    response_key: str
    render: Renderer | None
    scope: Scope


def plan_subscription(
    stream: RoomStream,
) -> Callable[[Schema, str, str | None, dict[str, Any] | None], OperationPlan | None]:
    """The planner of ``stream``'s fast path (registry.FastPath.plan)."""

    def plan(
        schema: Schema, query: str, operation_name: str | None, variables: dict[str, Any] | None
    ) -> OperationPlan | None:
        """A plan when the operation is a valid, plain subscription to ``stream``."""
        if not isinstance(query, str) or not isinstance(variables, dict | None):
            return None
        found = root_field(schema, query, operation_name, OperationType.SUBSCRIPTION, stream.field)
        if found is None:
            return None
        document, operation, node = found
        coerced = variables_coerce(schema, operation, variables)
        if coerced is None:
            return None
        arguments = field_arguments(schema, operation, node, coerced)
        if arguments is None:
            return None
        room = arguments.get("room")
        after = None if stream.after is None else arguments.get(stream.after)
        if not isinstance(room, str):
            return None
        # As schema.subscriptions._room_stream checks them: its errors are Strawberry's to
        # report.
        try:
            room_name_check(room)
        except ChatError:
            return None
        if after is not None and after < 0:
            return None
        render, by_viewer = _compiled(schema, query, operation_name, stream.field)
        return OperationPlan(
            stream=stream,
            document=document,
            operation_name=operation_name,
            variables=variables or {},
            room=room,
            after=after,
            key=(query, operation_name, json.dumps(variables or {}, sort_keys=True)),
            by_viewer=by_viewer,
            response_key=response_key(node),
            render=render,
            scope=Scope(coerced.coerced),
        )

    return plan


plan_message_added = plan_subscription(MESSAGE_ADDED)
plan_room_events = plan_subscription(ROOM_EVENTS)
plan_room_signals = plan_subscription(ROOM_SIGNALS)


# (renderer, whether results differ by viewer, the document): a renderer holds nodes of
# its document, and so the whole document (see schema/caches.py).
_renderers: DocumentCache[tuple[Renderer | None, bool, DocumentNode]] = DocumentCache()


def _compiled(
    schema: Schema, query: str, operation_name: str | None, field: str
) -> tuple[Renderer | None, bool]:
    def compile_() -> tuple[Renderer | None, bool, DocumentNode]:
        found = root_field(schema, query, operation_name, OperationType.SUBSCRIPTION, field)
        assert found is not None
        document, _, node = found
        graphql_schema = schema._schema
        subscription = graphql_schema.subscription_type
        assert subscription is not None
        type_name = get_named_type(subscription.fields[field].type).name
        render = selection_compile(graphql_schema, document, type_name, node)
        return render, selects_viewer_fields(graphql_schema, document), document

    key = (schema, document_key(query, operation_name))
    render, by_viewer, _ = _renderers.get(key, compile_, lambda entry: document_cost(entry[2]))
    return render, by_viewer


async def _execute(plan: OperationPlan, schema: Schema, value: Any, context: Any) -> str:
    plan.stream.executed.inc()
    return await event_execute(
        schema,
        plan.document,
        operation_name=plan.operation_name,
        variables=plan.variables,
        context=context,
        value=value,
    )


_PayloadCache = dict[tuple[Any, ...], "str | asyncio.Future[str]"]
_Key = tuple[Any, ...]


def _viewer_key(plan: OperationPlan, context: Any) -> tuple[_Key, int | None]:
    """The event's payload key for this subscriber, and its viewer (``by_viewer`` plans
    only: the viewer as the resolvers see it, ``info.context.user``, now)."""
    if not plan.by_viewer:
        return plan.key, None
    user = context.user
    viewer = user.pk if user.is_authenticated else None
    return (*plan.key, viewer), viewer


def _ready(plan: OperationPlan, envelope: Envelope, key: _Key, viewer: int | None) -> str | None:
    cache: _PayloadCache = envelope.rendered
    entry = cache.get(key)
    if entry is None and plan.render is not None:
        scope = Scope(plan.scope.variables, viewer) if plan.by_viewer else plan.scope
        with contextlib.suppress(NotRenderable):
            entry = cache[key] = json.dumps(
                {"data": {plan.response_key: plan.render(envelope.value, scope)}}
            )
            plan.stream.rendered.inc()
    if isinstance(entry, str):
        return entry
    if entry is not None and entry.done() and not entry.cancelled():
        return entry.result()
    return None


def ready_payload(plan: OperationPlan, envelope: Envelope, context: Any) -> str | None:
    """The encoded ``next`` payload if it needs no execution: already made for this event
    by another subscriber of the same operation (and viewer, if it matters), or rendered
    now (see fastpaths/render.py)."""
    key, viewer = _viewer_key(plan, context)
    return _ready(plan, envelope, key, viewer)


async def next_payload(
    plan: OperationPlan, schema: Schema, envelope: Envelope, context: Any
) -> str:
    """Return the encoded ``next`` payload for this event, computed once per plan key."""
    key, viewer = _viewer_key(plan, context)
    if (ready := _ready(plan, envelope, key, viewer)) is not None:
        return ready
    # A future while it executes: execution may suspend (an async resolver), and the
    # other subscribers of the same operation must wait for it rather than run it again.
    cache: _PayloadCache = envelope.rendered
    future = cache.get(key)
    if not isinstance(future, asyncio.Future):
        future = cache[key] = asyncio.ensure_future(_execute(plan, schema, envelope.value, context))
    # Shielded: a subscriber that goes away while waiting must not cancel the execution
    # the others wait for too.
    return await asyncio.shield(future)


class PayloadSink(Protocol):
    """Where a subscription's encoded ``next`` payloads go: a websocket operation
    (internals/protocols.py) or an HTTP stream (internals/httpstream.py)."""

    @property
    def write_paused(self) -> bool: ...

    async def send_payload(self, payload: str) -> None:
        """Send it, waiting while the client is not reading."""

    async def send_payload_unpaused(self, payload: str) -> None:
        """Send it now: the caller checked ``write_paused``."""


async def room_serve(plan: OperationPlan, schema: Schema, context: Any, sink: PayloadSink) -> bool:
    """Serve a room subscription by its fast path (plan.stream: messageAdded, roomEvents
    or roomSignals), as schema.subscriptions._room_stream serves it, until it ends; False
    (nothing sent) when it is refused at its start, which Strawberry's path reports
    exactly as for any other resolver error."""
    user = context.user
    try:
        version, exists = await in_thread(room_subscribe_check)(name=plan.room, user=user)
        counted = unknown_room_take(context, exists=exists)
    except (Forbidden, TooManyUnknownRooms):
        return False
    user_id = user.pk if user.is_authenticated else None

    async def send_now(envelope: Envelope) -> bool:
        # The hub calls this for every subscriber of every room in turn, in its one
        # task: never wait here, for a client or for an execution (a selection that
        # reads the database). The message goes to the subscription's buffer
        # instead, and its own task executes it (``send_payload``), in order.
        if sink.write_paused:
            return False
        payload = ready_payload(plan, envelope, context)
        if payload is None:
            return False
        await sink.send_payload_unpaused(payload)
        return True

    try:
        stream = event_stream(
            kind=plan.stream.kind,
            room_name=plan.room,
            after=plan.after,
            user_id=user_id,
            access_version=version,
            direct=send_now,
            username=user.get_username() if user_id is not None else None,
        )
        try:
            async with aclosing(stream) as envelopes:
                async for envelope in envelopes:
                    await sink.send_payload(await next_payload(plan, schema, envelope, context))
        except Forbidden as error:
            # Access lost: as Strawberry's path reports a resolver error.
            error_record(error.code, plan.stream.field)
            errors = [{"message": error.message, "extensions": {"code": error.code}}]
            await sink.send_payload(json.dumps({"data": None, "errors": errors}))
    finally:
        if counted:
            unknown_room_release(context)
    return True
