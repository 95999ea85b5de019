"""The websocket fast paths (internals/fastpaths/registry.py): registered by root field,
counted, all off with CHAT_FAST_PATHS=0, declined while the schema has an extension they do
not replicate, and indistinguishable from Strawberry's path where they restate it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import strawberry
from asgiref.sync import sync_to_async
from graphql import OperationType
from strawberry.extensions import SchemaExtension

from chat import messaging, services
from chat.models import Message, Room
from internals import hooks as internals_hooks
from internals.fastpaths.registry import FAST_PATHS, REPLICATED_EXTENSIONS
from internals.hooks import hooks
from tests import factories
from tests.conftest import GraphQLSocket, fast_path_counts, fast_path_delta, fast_paths_taken

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded, pytest.mark.contract]

WATCH = "subscription Watch($room: String!) { messageAdded(room: $room, afterSeq: 0) { seq text } }"
POST = "mutation Post($room: String!, $text: String!) { sendMessage(room: $room, text: $text) { seq text } }"  # noqa: E501
ME = "query Me { me { username } }"


def test_fast_paths_are_registered_by_operation_type_and_root_field() -> None:
    assert [(path.kind, path.field) for path in FAST_PATHS] == [
        (OperationType.SUBSCRIPTION, "messageAdded"),
        (OperationType.SUBSCRIPTION, "roomEvents"),
        (OperationType.MUTATION, "sendMessage"),
        (OperationType.QUERY, "*"),
        (OperationType.MUTATION, "*"),
    ]
    declared = hooks()
    for path in FAST_PATHS:
        assert path.description and "\n" not in path.description
        assert path.hooks and all(name in declared for name in path.hooks)


def test_the_schema_has_exactly_the_extensions_the_fast_paths_replicate() -> None:
    # One added to schema/build.py makes every fast path decline (and the contract
    # tests fail in fast mode) until it is replicated and declared in the registry.
    from schema import schema

    assert frozenset(schema.extensions) == REPLICATED_EXTENSIONS
    assert len(schema.extensions) == len(REPLICATED_EXTENSIONS)


async def run(socket: GraphQLSocket, op_id: str, query: str, **payload: Any) -> list[Any]:
    """Run one operation; return its frames up to the end of its first result (a
    subscription is completed by the client after its first event)."""
    await socket.send({"id": op_id, "type": "subscribe", "payload": {"query": query, **payload}})
    frames = [await socket.receive()]
    if frames[0]["type"] != "next":
        return frames
    if query.lstrip().startswith("subscription") and "errors" not in frames[0]["payload"]:
        await socket.send({"id": op_id, "type": "complete"})
        return frames
    frames.append(await socket.receive())
    return frames


@pytest.fixture
async def room_a(alice: factories.Member, bob: factories.Member) -> None:
    """Room "a" with one message (seq 1), and bob's private room "secret"."""
    await sync_to_async(factories.messages)(room="a", author=alice.user, count=1)
    await sync_to_async(services.room_create)(name="secret", private=True, creator=bob.user)


async def test_each_fast_path_is_taken_and_counted(
    sockets: list[GraphQLSocket], alice: factories.Member, room_a: None
) -> None:
    socket = GraphQLSocket()
    sockets.append(socket)
    assert await socket.connect({"authToken": alice.token}) == {"type": "connection_ack"}
    with fast_paths_taken({"messageAdded": 1, "sendMessage": 1, "*": 1}):
        watch = await run(socket, "w", WATCH, variables={"room": "a"})
        post = await run(socket, "p", POST, variables={"room": "b", "text": "hi"})
        me = await run(socket, "m", ME)
    assert watch[0]["payload"] == {"data": {"messageAdded": {"seq": 1, "text": "message 1"}}}
    assert post[0]["payload"] == {"data": {"sendMessage": {"seq": 1, "text": "hi"}}}
    assert me[0]["payload"] == {"data": {"me": {"username": "alice"}}}


