"""``sendMessage`` on websockets without the executor: the other half of every fan-out.

A post is recognised once per document: a mutation whose only root field is a
directive-free ``sendMessage`` with a selection that compiles (internals/fastpaths/render.py). Its
arguments are coerced from the variables as graphql-core coerces them, and it runs the
resolver's own code (``schema.mutations.message_send``). An error is located on the
field and coded by ``ErrorCodes``, exactly as the executor reports it; any other
document, or arguments that do not coerce, take Strawberry's standard path (see registry.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    located_error,
)

from internals.fastpaths.execution import errors_format, root_field, root_field_arguments
from internals.fastpaths.render import Renderer, response_key, selection_compile
from schema.caches import DocumentCache, document_cost, document_key
from schema.mutations import message_send

if TYPE_CHECKING:
    from strawberry import Schema

    from schema.context import ChatContext

__all__ = ["PostPlan", "plan_post", "post_payload"]

_FIELD = "sendMessage"


@dataclass(frozen=True)
class _Shape:
    operation: OperationDefinitionNode
    node: FieldNode
    response_key: str
    render: Renderer
    # (room's, text's) variable, when the arguments need no coercion (_plain_variables).
    variables: tuple[str, str] | None


def _plain_variables(operation: OperationDefinitionNode, node: FieldNode) -> tuple[str, str] | None:
    """The names of the room and text variables when the operation declares just those
    two, as ``String!`` with no default or directive, and passes them straight to
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
    room, text = arguments.get("room"), arguments.get("text")
    if len(arguments) != 2 or not isinstance(room, VariableNode):
        return None
    if not isinstance(text, VariableNode) or room.name.value == text.name.value:
        return None
    if {room.name.value, text.name.value} != {d.variable.name.value for d in definitions}:
        return None
    return room.name.value, text.name.value


@dataclass(frozen=True)
class PostPlan:
    shape: _Shape
    room: str
    text: str


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
        room, text = variables.get(shape.variables[0]), variables.get(shape.variables[1])
        if isinstance(room, str) and isinstance(text, str):
            return PostPlan(shape=shape, room=room, text=text)
    arguments = root_field_arguments(schema, shape.operation, shape.node, variables)
    if arguments is None:
        return None
    room, text = arguments.get("room"), arguments.get("text")
    if not isinstance(room, str) or not isinstance(text, str):
        return None
    return PostPlan(shape=shape, room=room, text=text)


async def post_payload(plan: PostPlan, context: ChatContext) -> dict[str, Any]:
    """Post, and return the ``next`` payload the executor would have made."""
    shape = plan.shape
    try:
        message = await message_send(context, room=plan.room, text=plan.text)
        return {"data": {shape.response_key: shape.render(message)}}
    except Exception as error:
        # Message is non-null, so an error nulls the whole result, as in the executor.
        located = located_error(error, [shape.node], [shape.response_key])
        return {"data": None, "errors": errors_format([located])}
