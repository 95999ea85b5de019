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

from chat import messaging, posting, services
from chat.models import Message, Room
from internals import hooks as internals_hooks
from internals.fastpaths.registry import FAST_PATHS, REPLICATED_EXTENSIONS
from internals.hooks import hooks
from realtime.hub import get_hub
from tests import factories
from tests.conftest import (
    GraphQLSocket,
    fast_path_counts,
    fast_path_delta,
    fast_path_results,
    fast_paths_taken,
    wait_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded, pytest.mark.contract]

WATCH = "subscription Watch($room: String!) { messageAdded(room: $room, afterSeq: 0) { seq text } }"
POST = "mutation Post($room: String!, $text: String!) { sendMessage(room: $room, text: $text) { seq text } }"  # noqa: E501
ME = "query Me { me { username } }"


def test_fast_paths_are_registered_by_operation_type_and_root_field() -> None:
    assert [(path.kind, path.field) for path in FAST_PATHS] == [
        (OperationType.SUBSCRIPTION, "messageAdded"),
        (OperationType.SUBSCRIPTION, "roomEvents"),
        (OperationType.SUBSCRIPTION, "roomSignals"),
        (OperationType.SUBSCRIPTION, "inbox"),
        (OperationType.MUTATION, "sendMessage"),
        (OperationType.QUERY, "*"),
        (OperationType.MUTATION, "markRead"),
        (OperationType.MUTATION, "setTyping"),
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
        ["error", "OPERATION_RESOLUTION_FAILURE"],  # two operations, no operationName
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


def results_delta(
    before: dict[tuple[str, str], float], field: str = "roomEvents"
) -> dict[str, float]:
    """chat_fast_path_results_total{field} since ``before``, by how."""
    after = fast_path_results()
    return {
        how: after.get((field, how), 0) - before.get((field, how), 0)
        for how in ("rendered", "executed")
    }


ROOM_MESSAGE = """
fragment M on Message {
  id seq text deleted editedAt createdAt author { id username }
  room { name lastSeq lastEventSeq private }
  replyTo { id seq text deleted editedAt createdAt author { username } }
  reactions { emoji count VIEWER users { username } one: users(first: 1) { id }
    some: users(first: $users) { username } }
}
"""
ROOM_EVENTS = """
subscription Events($room: String!, $after: Int, $users: Int) {
  roomEvents(room: $room, afterEventSeq: $after) {
    __typename eventSeq at actor { username } room { name lastSeq lastEventSeq }
    ...Posted
    ... on MessageEdited { message { ...M } }
    ... on MessageDeleted { message { ...M } }
    ... on ReactionAdded { emoji user { username } message { id reactions { emoji count } } }
    ... on ReactionRemoved { emoji user { id } message { ...M } }
    ... on MemberJoined { user { username } }
    ... on MemberLeft { user { username } removedBy { username } }
  }
}
fragment Posted on MessagePosted { message { ...M } }
"""
# With and without the viewer-dependent field.
BY_VIEWER = ROOM_EVENTS + ROOM_MESSAGE.replace("VIEWER", "reactedByMe")
SHARED = ROOM_EVENTS + ROOM_MESSAGE.replace("VIEWER", "")


async def test_room_events_render_every_event_type_as_the_standard_path_executes_it(
    sockets: list[GraphQLSocket],
    alice: factories.Member,
    bob: factories.Member,
    fast_path_switch: Any,
) -> None:
    """Live events of every type reach fast subscribers rendered (none executed), one
    render per event per distinct operation, and per distinct viewer where reactedByMe is
    selected; their frames are those of the standard path; a replay renders too."""
    await sync_to_async(services.room_create)(name="lobby", private=True, creator=alice.user)
    await sync_to_async(services.room_invite)(name="lobby", username="bob", inviter=alice.user)
    variables = {"room": "lobby", "after": 1, "users": 2}
    # (member, document, fast)
    plans = [
        (alice, BY_VIEWER, True),
        (alice, BY_VIEWER, True),
        (bob, BY_VIEWER, True),
        (bob, BY_VIEWER, True),
        (alice, BY_VIEWER, False),
        (bob, BY_VIEWER, False),
        (alice, SHARED, True),
        (bob, SHARED, True),
        (alice, SHARED, False),
    ]
    subscribed: list[GraphQLSocket] = []
    before = fast_path_counts()
    for member, document, fast in plans:
        fast_path_switch(fast)
        socket = GraphQLSocket()
        sockets.append(socket)
        assert await socket.connect({"authToken": member.token}) == {"type": "connection_ack"}
        await socket.subscribe("1", document, variables)
        subscribed.append(socket)
        # It replays bob's MemberJoined (2), then is live; served before the switch turns.
        replayed = await socket.receive()
        assert replayed["payload"]["data"]["roomEvents"]["__typename"] == "MemberJoined"
    assert fast_path_delta(before) == {("roomEvents", "fast"): 6, ("*", "standard"): 3}
    counted = fast_path_results()

    def happen() -> None:
        hello = posting.message_create(room_name="lobby", author=alice.user, text="hello")
        reply = posting.message_create(
            room_name="lobby", author=bob.user, text="hi", reply_to_id=hello.pk
        )
        messaging.reaction_add(message_id=hello.pk, user=bob.user, emoji="👍")
        messaging.reaction_add(message_id=hello.pk, user=alice.user, emoji="👍")
        messaging.reaction_add(message_id=hello.pk, user=alice.user, emoji=":tada:")
        messaging.message_edit(message_id=hello.pk, user=alice.user, text="hello!")
        messaging.reaction_remove(message_id=hello.pk, user=bob.user, emoji="👍")
        messaging.message_delete(message_id=reply.pk, user=bob.user)
        services.room_member_remove(name="lobby", username="bob", remover=alice.user)

    await sync_to_async(happen)()
    live = 9
    frames = [[await socket.receive() for _ in range(live)] for socket in subscribed]
    assert [f["payload"]["data"]["roomEvents"]["__typename"] for f in frames[0]] == [
        "MessagePosted",
        "MessagePosted",
        "ReactionAdded",
        "ReactionAdded",
        "ReactionAdded",
        "MessageEdited",
        "ReactionRemoved",
        "MessageDeleted",
        "MemberLeft",
    ]
    # Bob's subscriptions complete after his own MemberLeft.
    for index in (2, 3, 5, 7):
        assert await subscribed[index].receive() == {"id": "1", "type": "complete"}
    # Fast and standard alike, per viewer; reactedByMe is the viewer's own.
    assert frames[0] == frames[1] == frames[4]
    assert frames[2] == frames[3] == frames[5]
    assert frames[6] == frames[8]
    assert frames[0] != frames[2]
    edited = frames[0][5]["payload"]["data"]["roomEvents"]["message"]["reactions"]
    assert [(r["emoji"], r["count"], r["reactedByMe"]) for r in edited] == [
        ("👍", 2, True),
        (":tada:", 1, True),
    ]
    edited = frames[2][5]["payload"]["data"]["roomEvents"]["message"]["reactions"]
    assert [(r["emoji"], r["reactedByMe"]) for r in edited] == [("👍", True), (":tada:", False)]
    assert frames[0][1]["payload"]["data"]["roomEvents"]["message"]["replyTo"]["text"] == "hello"
    # Each live event: rendered once per viewer of BY_VIEWER (2) and once for SHARED.
    assert results_delta(counted) == {"rendered": live * 3, "executed": 0}

    # A replay (history read from the database) renders too, and matches.
    counted = fast_path_results()
    replays = []
    for fast in (True, False):
        fast_path_switch(fast)
        socket = GraphQLSocket()
        sockets.append(socket)
        assert await socket.connect({"authToken": alice.token}) == {"type": "connection_ack"}
        await socket.subscribe("1", BY_VIEWER, {**variables, "after": 0})
        replays.append([await socket.receive() for _ in range(live + 2)])
    assert replays[0] == replays[1]
    assert results_delta(counted) == {"rendered": live + 2, "executed": 0}


EVENTS = "subscription Watch($room: String!, $after: Int) { roomEvents(room: $room, afterEventSeq: $after) { eventSeq ... on MessagePosted { message { seq text } } } }"  # noqa: E501
# What the roomEvents plan restates of the resolver (schema.subscriptions._room_stream).
ROOM_EVENT_SUBSCRIPTIONS: list[tuple[str, dict[str, Any]]] = [
    (EVENTS, {"variables": {"room": "a", "after": 0}}),
    (
        f'{EVENTS} subscription Other {{ roomEvents(room: "a", afterEventSeq: 0) {{ eventSeq }} }}',
        {"operationName": "Other"},
    ),
    (EVENTS, {"variables": {"room": "a", "after": "0"}}),
    (EVENTS, {"variables": {"room": "a", "after": -1}}),
    (EVENTS.replace("$after: Int", "$after: Int = -2"), {"variables": {"room": "a"}}),
    ('subscription { roomEvents(room: "a", afterEventSeq: -1) { eventSeq } }', {}),
    (EVENTS, {"variables": {"room": "a b", "after": 0}}),
    (EVENTS, {"variables": {"room": "x" * 65, "after": 0}}),
    (EVENTS, {"variables": {"room": "secret", "after": 0}}),
    (EVENTS.replace("$room: String!", '$room: String! = "a"'), {"variables": {"after": 0}}),
    ('subscription { e: roomEvents(room: "a", afterEventSeq: 0) { n: eventSeq } }', {}),
]
# An out-of-range users(first:) executes (the resolver's error, the event's data nulled).
USERS = 'subscription W{VARS} { roomEvents(room: "r", afterEventSeq: 0) { ... on MessagePosted { message { reactions { FIELD { username } } } } } }'  # noqa: E501
USERS_CASES: list[tuple[str, dict[str, Any]]] = [
    (USERS.replace("FIELD", "users(first: 51)").replace("{VARS}", ""), {}),
    (USERS.replace("FIELD", "users(first: $n)").replace("{VARS}", "($n: Int)"), {"n": -1}),
    (USERS.replace("FIELD", "users(first: $n)").replace("{VARS}", "($n: Int)"), {"n": None}),
    (USERS.replace("FIELD", "users(first: $n)").replace("{VARS}", "($n: Int)"), {}),
    (USERS.replace("FIELD", "users(first: $n)").replace("{VARS}", "($n: Int)"), {"n": 0}),
    (USERS.replace("FIELD", "users").replace("{VARS}", ""), {}),
]


async def test_room_event_subscriptions_match_the_standard_path(
    sockets: list[GraphQLSocket], alice: factories.Member, room_a: None, fast_path_switch: Any
) -> None:
    # Room "r": a post (event 1) with a reaction (event 2), for USERS_CASES.
    (first,) = await sync_to_async(factories.messages)(room="r", author=alice.user, count=1)
    await sync_to_async(messaging.reaction_add)(message_id=first.pk, user=alice.user, emoji="👍")
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
            for n, (query, payload) in enumerate(ROOM_EVENT_SUBSCRIPTIONS)
        ]
        for n, (query, variables) in enumerate(USERS_CASES):
            # Both events (a field's error does not end the subscription), then complete.
            await socket.subscribe(f"u{n}", query, variables)
            frames = [await socket.receive()]
            if frames[0]["type"] == "next":
                frames.append(await socket.receive())
                await socket.send({"id": f"u{n}", "type": "complete"})
            results[on].append(frames)
        counted[on] = fast_path_delta(before)
    assert results[True] == results[False]
    # The fast path served what it plans (the room refused by the access check it hands
    # to Strawberry's path, as messageAdded's does).
    assert counted == {
        True: {("roomEvents", "fast"): 11, ("roomEvents", "standard"): 6},
        False: {("*", "standard"): 17},
    }

    def outcome(frames: list[Any]) -> Any:
        first = frames[0]
        if first["type"] == "error":
            return ["error", *(e["extensions"]["code"] for e in first["payload"])]
        errors = first["payload"].get("errors")
        return [e["extensions"]["code"] for e in errors] if errors else first["payload"]["data"]

    posted = {"eventSeq": 1, "message": {"seq": 1, "text": "message 1"}}
    # (What the rest shows is each one's first event: the post.)
    assert [outcome(frames) for frames in results[True]] == [
        {"roomEvents": posted},
        {"roomEvents": {"eventSeq": 1}},
        ["error", "GRAPHQL_VALIDATION_FAILED"],  # "0" is not an Int
        ["BAD_USER_INPUT"],  # afterEventSeq -1
        ["BAD_USER_INPUT"],  # -2 by the variable's default
        ["BAD_USER_INPUT"],  # -1 literal
        ["BAD_USER_INPUT"],  # a room name with a space
        ["BAD_USER_INPUT"],  # a room name too long
        ["FORBIDDEN"],  # a private room of someone else's
        {"roomEvents": posted},
        {"e": {"n": 1}},
        ["BAD_USER_INPUT"],  # users(first: 51)
        ["BAD_USER_INPUT"],  # users(first: -1)
        ["GRAPHQL_VALIDATION_FAILED"],  # users(first: null): first is an Int!
        {"roomEvents": {"message": {"reactions": [{"users": [{"username": "alice"}]}]}}},
        {"roomEvents": {"message": {"reactions": [{"users": []}]}}},
        {"roomEvents": {"message": {"reactions": [{"users": [{"username": "alice"}]}]}}},
    ]