async def test_switched_off_every_operation_takes_the_standard_path(
    sockets: list[GraphQLSocket], alice: factories.Member, room_a: None, fast_path_switch: Any
) -> None:
    fast_path_switch(False)
    socket = GraphQLSocket()
    sockets.append(socket)
    assert await socket.connect({"authToken": alice.token}) == {"type": "connection_ack"}
    before = fast_path_counts()
    await run(socket, "w", WATCH, variables={"room": "a"})
    await run(socket, "p", POST, variables={"room": "b", "text": "hi"})
    await run(socket, "m", ME)
    # Not even parsed for their root field.
    assert fast_path_delta(before) == {("*", "standard"): 3}


async def test_a_fast_path_whose_hook_is_off_declines(
    sockets: list[GraphQLSocket],
    alice: factories.Member,
    room_a: None,
    monkeypatch: pytest.MonkeyPatch,
    fast_path_switch: Any,
) -> None:
    fast_path_switch(True)
    # As hooks_verify() leaves a hook whose target changed shape.
    monkeypatch.setitem(internals_hooks._ACTIVE, "strawberry.graphql_schema", False)
    socket = GraphQLSocket()
    sockets.append(socket)
    assert await socket.connect({"authToken": alice.token}) == {"type": "connection_ack"}
    before = fast_path_counts()
    watch = await run(socket, "w", WATCH, variables={"room": "a"})
    post = await run(socket, "p", POST, variables={"room": "b", "text": "hi"})
    assert watch[0]["payload"] == {"data": {"messageAdded": {"seq": 1, "text": "message 1"}}}
    assert post[0]["payload"] == {"data": {"sendMessage": {"seq": 1, "text": "hi"}}}
    # Without the graphql-core schema the document is not even looked at.
    assert fast_path_delta(before) == {("*", "standard"): 2}


class Recording(SchemaExtension):
    """Records the name of every operation it sees."""

    seen: list[str | None] = []

    def on_execute(self) -> Iterator[None]:
        Recording.seen.append(self.execution_context.operation_name)
        yield


async def test_an_extension_the_fast_paths_do_not_replicate_sees_every_operation(
    sockets: list[GraphQLSocket], alice: factories.Member, room_a: None, fast_path_switch: Any
) -> None:
    from internals.websocket import ChatWSConsumer
    from project.wsauth import SessionAuthRoute
    from schema import schema

    recording = strawberry.Schema(
        query=schema.query,
        mutation=schema.mutation,
        subscription=schema.subscription,
        extensions=[*schema.extensions, Recording],
    )
    application = SessionAuthRoute("/graphql/", ChatWSConsumer.as_asgi(schema=recording))
    seen: dict[bool, list[str | None]] = {}
    for on in (True, False):
        fast_path_switch(on)
        Recording.seen = []
        socket = GraphQLSocket(application=application)
        sockets.append(socket)
        assert await socket.connect({"authToken": alice.token}) == {"type": "connection_ack"}
        before = fast_path_counts()
        watch = await run(socket, "w", WATCH, variables={"room": "a"})
        await run(socket, "p", POST, variables={"room": "b", "text": "hi"})
        await run(socket, "m", ME)
        assert watch[0]["payload"] == {"data": {"messageAdded": {"seq": 1, "text": "message 1"}}}
        assert fast_path_delta(before) == {("*", "standard"): 3}
        seen[on] = Recording.seen
    assert seen == {True: ["Watch", "Post", "Me"], False: ["Watch", "Post", "Me"]}


