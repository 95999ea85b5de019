"""``sendMessage`` on websockets without the executor: the other half of every fan-out.

A post is recognised once per document: a mutation whose only root field is a
directive-free ``sendMessage`` with a selection that compiles (internals/fastpaths/render.py).
Its arguments (``replyTo`` and ``clientId`` included) are coerced from the variables as
graphql-core coerces them, and it runs the resolver's own code
(``schema.mutations.message_send``). An error is located on the field and coded by
``ErrorCodes``, exactly as the executor reports it; any other document, or arguments that
do not coerce, take Strawberry's standard path (see registry.py). A posted message the
compiled selection cannot render (a reply's original carries no reactions) has the
selection executed on it, without posting again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import (
    DocumentNode,
    FieldNode,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    located_error,
)

from internals.fastpaths.execution import (
    errors_format,
    field_arguments,
    operation_execute,
    root_field,
    variables_coerce,
)
from internals.fastpaths.render import (
    NotRenderable,
    Renderer,
    Scope,
    response_key,
    selection_compile,
)
from schema.caches import DocumentCache, document_cost, document_key
from schema.mutations import message_send

if TYPE_CHECKING:
    from strawberry import Schema

    from schema.context import ChatContext

__all__ = ["PostPlan", "plan_post", "post_payload"]

_FIELD = "sendMessage"


@dataclass(frozen=True)
class _Shape:
    document: DocumentNode
    operation: OperationDefinitionNode
    node: FieldNode
    response_key: str
    render: Renderer
    # (room's, text's, clientId's or None) variable, when the arguments need no coercion
    # (_plain_variables).
    variables: tuple[str, str, str | None] | None


def _plain_variables(
    operation: OperationDefinitionNode, node: FieldNode
) -> tuple[str, str, str | None] | None:
    """The names of the room, text (and clientId) variables when the operation declares
    just those, as ``String!`` with no default or directive, and passes them straight to
    ``sendMessage``: then string values are the coerced arguments as they are."""
    definitions = operation.variable_definitions or ()
    for definition in definitions:
        kind = definition.type
        if (
            definition.default_value is not None
            or definition.directives
            or not isinstance(kind, NonNullTypeNode)
            or not isinstance(kind.type, NamedTypeNode)
            or kind.type.name.value != "String"
        ):
            return None
    arguments = {argument.name.value: argument.value for argument in node.arguments or ()}
    room, text, client = arguments.get("room"), arguments.get("text"), arguments.get("clientId")
    if len(arguments) != (2 if client is None else 3):
        return None
    passed = [room, text] if client is None else [room, text, client]
    if not all(isinstance(value, VariableNode) for value in passed):
        return None
    names = [value.name.value for value in passed]  # type: ignore[union-attr]
    if len(set(names)) != len(names) or set(names) != {d.variable.name.value for d in definitions}:
        return None
    return names[0], names[1], names[2] if client is not None else None


@dataclass(frozen=True)
class PostPlan:
    shape: _Shape
    room: str
    text: str
    reply_to: str | None
    client_id: str | None
    # The operation's coerced variables (for arguments in the selection).
    variables: Mapping[str, Any]


# Failures are cached too: every query and mutation on a websocket asks first.
_shapes: DocumentCache[_Shape | None] = DocumentCache()


def _shape(schema: Schema, query: str, operation_name: str | None) -> _Shape | None:
    return _shapes.get(
        (schema, document_key(query, operation_name)),
        lambda: _shape_make(schema, query, operation_name),
        # A shape holds nodes of its document, and so the whole document.
        lambda shape: document_cost(None if shape is None else shape.operation),
    )


def _shape_make(schema: Schema, query: str, operation_name: str | None) -> _Shape | None:
    found = root_field(schema, query, operation_name, OperationType.MUTATION, _FIELD)
    if found is None:
        return None
    document, operation, node = found
    render = selection_compile(schema._schema, document, "Message", node)
    if render is None:
        return None
    return _Shape(
        document=document,
        operation=operation,
        node=node,
        response_key=response_key(node),
        render=render,
        variables=_plain_variables(operation, node),
    )


def plan_post(
    schema: Schema, query: str, operation_name: str | None, variables: dict[str, Any] | None
) -> PostPlan | None:
    """A plan when the operation is a plain ``sendMessage`` with valid arguments."""
    shape = _shape(schema, query, operation_name)
    if shape is None:
        return None
    if shape.variables is not None and variables is not None:
        room_name, text_name, client_name = shape.variables
        room, text = variables.get(room_name), variables.get(text_name)
        client = None if client_name is None else variables.get(client_name)
        if (
            isinstance(room, str)
            and isinstance(text, str)
            and (client_name is None or isinstance(client, str))
        ):
            # No other variable: none in the selection.
            return PostPlan(
                shape=shape, room=room, text=text, reply_to=None, client_id=client, variables={}
            )
    coerced = variables_coerce(schema, shape.operation, variables)
    if coerced is None:
        return None
    arguments = field_arguments(schema, shape.operation, shape.node, coerced)
    if arguments is None:
        return None
    room, text, reply_to = arguments.get("room"), arguments.get("text"), arguments.get("replyTo")
    client = arguments.get("clientId")
    if not isinstance(room, str) or not isinstance(text, str):
        return None
    if reply_to is not None and not isinstance(reply_to, str):
        return None
    if client is not None and not isinstance(client, str):
        return None
    return PostPlan(
        shape=shape,
        room=room,
        text=text,
        reply_to=reply_to,
        client_id=client,
        variables=coerced.coerced,
    )


async def post_payload(
    plan: PostPlan, context: ChatContext, schema: Schema, variables: dict[str, Any] | None
) -> dict[str, Any]:
    """Post, and return the ``next`` payload the executor would have made."""
    shape = plan.shape
    try:
        message = await message_send(
            context,
            room=plan.room,
            text=plan.text,
            reply_to=plan.reply_to,
            client_id=plan.client_id,
        )
    except Exception as error:
        # Message is non-null, so an error nulls the whole result, as in the executor.
        located = located_error(error, [shape.node], [shape.response_key])
        return {"data": None, "errors": errors_format([located])}
    user = context.user
    scope = Scope(plan.variables, user.pk if user.is_authenticated else None)
    try:
        return {"data": {shape.response_key: shape.render(message, scope)}}
    except NotRenderable:
        # Something the post did not load (the reactions of the message it replies to):
        # the selection executes on the message posted, as the executor would complete it.
        return await operation_execute(
            schema,
            shape.document,
            operation_name=shape.operation.name.value if shape.operation.name else None,
            variables=variables,
            context=context,
            resolved=message,
        )