OLD_FIELDS = "subscription W($room: String!) { messageAdded(room: $room) { id seq text createdAt author { id username } room { name lastSeq private } } }"  # noqa: E501
NEW_FIELDS = "subscription W($room: String!) { messageAdded(room: $room) { seq editedAt deleted replyTo { id seq text author { username } } reactions { emoji count reactedByMe users { username } } } }"  # noqa: E501


async def test_message_added_renders_old_and_new_message_fields(
    sockets: list[GraphQLSocket],
    alice: factories.Member,
    bob: factories.Member,
    fast_path_switch: Any,
) -> None:
    """messageAdded with issue 13's Message fields renders too (no execution for live
    posts), as the standard path executes them."""
    (first,) = await sync_to_async(factories.messages)(room="a", author=alice.user, count=1)
    plans = [
        (alice, OLD_FIELDS, True),
        (bob, OLD_FIELDS, True),
        (alice, OLD_FIELDS, False),
        (alice, NEW_FIELDS, True),
        (bob, NEW_FIELDS, True),
        (alice, NEW_FIELDS, False),
        (bob, NEW_FIELDS, False),
    ]
    subscribed = []
    for member, query, fast in plans:
        fast_path_switch(fast)
        socket = GraphQLSocket()
        sockets.append(socket)
        assert await socket.connect({"authToken": member.token}) == {"type": "connection_ack"}
        await socket.subscribe("1", query, {"room": "a"})
        subscribed.append(socket)
        # Served (its path chosen) before the switch turns.
        await wait_for(lambda: get_hub().rooms == {"a": len(subscribed)})
    counted = fast_path_results()

    def post() -> None:
        posting.message_create(room_name="a", author=bob.user, text="re", reply_to_id=first.pk)
        posting.message_create(room_name="a", author=alice.user, text="again")

    await sync_to_async(post)()
    frames = [[await socket.receive() for _ in range(2)] for socket in subscribed]
    assert frames[0] == frames[1] == frames[2]
    assert frames[3] == frames[5]
    assert frames[4] == frames[6]
    assert frames[3][0]["payload"]["data"]["messageAdded"] == {
        "seq": 2,
        "editedAt": None,
        "deleted": False,
        "replyTo": {
            "id": str(first.pk),
            "seq": 1,
            "text": "message 1",
            "author": {"username": "alice"},
        },
        "reactions": [],
    }
    # One render per post for OLD_FIELDS, one per viewer for NEW_FIELDS (reactedByMe).
    assert results_delta(counted, "messageAdded") == {"rendered": 2 * (1 + 2), "executed": 0}