SUBSCRIPTION = "subscription Watch($room: String!, $after: Int) { messageAdded(room: $room, afterSeq: $after) { seq text author { username } } }"  # noqa: E501
# Operations the messageAdded fast path restates (operation selection, argument coercion,
# error coding): each runs both ways and must come out the same.
SUBSCRIPTIONS: list[tuple[str, dict[str, Any]]] = [
    (SUBSCRIPTION, {"variables": {"room": "a", "after": 0}}),
    (
        f'{SUBSCRIPTION} subscription Other {{ messageAdded(room: "a", afterSeq: 0) {{ seq }} }}',
        {"operationName": "Other"},
    ),
    (f'{SUBSCRIPTION} subscription Other {{ messageAdded(room: "a") {{ seq }} }}', {}),
    (SUBSCRIPTION, {"variables": {"room": "a", "after": "0"}}),
    (SUBSCRIPTION, {"variables": {"room": 5, "after": 0}}),
    (SUBSCRIPTION, {"variables": {"after": 0}}),
    (SUBSCRIPTION, {"variables": {"room": "a", "after": -1}}),
    (SUBSCRIPTION, {"variables": {"room": "a b", "after": 0}}),
    (SUBSCRIPTION, {"variables": {"room": "x" * 65, "after": 0}}),
    (SUBSCRIPTION, {"variables": {"room": "secret", "after": 0}}),
    (SUBSCRIPTION.replace("$room: String!", '$room: String! = "a"'), {"variables": {"after": 0}}),
    ('subscription { m: messageAdded(room: "a", afterSeq: 0) { t: text seq } }', {}),
    (
        'subscription { ...F } fragment F on Subscription { messageAdded(room: "a", afterSeq: 0) { seq } }',  # noqa: E501
        {},
    ),
]


async def test_subscriptions_match_the_standard_path(
    sockets: list[GraphQLSocket], alice: factories.Member, room_a: None, fast_path_switch: Any
) -> None:
    results: dict[bool, list[list[Any]]] = {}
    counted: dict[bool, dict[tuple[str, str], float]] = {}
    for on in (True, False):
        fast_path_switch(on)
        socket = GraphQLSocket()
        sockets.append(socket)
        assert await socket.connect({"authToken": alice.token}) == {"type": "connection_ack"}
        before = fast_path_counts()
        results[on] = [
            await run(socket, f"s{n}", query, **payload)
            for n, (query, payload) in enumerate(SUBSCRIPTIONS)
        ]
        counted[on] = fast_path_delta(before)
    assert results[True] == results[False]
    # What the comparison covers: the fast path served the valid operations it plans (and
    # the one refused by the room's access check, which it hands to Strawberry's path).
    assert counted == {
        True: {
            ("messageAdded", "fast"): 5,
            ("messageAdded", "standard"): 6,
            ("*", "standard"): 2,
        },
        False: {("*", "standard"): 13},
    }

    def outcome(frames: list[Any]) -> Any:
        first = frames[0]
        if first["type"] == "error":
            return ["error", *(e["extensions"]["code"] for e in first["payload"])]
        errors = first["payload"].get("errors")
        return [e["extensions"]["code"] for e in errors] if errors else first["payload"]["data"]

    message = {"seq": 1, "text": "message 1", "author": {"username": "alice"}}
    assert [outcome(frames) for frames in results[True]] == [
        {"messageAdded": message},
        {"messageAdded": {"seq": 1}},
        ["error", "GRAPHQL_VALIDATION_FAILED"],  # two operations, no operationName
        ["error", "GRAPHQL_VALIDATION_FAILED"],  # "0" is not an Int
        ["error", "GRAPHQL_VALIDATION_FAILED"],  # 5 is not a String
        ["error", "GRAPHQL_VALIDATION_FAILED"],  # a required variable missing
        ["BAD_USER_INPUT"],  # afterSeq -1
        ["BAD_USER_INPUT"],  # a room name with a space
        ["BAD_USER_INPUT"],  # a room name too long
        ["FORBIDDEN"],  # a private room of someone else's
        {"messageAdded": message},
        {"m": {"t": "message 1", "seq": 1}},
        {"messageAdded": {"seq": 1}},
    ]


REPLY = """mutation Reply($room: String!, $text: String!, $replyTo: ID) {
  sendMessage(room: $room, text: $text, replyTo: $replyTo) {
    seq text deleted editedAt reactions { emoji count reactedByMe users { username } }
    replyTo { seq text deleted editedAt author { username } room { name } }
  }
}"""
# The message replied to as read by the post has no reactions (nor its own reply) loaded:
# what the fast path cannot render it executes, on the message it posted.
REPLY_EXECUTED = """mutation Reply($room: String!, $text: String!, $replyTo: ID) {
  sendMessage(room: $room, text: $text, replyTo: $replyTo) {
    seq replyTo { seq reactions { emoji count reactedByMe } replyTo { seq text } }
  }
}"""


