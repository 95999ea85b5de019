"""Compiled selections (internals/fastpaths/render.py) give exactly what execution gives."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import AnonymousUser, User
from graphql import FieldNode, OperationDefinitionNode, build_schema, parse

from chat import events, messaging, posting, services
from chat.models import Message
from internals.fastpaths.execution import document_prepare, operation_execute, operation_get
from internals.fastpaths.render import (
    NotRenderable,
    Scope,
    selection_compile,
    selects_viewer_fields,
)
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
    # Issue 13's fields: nullable leaves render their nulls, replyTo and reactions as read
    # with the message, reactedByMe for the render's viewer, users(first) sliced.
    "editedAt deleted",
    "replyTo { id seq text editedAt deleted author { username } room { name } replyTo { id } }",
    "reactions { emoji count reactedByMe users { id username } }",
    "reactions { none: users(first: 0) { id } one: users(first: 1) { username } users { id } }",
    "... on Message { replyTo { ...Fields } } reactions { ... on Reaction { emoji } }",
]
EXECUTED = [
    "room { createdBy { username } }",
    "room { members { username } }",
    "text text",
    "author { id } author { username }",
    "text @include(if: true)",
    "... @skip(if: false) { text }",
    "reactions { users(first: 51) { id } }",
    "reactions { users(first: -1) { id } }",
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
    """The first message posted (as posted, and as the hub gets it: rebuilt from the
    channel-layer event), then a reply to it with reactions (as addReaction returns it,
    and as received)."""
    alice = factories.member("alice").user
    bob = factories.member("bob").user
    services.room_create(name="secret", private=True, creator=alice)
    services.room_invite(name="secret", username="bob", inviter=alice)
    created = posting.message_create(room_name="secret", author=alice, text="hi")
    received = events.message_from_payload(events.message_event_build(created)["message"])
    reply = posting.message_create(
        room_name="secret", author=bob, text="re", reply_to_id=created.pk
    )
    messaging.reaction_add(message_id=reply.pk, user=bob, emoji="👍")
    messaging.reaction_add(message_id=reply.pk, user=alice, emoji=":tada:")
    reacted = messaging.reaction_add(message_id=reply.pk, user=alice, emoji="👍")
    reacted_received = events.message_from_payload(events.message_payload(reacted))
    return [created, received, reply, reacted, reacted_received]


async def execution_matches(
    parsed: Any, render: Any, message: Message, viewer: Any, variables: Any = None
) -> None:
    executed = await operation_execute(
        schema, parsed, operation_name=None, variables=variables,  # type: ignore[arg-type]
        context=ChatContext(user=viewer), root_value=message,
    )  # fmt: skip
    assert "errors" not in executed
    # Byte for byte: the same keys in the same order.
    scope = Scope(variables, viewer.pk if viewer.is_authenticated else None)
    rendered = {"data": {"messageAdded": render(message, scope)}}
    assert json.dumps(rendered) == json.dumps(executed)


@pytest.mark.parametrize("selection", RENDERED)
async def test_rendered_selection_equals_execution(selection: str, messages: list[Message]) -> None:
    query = document(selection)
    parsed, node = subscription_field(query)
    render = selection_compile(schema._schema, parsed, "Message", node)  # type: ignore[arg-type]
    assert render is not None
    viewers = await sync_to_async(
        lambda: [*User.objects.filter(username__in=["alice", "bob"]), AnonymousUser()]
    )()
    for message in messages:
        for viewer in viewers:
            await execution_matches(parsed, render, message, viewer)


async def test_reactions_render_per_viewer_and_first_by_variable(
    messages: list[Message],
) -> None:
    query = (
        'subscription($n: Int) { messageAdded(room: "secret") { reactions { reactedByMe '
        "users(first: $n) { username } } } }"
    )
    parsed, node = subscription_field(query)
    render = selection_compile(schema._schema, parsed, "Message", node)  # type: ignore[arg-type]
    assert render is not None
    alice, bob = await sync_to_async(lambda: list(User.objects.order_by("username")))()
    reacted = messages[3]
    for n in (None, 0, 1, 50):
        variables = {} if n is None else {"n": n}
        for viewer in (alice, bob, AnonymousUser()):
            await execution_matches(parsed, render, reacted, viewer, variables)
    assert render(reacted, Scope({"n": 1}, alice.pk)) == {
        "reactions": [
            {"reactedByMe": True, "users": [{"username": "bob"}]},
            {"reactedByMe": True, "users": [{"username": "alice"}]},
        ]
    }
    assert render(reacted, Scope({}, bob.pk))["reactions"][1] == {
        "reactedByMe": False,
        "users": [{"username": "alice"}],
    }
    # Out of range, or null: executed, for the resolver's error.
    for n in (-1, 51, None):
        with pytest.raises(NotRenderable):
            render(reacted, Scope({"n": n}, alice.pk))


async def test_what_the_message_does_not_carry_is_executed(messages: list[Message]) -> None:
    """replyTo not cached, reactions not read, a deferred room.lastEventSeq."""
    created, received, reply = messages[:3]
    parsed, node = subscription_field(document("replyTo { id }"))
    render_reply = selection_compile(schema._schema, parsed, "Message", node)  # type: ignore[arg-type]
    parsed, node = subscription_field(document("reactions { emoji }"))
    render_reactions = selection_compile(schema._schema, parsed, "Message", node)  # type: ignore[arg-type]
    parsed, node = subscription_field(document("room { lastEventSeq }"))
    render_room = selection_compile(schema._schema, parsed, "Message", node)  # type: ignore[arg-type]
    assert render_reply and render_reactions and render_room
    # As read from the database: nothing cached, nothing read with it.
    stored = await sync_to_async(Message.objects.get)(pk=reply.pk)
    assert stored.reply_to_id is not None
    with pytest.raises(NotRenderable):
        render_reply(stored, Scope())
    with pytest.raises(NotRenderable):
        render_reactions(stored, Scope())
    # No reply at all: null, without the database.
    assert render_reply(created, Scope()) == {"replyTo": None}
    assert render_reply(reply, Scope()) == {"replyTo": {"id": str(created.pk)}}
    # The post knows its room's lastEventSeq, and so does its event; an event without it
    # (from a process of the version before room events) leaves it to the executor.
    assert render_room(created, Scope()) == {"room": {"lastEventSeq": 3}}
    posted = events.message_event_build(created, event_seq=3)["message"]
    assert render_room(events.message_from_payload(posted), Scope()) == {
        "room": {"lastEventSeq": 3}
    }
    with pytest.raises(NotRenderable):
        render_room(received, Scope())


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (document("reactions { reactedByMe }"), True),
        (document("...R") + " fragment R on Message { reactions { mine: reactedByMe } }", True),
        (document("reactions { emoji count users { username } }"), False),
        (document("replyTo { reactions { emoji } } room { name }"), False),
    ],
)
def test_a_document_selecting_reacted_by_me_is_viewer_dependent(query: str, expected: bool) -> None:
    parsed, _ = subscription_field(query)
    assert selects_viewer_fields(schema._schema, parsed) is expected  # type: ignore[arg-type]


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
    for message in messages[:2]:
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
