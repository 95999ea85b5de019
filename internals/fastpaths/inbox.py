"""Fast path for ``inbox`` on graphql-transport-ws: each event rendered without the
executor.

An inbox event differs per user (their unread count), so unlike a room's subscriptions
(fastpaths/subscription.py) nothing is shared between subscribers; what this saves is
Strawberry's pipeline per event: the selection is rendered by a function compiled once per
document (fastpaths/render.py), and executed only where it cannot be (a field that reads
the database, such as ``Room.lastMessage``).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import DocumentNode, OperationType

from chat.metrics import FAST_PATH_RESULTS
from internals.fastpaths.execution import event_execute, root_field, variables_coerce
from internals.fastpaths.render import (
    NotRenderable,
    Renderer,
    Scope,
    response_key,
    selection_compile,
)
from schema.caches import DocumentCache, document_cost, document_key

if TYPE_CHECKING:
    from strawberry import Schema

__all__ = ["InboxPlan", "inbox_payload", "plan_inbox"]

FIELD = "inbox"
_RENDERED = FAST_PATH_RESULTS.labels(field=FIELD, how="rendered")
_EXECUTED = FAST_PATH_RESULTS.labels(field=FIELD, how="executed")


@dataclass(frozen=True)
class InboxPlan:
    document: DocumentNode
    operation_name: str | None
    variables: dict[str, Any]
    response_key: str
    render: Renderer | None
    variables_coerced: dict[str, Any]


def plan_inbox(
    schema: Schema, query: str, operation_name: str | None, variables: dict[str, Any] | None
) -> InboxPlan | None:
    """A plan when the operation is a valid, plain ``inbox`` subscription."""
    if not isinstance(query, str) or not isinstance(variables, dict | None):
        return None
    found = root_field(schema, query, operation_name, OperationType.SUBSCRIPTION, FIELD)
    if found is None:
        return None
    document, operation, node = found
    coerced = variables_coerce(schema, operation, variables)
    if coerced is None or node.arguments:
        return None
    return InboxPlan(
        document=document,
        operation_name=operation_name,
        variables=variables or {},
        response_key=response_key(node),
        render=_compiled(schema, query, operation_name, node),
        variables_coerced=coerced.coerced,
    )


_renderers: DocumentCache[tuple[Renderer | None, DocumentNode]] = DocumentCache()


def _compiled(schema: Schema, query: str, operation_name: str | None, node: Any) -> Renderer | None:
    def compile_() -> tuple[Renderer | None, DocumentNode]:
        found = root_field(schema, query, operation_name, OperationType.SUBSCRIPTION, FIELD)
        assert found is not None
        document, _, field_node = found
        return selection_compile(schema._schema, document, "InboxEvent", field_node), document

    key = (schema, document_key(query, operation_name))
    render, _ = _renderers.get(key, compile_, lambda entry: document_cost(entry[1]))
    return render


async def inbox_payload(plan: InboxPlan, schema: Schema, value: Any, context: Any) -> str:
    """The encoded ``next`` payload of one inbox event for this subscriber."""
    if plan.render is not None:
        user = context.user
        scope = Scope(plan.variables_coerced, user.pk if user.is_authenticated else None)
        with contextlib.suppress(NotRenderable):
            rendered = json.dumps({"data": {plan.response_key: plan.render(value, scope)}})
            _RENDERED.inc()
            return rendered
    _EXECUTED.inc()
    return await event_execute(
        schema,
        plan.document,
        operation_name=plan.operation_name,
        variables=plan.variables,
        context=context,
        value=value,
    )
