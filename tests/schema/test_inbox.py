"""inbox: one stream per user over all of their rooms, with live unread counts,
mentions, markRead from other devices, rooms joined and left; private rules hold."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings

from realtime.hub import get_hub
from tests import factories
from tests.conftest import (
    GraphQLHttp,
    GraphQLSocket,
    fast_path_results,
    fast_paths_taken,
    wait_for,
)
from tests.schema.test_signals import fast

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded, pytest.mark.contract]

INBOX = """subscription { inbox {
  __typename
  ... on RoomActivity { room { name unreadCount lastReadSeq } message { seq text
    author { username } mentions { username } } unreadCount }
  ... on UnreadChanged { room { name lastReadSeq } unreadCount }
  ... on Mentioned { message { seq text room { name } } }
  ... on RoomJoined { room { name private direct unreadCount } }
  ... on RoomLeft { room { name } }
} }"""
SEND = "mutation($room: String!, $text: String!) { sendMessage(room: $room, text: $text) { seq } }"
JOIN = "mutation($room: String!) { joinRoom(room: $room) { name } }"
READ = "mutation($room: String!, $seq: Int!) { markRead(room: $room, seq: $seq) { unreadCount } }"


async def inbox(
    sockets: list[GraphQLSocket], token: str | None, live_in: tuple[str, ...] = ()
) -> GraphQLSocket:
    """An inbox subscription, live in the rooms ``live_in`` on return (an HTTP post,
    served before Django, can otherwise overtake the subscription's start)."""
    socket = GraphQLSocket()
    sockets.append(socket)
    payload = {"authToken": token} if token else {}
    assert await socket.connect(payload) == {"type": "connection_ack"}
    await socket.subscribe("i", INBOX)
    await wait_for(lambda: set(live_in) <= set(get_hub().rooms))
    return socket


async def next_event(socket: GraphQLSocket) -> dict[str, Any]:
    frame = await socket.receive()
    assert frame["type"] == "next", frame
    assert "errors" not in frame["payload"], frame
    return frame["payload"]["data"]["inbox"]  # type: ignore[no-any-return]


def activity(
    room: str,
    seq: int,
    text: str,
    unread: int,
    *,
    author: str = "alice",
    read: int | None = None,
    mentions: tuple[str, ...] = (),
) -> dict[str, Any]:
    return {
        "__typename": "RoomActivity",
        "room": {"name": room, "unreadCount": unread, "lastReadSeq": read},
        "message": {
            "seq": seq,
            "text": text,
            "author": {"username": author},
            "mentions": [{"username": m} for m in mentions],
        },
        "unreadCount": unread,
    }


async def rooms_joined(*members: factories.Member, rooms: tuple[str, ...]) -> None:
    for member in members:
        for room in rooms:
            await GraphQLHttp(member.token)(JOIN, {"room": room})


async def test_activity_mentions_and_reads_across_rooms(
    sockets: list[GraphQLSocket], alice: factories.Member, bob: factories.Member
) -> None:
    alices, bobs = GraphQLHttp(alice.token), GraphQLHttp(bob.token)
    await rooms_joined(alice, bob, rooms=("lobby", "hall"))
    await alices(SEND, {"room": "lobby", "text": "before"})
    results = fast_path_results()
    with fast(), fast_paths_taken({"inbox": 1}):
        live = await inbox(sockets, bob.token, live_in=("hall", "lobby"))
        await alices(SEND, {"room": "hall", "text": "sync"})
        assert await next_event(live) == activity("hall", 1, "sync", 1)
        await alices(SEND, {"room": "lobby", "text": "one"})
        assert await next_event(live) == activity("lobby", 2, "one", 2)
        await bobs(SEND, {"room": "lobby", "text": "mine"})
        assert await next_event(live) == activity("lobby", 3, "mine", 2, author="bob")
        await alices(SEND, {"room": "lobby", "text": "hi @bob and @nobody"})
        assert await next_event(live) == activity(
            "lobby", 4, "hi @bob and @nobody", 3, mentions=("bob",)
        )
        assert await next_event(live) == {
            "__typename": "Mentioned",
            "message": {"seq": 4, "text": "hi @bob and @nobody", "room": {"name": "lobby"}},
        }
        # Read on another device (over HTTP): this one learns the new count.
        assert await bobs(READ, {"room": "lobby", "seq": 2}) == {
            "data": {"markRead": {"unreadCount": 1}}
        }
        assert await next_event(live) == {
            "__typename": "UnreadChanged",
            "room": {"name": "lobby", "lastReadSeq": 2},
            "unreadCount": 1,
        }
        await alices(SEND, {"room": "lobby", "text": "after"})
        assert await next_event(live) == activity("lobby", 5, "after", 2, read=2)
        await live.assert_silent()
    # On the fast path, each of the seven events rendered for this subscriber, none executed.
    made = {key: n - results.get(key, 0) for key, n in fast_path_results().items()}
    rendered = 7 if settings.CHAT["FAST_PATHS"] else 0
    assert (made[("inbox", "rendered")], made[("inbox", "executed")]) == (rendered, 0)


async def test_private_rooms_joined_and_left_and_nothing_after(
    sockets: list[GraphQLSocket], alice: factories.Member, bob: factories.Member
) -> None:
    alices = GraphQLHttp(alice.token)
    with fast():
        live = await inbox(sockets, bob.token)
        await alices('mutation { createRoom(name: "secret", private: true) { name } }')
        await alices('mutation { inviteToRoom(room: "secret", username: "bob") { name } }')
        assert await next_event(live) == {
            "__typename": "RoomJoined",
            "room": {"name": "secret", "private": True, "direct": False, "unreadCount": 0},
        }
        await alices(SEND, {"room": "secret", "text": "psst"})
        assert await next_event(live) == activity("secret", 1, "psst", 1)
        await alices('mutation { removeFromRoom(room: "secret", username: "bob") { name } }')
        assert await next_event(live) == {"__typename": "RoomLeft", "room": {"name": "secret"}}
        await alices(SEND, {"room": "secret", "text": "gone"})
        # A post in a room of bob's shows the one in secret was not delivered.
        await alices(SEND, {"room": "lobby", "text": "public"})
        await GraphQLHttp(bob.token)(JOIN, {"room": "lobby"})
        assert await next_event(live) == {
            "__typename": "RoomJoined",
            "room": {"name": "lobby", "private": False, "direct": False, "unreadCount": 1},
        }
        await alices(SEND, {"room": "lobby", "text": "seen"})
        assert await next_event(live) == activity("lobby", 2, "seen", 2)
        await live.assert_silent()


async def test_a_direct_room_opened_by_the_other_joins_it(
    sockets: list[GraphQLSocket], alice: factories.Member, bob: factories.Member
) -> None:
    with fast():
        live = await inbox(sockets, bob.token)
        opened = await GraphQLHttp(alice.token)(
            'mutation { directRoom(username: "bob") { name direct } }'
        )
        name = opened["data"]["directRoom"]["name"]
        assert opened == {"data": {"directRoom": {"name": name, "direct": True}}}
        assert await next_event(live) == {
            "__typename": "RoomJoined",
            "room": {"name": name, "private": True, "direct": True, "unreadCount": 0},
        }


async def test_the_inbox_needs_a_signed_in_user(sockets: list[GraphQLSocket]) -> None:
    live = await inbox(sockets, None)
    assert await live.receive() == {
        "id": "i",
        "type": "next",
        "payload": {
            "data": None,
            "errors": [
                {
                    "message": "Sign in to follow your inbox.",
                    "extensions": {"code": "UNAUTHENTICATED"},
                }
            ],
        },
    }
    assert await live.receive() == {"id": "i", "type": "complete"}


async def test_deleting_an_unread_message_lowers_the_count(
    sockets: list[GraphQLSocket], alice: factories.Member, bob: factories.Member
) -> None:
    alices = GraphQLHttp(alice.token)
    await rooms_joined(alice, bob, rooms=("lobby",))
    with fast():
        live = await inbox(sockets, bob.token, live_in=("lobby",))
        sent = []
        for n, text in enumerate(("one", "two"), start=1):
            body = await alices(
                'mutation($t: String!) { sendMessage(room: "lobby", text: $t) { id } }', {"t": text}
            )
            sent.append(body["data"]["sendMessage"]["id"])
            assert await next_event(live) == activity("lobby", n, text, n)
        await alices("mutation($id: ID!) { deleteMessage(id: $id) { id } }", {"id": sent[0]})
        assert await next_event(live) == {
            "__typename": "UnreadChanged",
            "room": {"name": "lobby", "lastReadSeq": None},
            "unreadCount": 1,
        }
        assert (await GraphQLHttp(bob.token)('{ room(name: "lobby") { unreadCount } }')) == {
            "data": {"room": {"unreadCount": 1}}
        }


async def test_one_inbox_per_connection(
    sockets: list[GraphQLSocket], alice: factories.Member
) -> None:
    with fast():
        live = await inbox(sockets, alice.token)
        await live.subscribe("j", INBOX)
        assert await live.receive() == {
            "id": "j",
            "type": "next",
            "payload": {
                "data": None,
                "errors": [
                    {
                        "message": "An inbox is already open on this connection.",
                        "extensions": {"code": "TOO_MANY_INBOXES"},
                    }
                ],
            },
        }
        assert await live.receive() == {"id": "j", "type": "complete"}
        # Once the first one ends, another may start.
        await live.send({"id": "i", "type": "complete"})
        await live.subscribe("k", INBOX)
        await GraphQLHttp(alice.token)(SEND, {"room": "lobby", "text": "hello"})
        frame = await live.receive()
        assert frame["id"] == "k", frame
