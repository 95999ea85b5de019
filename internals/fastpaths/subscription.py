"""Fast path for ``messageAdded`` on graphql-transport-ws: execute once, encode once.

Strawberry runs a subscription by executing its selection on every event for every
subscriber and JSON-encoding each result separately. Here, the selection is executed once
per event per distinct operation (same document, operation name and variables) and the
``next`` payload is encoded once; each subscriber only prepends its own operation id.
Most selections are not even executed but rendered by a function compiled once per
document (internals/fastpaths/render.py).
The shared results hang off the Envelope the RoomHub hands to every local subscriber
(``Envelope.rendered``), so they live exactly as long as the event.

Every ``Message`` field is the same for every viewer allowed to subscribe, which is what
makes sharing a result between sockets correct; a viewer-dependent field would have to
become part of ``OperationPlan.key``.

Anything the fast path does not recognise (other operations, fragments at the root,
invalid documents or variables, invalid arguments) runs through Strawberry's own path,
which produces the exact same results and errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import DocumentNode, OperationType

from chat.errors import ChatError
from chat.services import room_name_check
from internals.fastpaths.execution import operation_execute, root_field, root_field_arguments
from internals.fastpaths.render import NotRenderable, Renderer, response_key, selection_compile
from realtime.subscriber import Envelope
from schema.caches import DocumentCache, document_cost, document_key

if TYPE_CHECKING:
    from strawberry import Schema

__all__ = ["OperationPlan", "next_payload", "plan_message_added"]

_FIELD = "messageAdded"


@dataclass(frozen=True)
class OperationPlan:
    document: DocumentNode
    operation_name: str | None
    variables: dict[str, Any]
    room: str
    after_seq: int | None
    # Operations with equal keys get byte-identical payloads for the same event.
    key: tuple[str, str | None, str]
    # The payload's data without the executor (see internals/fastpaths/render.py), when possible.
    response_key: str
    render: Renderer | None


def plan_message_added(
    schema: Schema, query: str, operation_name: str | None, variables: dict[str, Any] | None
) -> OperationPlan | None:
    """Return a plan when the operation is a valid, plain ``messageAdded`` subscription."""
    if not isinstance(query, str) or not isinstance(variables, dict | None):
        return None
    found = root_field(schema, query, operation_name, OperationType.SUBSCRIPTION, _FIELD)
    if found is None:
        return None
    document, operation, node = found
    arguments = root_field_arguments(schema, operation, node, variables)
    if arguments is None:
        return None
    room, after_seq = arguments.get("room"), arguments.get("afterSeq")
    if not isinstance(room, str):
        return None
    try:
        room_name_check(room)
    except ChatError:
        return None
    if after_seq is not None and after_seq < 0:
        return None
    return OperationPlan(
        document=document,
        operation_name=operation_name,
        variables=variables or {},
        room=room,
        after_seq=after_seq,
        key=(query, operation_name, json.dumps(variables or {}, sort_keys=True)),
        response_key=response_key(node),
        render=_renderer(schema, query, operation_name),
    )


# A renderer holds nodes of its document, and so the whole document (see schema/caches.py).
_renderers: DocumentCache[tuple[Renderer | None, DocumentNode]] = DocumentCache()


def _renderer(schema: Schema, query: str, operation_name: str | None) -> Renderer | None:
    def compile_() -> tuple[Renderer | None, DocumentNode]:
        found = root_field(schema, query, operation_name, OperationType.SUBSCRIPTION, _FIELD)
        assert found is not None
        document, _, node = found
        return selection_compile(schema._schema, document, "Message", node), document

    key = (schema, document_key(query, operation_name))
    return _renderers.get(key, compile_, lambda entry: document_cost(entry[1]))[0]


async def _execute(plan: OperationPlan, schema: Schema, value: Any, context: Any) -> str:
    payload = await operation_execute(
        schema,
        plan.document,
        operation_name=plan.operation_name,
        variables=plan.variables,
        context=context,
        root_value=value,
    )
    return json.dumps(payload)


_PayloadCache = dict[tuple[str, str | None, str], "str | asyncio.Future[str]"]


def ready_payload(plan: OperationPlan, envelope: Envelope) -> str | None:
    """The encoded ``next`` payload if it needs no execution: already made for this event
    by another subscriber of the same operation, or rendered now (see fastpaths/render.py)."""
    cache: _PayloadCache = envelope.rendered
    entry = cache.get(plan.key)
    if entry is None and plan.render is not None:
        with contextlib.suppress(NotRenderable):
            entry = cache[plan.key] = json.dumps(
                {"data": {plan.response_key: plan.render(envelope.value)}}
            )
    if isinstance(entry, str):
        return entry
    if entry is not None and entry.done() and not entry.cancelled():
        return entry.result()
    return None


async def next_payload(
    plan: OperationPlan, schema: Schema, envelope: Envelope, context: Any
) -> str:
    """Return the encoded ``next`` payload for this event, computed once per plan key."""
    if (ready := ready_payload(plan, envelope)) is not None:
        return ready
    # A future while it executes: execution may suspend (an async resolver), and the
    # other subscribers of the same operation must wait for it rather than run it again.
    cache: _PayloadCache = envelope.rendered
    future = cache.get(plan.key)
    if not isinstance(future, asyncio.Future):
        future = cache[plan.key] = asyncio.ensure_future(
            _execute(plan, schema, envelope.value, context)
        )
    # Shielded: a subscriber that goes away while waiting must not cancel the execution
    # the others wait for too.
    return await asyncio.shield(future)