async def test_replies_match_the_standard_path(
    sockets: list[GraphQLSocket], alice: factories.Member, fast_path_switch: Any
) -> None:
    """sendMessage's replyTo, valid and not, both ways: the same frames and the same rows."""

    def setup() -> dict[str, str]:
        # Room "a": 1, 2 replying to 1 (a reaction on it), 3 deleted.
        first, second, third = factories.messages(room="a", author=alice.user, count=3)
        Message.objects.filter(pk=second.pk).update(reply_to=first)
        messaging.reaction_add(message_id=second.pk, user=alice.user, emoji="👍")
        messaging.message_delete(message_id=third.pk, user=alice.user)
        return {"first": str(first.pk), "second": str(second.pk), "third": str(third.pk)}

    results: dict[bool, list[Any]] = {}
    rows: dict[bool, list[Any]] = {}
    for on in (True, False):
        fast_path_switch(on)
        ids = await sync_to_async(setup)()
        socket = GraphQLSocket()
        sockets.append(socket)
        assert await socket.connect({"authToken": alice.token}) == {"type": "connection_ack"}
        literal = REPLY.replace("$replyTo: ID", "").replace("$replyTo", f'"{ids["first"]}"')
        cases = [
            (REPLY, {"room": "a", "text": "re", "replyTo": ids["first"]}),
            (REPLY, {"room": "a", "text": "no reply", "replyTo": None}),
            (REPLY, {"room": "a", "text": "no reply"}),
            (literal, {"room": "a", "text": "literal"}),
            (REPLY_EXECUTED, {"room": "a", "text": "re", "replyTo": ids["second"]}),
            (REPLY, {"room": "a", "text": "re", "replyTo": ids["third"]}),  # deleted
            (REPLY, {"room": "a", "text": "re", "replyTo": "abc"}),
            (REPLY, {"room": "a", "text": "re", "replyTo": "999999"}),
            (REPLY, {"room": "b", "text": "re", "replyTo": ids["first"]}),  # another room
        ]
        with fast_paths_taken({"sendMessage": len(cases)} if on else {"*": len(cases)}):
            results[on] = [
                await run(socket, f"p{n}", query, variables=variables)
                for n, (query, variables) in enumerate(cases)
            ]
        await socket.close()
        sockets.remove(socket)

        def stored() -> list[Any]:
            return list(
                Message.objects.filter(room__name="a")
                .order_by("seq")
                .values_list("seq", "text", "reply_to__seq")
            )

        rows[on] = await sync_to_async(stored)()
        await sync_to_async(lambda: Room.objects.filter(name__in=["a", "b"]).delete())()
    assert results[True] == results[False]
    assert (
        rows[True]
        == rows[False]
        == [
            (1, "message 1", None),
            (2, "message 2", 1),
            (3, "", None),
            (4, "re", 1),
            (5, "no reply", None),
            (6, "no reply", None),
            (7, "literal", 1),
            (8, "re", 2),
        ]
    )

    def outcome(frames: list[Any]) -> Any:
        payload = frames[0]["payload"]
        if "errors" in payload:
            return [e["extensions"]["code"] for e in payload["errors"]]
        return payload["data"]["sendMessage"]

    replied = {
        "seq": 1,
        "text": "message 1",
        "deleted": False,
        "editedAt": None,
        "author": {"username": "alice"},
        "room": {"name": "a"},
    }

    def posted(seq: int, text: str, reply_to: Any) -> Any:
        return {
            "seq": seq,
            "text": text,
            "deleted": False,
            "editedAt": None,
            "reactions": [],
            "replyTo": reply_to,
        }

    assert [outcome(frames) for frames in results[True]] == [
        posted(4, "re", replied),
        posted(5, "no reply", None),
        posted(6, "no reply", None),
        posted(7, "literal", replied),
        {
            "seq": 8,
            "replyTo": {
                "seq": 2,
                "reactions": [{"emoji": "👍", "count": 1, "reactedByMe": True}],
                "replyTo": {"seq": 1, "text": "message 1"},
            },
        },
        ["BAD_USER_INPUT"],
        ["BAD_USER_INPUT"],
        ["NOT_FOUND"],
        ["BAD_USER_INPUT"],
    ]
