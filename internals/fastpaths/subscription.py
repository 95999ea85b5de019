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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import DocumentNode, OperationType, get_named_type

from chat.errors import ChatError
from chat.events import MESSAGE_KIND, ROOM_EVENT_KIND, SIGNAL_KIND
from chat.kinds import EventKind
from chat.metrics import FAST_PATH_RESULTS
from chat.services import room_name_check
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
from realtime.subscriber import Envelope
from schema.caches import DocumentCache, document_cost, document_key

if TYPE_CHECKING:
    from prometheus_client import Counter
    from strawberry import Schema

__all__ = [
    "MESSAGE_ADDED",
    "ROOM_EVENTS",
    "ROOM_SIGNALS",
    "OperationPlan",
    "RoomStream",
    "next_payload",
    "plan_message_added",
    "plan_room_events",
    "plan_room_signals",
    "plan_subscription",
    "ready_payload",
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
