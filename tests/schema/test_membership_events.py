"""MemberJoined and MemberLeft: one event per change of membership, none for a request
that changes nothing; each seen whole over roomEvents."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import override_settings

from chat.models import Room, RoomEvent
from tests import factories
from tests.conftest import GraphQLHttp, GraphQLSocket
from tests.schema.test_room_events import SEND, data, event, message, subscribed

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded, pytest.mark.contract]

CREATE = 'mutation { createRoom(name: "lobby") { name } }'
CREATE_PRIVATE = 'mutation { createRoom(name: "lobby", private: true) { name } }'
JOIN = 'mutation { joinRoom(room: "lobby") { name } }'
LEAVE = 'mutation { leaveRoom(room: "lobby") }'
INVITE = 'mutation($u: String!) { inviteToRoom(room: "lobby", username: $u) { name } }'
REMOVE = 'mutation($u: String!) { removeFromRoom(room: "lobby", username: $u) { name } }'


def joined(seq: int, user: str, actor: str | None = None) -> dict[str, Any]:
    return event("MemberJoined", seq, actor=actor or user, user={"username": user})


def left(seq: int, user: str, removed_by: str | None = None) -> dict[str, Any]:
    removed = None if removed_by is None else {"username": removed_by}
    return event(
        "MemberLeft", seq, actor=removed_by or user, user={"username": user}, removedBy=removed
    )


async def posted_next(socket: GraphQLSocket, gql: GraphQLHttp, seq: int, msg_seq: int) -> None:
    """Post, and assert it is the socket's next event, as eventSeq ``seq``: nothing was
    logged before it."""
    sent = (await gql(SEND, {"room": "lobby", "text": "marker"}))["data"]["sendMessage"]
    assert await data(socket) == event(
        "MessagePosted", seq, message=message(sent["id"], msg_seq, "marker")
    )


async def logged() -> list[tuple[int, str]]:
    return await sync_to_async(
        lambda: list(RoomEvent.objects.order_by("seq").values_list("seq", "kind"))
    )()


async def test_create_room_logs_the_creator_joining_as_event_1(
    sockets: list[GraphQLSocket], alice: factories.Member
) -> None:
    assert await GraphQLHttp(alice.token)(CREATE) == {"data": {"createRoom": {"name": "lobby"}}}
    live = await subscribed(sockets, token=alice.token, after=0)
    assert await data(live) == joined(1, "alice")
    await live.assert_silent()
    assert await logged() == [(1, "member_joined")]


async def test_joining_twice_logs_one_member_joined(
    sockets: list[GraphQLSocket], alice: factories.Member, bob: factories.Member
) -> None:
    gql, bobs = GraphQLHttp(alice.token), GraphQLHttp(bob.token)
    await gql(CREATE)
    live = await subscribed(sockets, token=alice.token, after=1)
    for _ in range(2):
        assert await bobs(JOIN) == {"data": {"joinRoom": {"name": "lobby"}}}
    assert await data(live) == joined(2, "bob")
    await posted_next(live, gql, 3, 1)
    assert await logged() == [(1, "member_joined"), (2, "member_joined"), (3, "message_posted")]


async def test_inviting_a_member_logs_nothing(
    sockets: list[GraphQLSocket], alice: factories.Member, bob: factories.Member
) -> None:
    gql = GraphQLHttp(alice.token)
    await gql(CREATE)
    live = await subscribed(sockets, token=alice.token, after=1)
    # The first invitation adds bob; the second, and inviting oneself, change nothing.
    for username in ["bob", "bob", "alice"]:
        assert await gql(INVITE, {"u": username}) == {"data": {"inviteToRoom": {"name": "lobby"}}}
    assert await data(live) == joined(2, "bob", actor="alice")
    await posted_next(live, gql, 3, 1)
    assert await logged() == [(1, "member_joined"), (2, "member_joined"), (3, "message_posted")]


async def test_leaving_a_public_room_one_is_not_a_member_of_logs_nothing(
    sockets: list[GraphQLSocket], alice: factories.Member, bob: factories.Member
) -> None:
    gql = GraphQLHttp(alice.token)
    await gql(CREATE)
    live = await subscribed(sockets, token=alice.token, after=1)
    assert await GraphQLHttp(bob.token)(LEAVE) == {"data": {"leaveRoom": True}}
    await posted_next(live, gql, 2, 1)
    assert await logged() == [(1, "member_joined"), (2, "message_posted")]


async def test_removal_logs_member_left_with_removed_by(
    sockets: list[GraphQLSocket], alice: factories.Member, bob: factories.Member
) -> None:
    gql = GraphQLHttp(alice.token)
    await gql(CREATE_PRIVATE)
    await gql(INVITE, {"u": "bob"})
    owner = await subscribed(sockets, token=alice.token, after=2)
    removed = await subscribed(sockets, token=bob.token, after=2)
    await posted_next(owner, gql, 3, 1)
    assert (await data(removed))["eventSeq"] == 3
    assert await gql(REMOVE, {"u": "bob"}) == {"data": {"removeFromRoom": {"name": "lobby"}}}
    # Everyone, bob included, receives it whole; then bob's subscription completes.
    assert await data(owner) == left(4, "bob", removed_by="alice")
    assert await data(removed) == left(4, "bob", removed_by="alice")
    assert await removed.receive() == {"id": "1", "type": "complete"}
    await posted_next(owner, gql, 5, 2)
    assert [kind for _, kind in await logged()] == [
        "member_joined",
        "member_joined",
        "message_posted",
        "member_left",
        "message_posted",
    ]


async def test_leaving_and_joining_again_logs_both_in_order(
    sockets: list[GraphQLSocket], alice: factories.Member, bob: factories.Member
) -> None:
    gql, bobs = GraphQLHttp(alice.token), GraphQLHttp(bob.token)
    await gql(CREATE)
    live = await subscribed(sockets, token=alice.token, after=1)
    await bobs(JOIN)
    assert await bobs(LEAVE) == {"data": {"leaveRoom": True}}
    # Leaving again: no longer a member, nothing more.
    assert await bobs(LEAVE) == {"data": {"leaveRoom": True}}
    assert await bobs(JOIN) == {"data": {"joinRoom": {"name": "lobby"}}}
    assert [await data(live) for _ in range(3)] == [
        joined(2, "bob"),
        left(3, "bob"),
        joined(4, "bob"),
    ]
    await posted_next(live, gql, 5, 1)
    assert [kind for _, kind in await logged()] == [
        "member_joined",
        "member_joined",
        "member_left",
        "member_joined",
        "message_posted",
    ]


def limited(field: str, query: str) -> dict[str, Any]:
    before = query[: query.index(field)].split("\n")
    return {
        "data": None,
        "errors": [
            {
                "message": "Too many messages: at most 3 every 86400 seconds.",
                "locations": [{"line": len(before), "column": len(before[-1]) + 1}],
                "path": [field],
                "extensions": {"code": "RATE_LIMITED"},
            }
        ],
    }


async def rooms_and_members() -> list[tuple[str, list[str]]]:
    def read() -> list[tuple[str, list[str]]]:
        return [
            (room.name, sorted(user.username for user in room.members.all()))
            for room in Room.objects.order_by("name").prefetch_related("members")
        ]

    return await sync_to_async(read)()


async def test_joining_and_leaving_share_the_posts_rate_limit(
    sockets: list[GraphQLSocket], alice: factories.Member, bob: factories.Member
) -> None:
    gql, bobs = GraphQLHttp(alice.token), GraphQLHttp(bob.token)
    with override_settings(CHAT={**settings.CHAT, "RATE_LIMIT": (3, 86400)}):
        await gql(CREATE)
        live = await subscribed(sockets, token=alice.token, after=1)
        # Three changes of membership: the limit. Requests that change nothing (joining
        # as a member, leaving as none) are not counted.
        for query in [JOIN, JOIN, LEAVE, LEAVE, JOIN]:
            assert "errors" not in await bobs(query)
        assert [await data(live) for _ in range(3)] == [
            joined(2, "bob"),
            left(3, "bob"),
            joined(4, "bob"),
        ]
        assert await bobs(LEAVE) == limited("leaveRoom", LEAVE)
        other = 'mutation { joinRoom(room: "other") { name } }'
        assert await bobs(other) == limited("joinRoom", other)
        # Posts count against the same limit.
        assert await bobs(SEND, {"room": "lobby", "text": "x"}) == limited("sendMessage", SEND)
        # Nothing stored (the room "other" included), nothing published.
        await posted_next(live, gql, 5, 1)
    assert await rooms_and_members() == [("lobby", ["alice", "bob"])]
    assert len(await logged()) == 5


async def test_inviting_and_removing_share_the_posts_rate_limit(
    sockets: list[GraphQLSocket], alice: factories.Member, bob: factories.Member
) -> None:
    gql = GraphQLHttp(alice.token)
    with override_settings(CHAT={**settings.CHAT, "RATE_LIMIT": (3, 86400)}):
        await gql(CREATE_PRIVATE)
        live = await subscribed(sockets, token=alice.token, after=1)
        for query in [INVITE, INVITE, REMOVE, INVITE]:
            assert "errors" not in await gql(query, {"u": "bob"})
        assert [await data(live) for _ in range(3)] == [
            joined(2, "bob", actor="alice"),
            left(3, "bob", removed_by="alice"),
            joined(4, "bob", actor="alice"),
        ]
        assert await gql(REMOVE, {"u": "bob"}) == limited("removeFromRoom", REMOVE)
        await gql(LEAVE)
        assert await rooms_and_members() == [("lobby", ["alice", "bob"])]
        await live.assert_silent()
    assert len(await logged()) == 4
