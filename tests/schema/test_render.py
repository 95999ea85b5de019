"""Compiled selections (internals/fastpaths/render.py) give exactly what execution gives."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from graphql import FieldNode, OperationDefinitionNode, build_schema, parse

from chat import events, posting, services
from chat.models import Message
from internals.fastpaths.execution import document_prepare, operation_execute, operation_get
from internals.fastpaths.render import NotRenderable, Scope, selection_compile
from schema import schema
from schema.context import ChatContext
from tests import factories

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded]

RENDERED = [
    "id seq text createdAt author { id username } room { id name createdAt lastSeq private }",
    "text",
    "__typename id room { __typename name } author { __typename }",
    "a: text b: seq who: author { name: username }",
    "...Fields",
    "... on Message { seq } text",
    "... { seq ... on Message { text } } author { ...Author }",
]
EXECUTED = [
    "room { createdBy { username } }",
    "room { members { username } }",
    "text text",
    "author { id } author { username }",
    "text @include(if: true)",
    "... @skip(if: false) { text }",
]
FRAGMENTS = {
    "Fields": "fragment Fields on Message { seq author { id } }",
    "Author": "fragment Author on User { username }",
}


def subscription_field(query: str) -> tuple[object, FieldNode]:
    document = document_prepare(schema, query)
    assert document is not None, query
    operation = operation_get(document, None)
    assert isinstance(operation, OperationDefinitionNode)
    node = operation.selection_set.selections[0]
    assert isinstance(node, FieldNode)
    return document, node


def document(selection: str) -> str:
    used = " ".join(text for name, text in FRAGMENTS.items() if f"...{name}" in selection)
    return f'subscription {{ messageAdded(room: "secret") {{ {selection} }} }} {used}'


@pytest.fixture
def messages() -> list[Message]:
    alice = factories.member("alice").user
    services.room_create(name="secret", private=True, creator=alice)
    created = posting.message_create(room_name="secret", author=alice, text="hi")
    # As the hub gets it: rebuilt from the channel-layer event.
    received = events.message_from_payload(events.message_event_build(created)["message"])
    return [created, received]


@pytest.mark.parametrize("selection", RENDERED)
async def test_rendered_selection_equals_execution(selection: str, messages: list[Message]) -> None:
    query = document(selection)
    parsed, node = subscription_field(query)
    render = selection_compile(schema._schema, parsed, "Message", node)  # type: ignore[arg-type]
    assert render is not None
    context = ChatContext(user=await sync_to_async(lambda: messages[0].author)())
    for message in messages:
        executed = await operation_execute(
            schema, parsed, operation_name=None, variables=None, context=context,  # type: ignore[arg-type]
            root_value=message,
        )  # fmt: skip
        assert "errors" not in executed
        # Byte for byte: the same keys in the same order.
        rendered = {"data": {"messageAdded": render(message, Scope())}}
        assert json.dumps(rendered) == json.dumps(executed)


@pytest.mark.parametrize("selection", EXECUTED)
def test_other_selections_are_executed(selection: str) -> None:
    parsed, node = subscription_field(document(selection))
    assert selection_compile(schema._schema, parsed, "Message", node) is None  # type: ignore[arg-type]


# Event kinds whose payload is an interface or a union render too (issue 13's roomEvents).
ABSTRACT_SDL = """
interface Node { id: ID! }
type User implements Node { id: ID! username: String! }
type Room implements Node { id: ID! name: String! lastSeq: Int! }
type Message implements Node { id: ID! seq: Int! text: String! author: User! room: Room! }
type Other implements Node { id: ID! }
union Item = Message | Room
type Query { item: Item node: Node }
"""


def abstract_field(query: str) -> tuple[Any, FieldNode]:
    parsed = parse(query)
    operation = parsed.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    node = operation.selection_set.selections[0]
    assert isinstance(node, FieldNode)
    return parsed, node


def test_a_union_renders_each_member_by_its_class(messages: list[Message]) -> None:
    schema_ = build_schema(ABSTRACT_SDL)
    query = (
        "{ item { __typename ... on Message { seq text author { username } } "
        "... on Room { name } ...N } } fragment N on Node { id }"
    )
    parsed, node = abstract_field(query)
    render = selection_compile(schema_, parsed, "Item", node)
    assert render is not None
    for message in messages:
        assert render(message, Scope()) == {
            "__typename": "Message",
            "seq": 1,
            "text": "hi",
            "author": {"username": "alice"},
            "id": str(message.pk),
        }
    room = messages[1].room
    assert render(room, Scope()) == {"__typename": "Room", "name": "secret", "id": str(room.pk)}
    with pytest.raises(NotRenderable):
        render(object(), Scope())


def test_an_interface_renders_its_renderable_types_and_executes_the_rest(
    messages: list[Message],
) -> None:
    schema_ = build_schema(ABSTRACT_SDL)
    parsed, node = abstract_field("{ node { id ... on Message { seq } } }")
    render = selection_compile(schema_, parsed, "Node", node)
    assert render is not None
    assert render(messages[0], Scope()) == {"id": str(messages[0].pk), "seq": 1}
    # An object of a type without a renderer (Other) is executed instead.
    with pytest.raises(NotRenderable):
        render(SimpleNamespace(pk=1), Scope())
    # A selection one renderable member cannot render compiles to nothing.
    parsed, node = abstract_field(
        "{ node { ... on Room { members: id name } ... on Message { x: text x: seq } } }"
    )
    assert selection_compile(schema_, parsed, "Node", node) is None
