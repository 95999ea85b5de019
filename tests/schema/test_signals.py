"""roomSignals: typing (coalesced, ended by a post), presence and who may send and see
them; over the real transport with the real store (Redis in the suite)."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import override_settings

from tests import factories
from tests.conftest import GraphQLHttp, GraphQLSocket, fast_path_results, fast_paths_taken

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded, pytest.mark.contract]

SIGNALS = """subscription($room: String!) { roomSignals(room: $room) {
  __typename
  ... on TypingChanged { users { username } count }
  ... on PresenceChanged { user { username } online }
  ... on ReadUpTo { user { username } seq }
} }"""
TYPING = "mutation($room: String!, $t: Boolean!) { setTyping(room: $room, typing: $t) }"
SEND = "mutation($room: String!, $text: String!) { sendMessage(room: $room, text: $text) { seq } }"
ONLINE = """query($room: String!) { room(name: $room) { onlineCount online { username } } }"""


def fast(**overrides: Any) -> Any:
    return override_settings(CHAT={**settings.CHAT, "KEEPALIVE_SECONDS": 0, **overrides})


async def signals(sockets: list[GraphQLSocket], token: str, room: str = "lobby") -> GraphQLSocket:
    socket = GraphQLSocket()
    sockets.append(socket)
    assert await socket.connect({"authToken": token}) == {"type": "connection_ack"}
    await socket.subscribe("s", SIGNALS, {"room": room})
    return socket


async def signal(socket: GraphQLSocket) -> dict[str, Any]:
    frame = await socket.receive()
    assert frame["type"] == "next", frame
    assert "errors" not in frame["payload"], frame
    return frame["payload"]["data"]["roomSignals"]  # type: ignore[no-any-return]


def typing(*users: str, count: int | None = None) -> dict[str, Any]:
    return {
        "__typename": "TypingChanged",
        "users": [{"username": u} for u in users],
        "count": len(users) if count is None else count,
    }


def presence(user: str, online: bool) -> dict[str, Any]:
    return {"__typename": "PresenceChanged", "user": {"username": user}, "online": online}


async def test_typing_is_seen_by_others_and_a_post_ends_it(
    sockets: list[GraphQLSocket], alice: factories.Member, bob: factories.Member
) -> None:
    gql = GraphQLHttp(alice.token)
    await gql(SEND, {"room": "lobby", "text": "first"})
    # Typing would last a minute: what ends it below is the post.
    with fast(TYPING_SECONDS=60):
        watcher = await signals(sockets, bob.token)
        assert await signal(watcher) == presence("bob", True)
        assert await gql(TYPING, {"room": "lobby", "t": True}) == {"data": {"setTyping": True}}
        assert await signal(watcher) == typing("alice")
        await gql(SEND, {"room": "lobby", "text": "done"})
        assert await signal(watcher) == typing()
        # Stopping when already stopped changes nothing.
        assert await gql(TYPING, {"room": "lobby", "t": False}) == {"data": {"setTyping": False}}
        await watcher.assert_silent()


async def test_typing_ends_by_itself_after_the_typing_period(
    sockets: list[GraphQLSocket], alice: factories.Member, bob: factories.Member
) -> None:
    gql = GraphQLHttp(alice.token)
    await gql(SEND, {"room": "lobby", "text": "first"})
    with fast(TYPING_SECONDS=0.5):
        watcher = await signals(sockets, bob.token)
        assert await signal(watcher) == presence("bob", True)
        await gql(TYPING, {"room": "lobby", "t": True})
        assert await signal(watcher) == typing("alice")
        assert await signal(watcher) == typing()


async def test_a_subscriber_gets_who_is_typing_first(
    sockets: list[GraphQLSocket], alice: factories.Member, bob: factories.Member
) -> None:
    gql = GraphQLHttp(alice.token)
    await gql(SEND, {"room": "lobby", "text": "first"})
    with fast():
        await gql(TYPING, {"room": "lobby", "t": True})
        watcher = await signals(sockets, bob.token)
        first = [await signal(watcher), await signal(watcher)]
        assert sorted(first, key=lambda s: s["__typename"]) == [
            presence("bob", True),
            typing("alice"),
        ]


async def test_presence_online_then_offline_after_the_grace_period(
    sockets: list[GraphQLSocket], alice: factories.Member, bob: factories.Member
) -> None:
    gql = GraphQLHttp(alice.token)
    await gql(SEND, {"room": "lobby", "text": "first"})
    with fast(PRESENCE_GRACE_SECONDS=0.2):
        watcher = await signals(sockets, bob.token)
        assert await signal(watcher) == presence("bob", True)
        other = await signals(sockets, alice.token)
        assert await signal(watcher) == presence("alice", True)
        assert await gql(ONLINE, {"room": "lobby"}) == {
            "data": {
                "room": {"onlineCount": 2, "online": [{"username": "bob"}, {"username": "alice"}]}
            }
        }
        await other.close()
        assert await signal(watcher) == presence("alice", False)
        assert (await gql(ONLINE, {"room": "lobby"}))["data"]["room"]["onlineCount"] == 1


async def test_typing_changes_are_coalesced_into_the_state_at_each_flush(
    sockets: list[GraphQLSocket], alice: factories.Member, bob: factories.Member
) -> None:
    typers = [await sync_to_async(factories.member)(f"typer{n}") for n in range(10)]
    await GraphQLHttp(alice.token)(SEND, {"room": "lobby", "text": "first"})
    results = fast_path_results()
    with fast(SIGNAL_COALESCE_MS=2000), fast_paths_taken({"roomSignals": 1}):
        watcher = await signals(sockets, bob.token)
        assert await signal(watcher) == presence("bob", True)
        for typer in typers:
            await GraphQLHttp(typer.token)(TYPING, {"room": "lobby", "t": True})
        # The first change goes out at once; the nine that follow within the period,
        # as one state at its end: ten users shown, in order of starting.
        assert await signal(watcher) == typing("typer0")
        assert await signal(watcher) == typing(*(f"typer{n}" for n in range(10)))
        await watcher.assert_silent()
    # On the fast path, each signal rendered (not executed) once.
    made = {key: n - results.get(key, 0) for key, n in fast_path_results().items()}
    expected = 3 if settings.CHAT["FAST_PATHS"] else 0
    assert made.get(("roomSignals", "rendered"), 0) == expected
    assert made.get(("roomSignals", "executed"), 0) == 0


async def test_typing_needs_a_signed_in_user_who_can_see_the_room(
    alice: factories.Member, bob: factories.Member
) -> None:
    await GraphQLHttp(alice.token)(
        'mutation { createRoom(name: "secret", private: true) { name } }'
    )
    refused = [
        (None, "secret", "UNAUTHENTICATED", "Sign in to say you are typing."),
        (bob.token, "secret", "NOT_FOUND", "No such room."),
        (bob.token, "nowhere", "NOT_FOUND", "No such room."),
        (bob.token, "bad name!", "BAD_USER_INPUT", None),
    ]
    for token, room, code, text in refused:
        body = await GraphQLHttp(token)(TYPING, {"room": room, "t": True})
        assert body["data"] is None, body
        (error,) = body["errors"]
        assert error["extensions"]["code"] == code, body
        if text is not None:
            assert error["message"] == text


async def test_read_markers_are_seen_in_the_room(
    sockets: list[GraphQLSocket], alice: factories.Member, bob: factories.Member
) -> None:
    gql = GraphQLHttp(alice.token)
    await gql('mutation { joinRoom(room: "lobby") { name } }')
    for text in ("one", "two"):
        await gql(SEND, {"room": "lobby", "text": text})
    read = 'mutation($s: Int!) { markRead(room: "lobby", seq: $s) { lastReadSeq } }'
    with fast():
        watcher = await signals(sockets, bob.token)
        assert await signal(watcher) == presence("bob", True)
        assert await gql(read, {"s": 2}) == {"data": {"markRead": {"lastReadSeq": 2}}}
        assert await signal(watcher) == {
            "__typename": "ReadUpTo",
            "user": {"username": "alice"},
            "seq": 2,
        }
        # Lower: nothing moved, nothing sent.
        assert await gql(read, {"s": 1}) == {"data": {"markRead": {"lastReadSeq": 2}}}
        await watcher.assert_silent()


async def test_a_removed_member_loses_the_signals_and_goes_offline(
    sockets: list[GraphQLSocket], alice: factories.Member, bob: factories.Member
) -> None:
    gql = GraphQLHttp(alice.token)
    await gql('mutation { createRoom(name: "secret", private: true) { name } }')
    await gql('mutation { inviteToRoom(room: "secret", username: "bob") { name } }')
    with fast(PRESENCE_GRACE_SECONDS=0.2):
        watcher = await signals(sockets, alice.token, "secret")
        assert await signal(watcher) == presence("alice", True)
        removed = await signals(sockets, bob.token, "secret")
        assert await signal(watcher) == presence("bob", True)
        assert await signal(removed) == presence("bob", True)
        await gql('mutation { removeFromRoom(room: "secret", username: "bob") { name } }')
        assert await removed.receive() == {
            "id": "s",
            "type": "next",
            "payload": {
                "data": None,
                "errors": [
                    {
                        "message": "You are not a member of this room.",
                        "extensions": {"code": "FORBIDDEN"},
                    }
                ],
            },
        }
        assert await removed.receive() == {"id": "s", "type": "complete"}
        assert await signal(watcher) == presence("bob", False)
        bobs = GraphQLHttp(bob.token)
        body = await bobs(TYPING, {"room": "secret", "t": True})
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
