"""Read markers and unread counts (markRead, Room.lastReadSeq/unreadCount), myRooms and
Room.lastMessage, over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import override_settings

from chat import messaging, posting, services
from chat.models import ReadMarker, Room
from tests import factories
from tests.conftest import GraphQLHttp
from tests.schema.test_errors import error, errors_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded, pytest.mark.contract]

MARK = """mutation($room: String!, $seq: Int!) {
  markRead(room: $room, seq: $seq) { name lastReadSeq unreadCount } }"""
ROOM = "query($room: String!) { room(name: $room) { name lastReadSeq unreadCount } }"
MY_ROOMS = """query($first: Int, $after: String) {
  myRooms(first: $first, after: $after) {
    edges { cursor node { name private direct lastMessage { seq text author { username } } } }
    pageInfo { hasNextPage hasPreviousPage }
  }
}"""


def _room_with_posts(alice: factories.Member, bob: factories.Member, count: int) -> None:
    services.room_create(name="lobby", private=False, creator=alice.user)
    services.room_join(name="lobby", user=bob.user)
    for n in range(1, count + 1):
        posting.message_create(room_name="lobby", author=alice.user, text=f"m{n}")


def unread(
    user: factories.Member, room: Room, seq: int, count: int, last_seq: int = 3
) -> dict[str, Any]:
    """The notice of ``user``'s marker moved to ``seq``, ``count`` unread as of the room's
    ``last_seq``."""
    return {
        "type": "chat.user",
        "room": f"user.{user.user.pk}",
        "notice": {
            "kind": "unread_changed",
            "room_id": room.pk,
            "room_name": room.name,
            "unread_count": count,
            "last_read_seq": seq,
            "last_seq": last_seq,
        },
    }


def read_signal(user: factories.Member, seq: int, room: str = "lobby") -> dict[str, Any]:
    return {
        "type": "chat.signal",
        "room": room,
        "signal": {"kind": "read", "user_id": user.user.pk, "username": user.username, "seq": seq},
    }


async def test_mark_read_only_rises_and_tells_the_readers_devices_and_the_room(
    alice: factories.Member, bob: factories.Member, notices: list[dict[str, Any]]
) -> None:
    await sync_to_async(_room_with_posts)(alice, bob, 3)
    lobby = await sync_to_async(Room.objects.get)(name="lobby")
    notices.clear()
    bobs = GraphQLHttp(bob.token)
    answer = {"name": "lobby", "lastReadSeq": 2, "unreadCount": 1}
    assert await bobs(MARK, {"room": "lobby", "seq": 2}) == {"data": {"markRead": answer}}
    # Lower or equal: nothing changes, nothing is published; the answer is the marker.
    assert await bobs(MARK, {"room": "lobby", "seq": 1}) == {"data": {"markRead": answer}}
    assert await bobs(MARK, {"room": "lobby", "seq": 2}) == {"data": {"markRead": answer}}
    top = {"name": "lobby", "lastReadSeq": 3, "unreadCount": 0}
    assert await bobs(MARK, {"room": "lobby", "seq": 3}) == {"data": {"markRead": top}}
    assert await bobs(ROOM, {"room": "lobby"}) == {"data": {"room": top}}
    rows = await sync_to_async(lambda: list(ReadMarker.objects.values_list("user_id", "seq")))()
    assert rows == [(bob.user.pk, 3)]
    assert notices == [
        unread(bob, lobby, 2, 1),
        read_signal(bob, 2),
        unread(bob, lobby, 3, 0),
        read_signal(bob, 3),
    ]


async def test_mark_read_refusals_store_and_publish_nothing(
    alice: factories.Member, bob: factories.Member, notices: list[dict[str, Any]]
) -> None:
    await sync_to_async(_room_with_posts)(alice, bob, 2)
    await sync_to_async(services.room_create)(name="secret", private=True, creator=alice.user)
    notices.clear()
    bobs = GraphQLHttp(bob.token)
    cases = [
        ("lobby", 3, "`seq` must be at most the room's lastSeq (2).", "BAD_USER_INPUT"),
        ("lobby", -1, "`seq` must not be negative.", "BAD_USER_INPUT"),
        ("nowhere", 0, "No such room.", "NOT_FOUND"),
        ("secret", 0, "You are not a member of this room.", "FORBIDDEN"),
    ]
    for room, seq, message, code in cases:
        result = await bobs(MARK, {"room": room, "seq": seq})
        assert errors_of(result) == [error(message, code, "markRead")]
    result = await GraphQLHttp()(MARK, {"room": "lobby", "seq": 1})
    assert errors_of(result) == [
        error("Sign in to mark rooms read.", "UNAUTHENTICATED", "markRead")
    ]
    assert await sync_to_async(ReadMarker.objects.count)() == 0
    assert notices == []


async def test_marking_counts_towards_the_writes_rate_limit(
    alice: factories.Member, bob: factories.Member
) -> None:
    await sync_to_async(_room_with_posts)(alice, bob, 2)
    bobs = GraphQLHttp(bob.token)
    with override_settings(CHAT={**settings.CHAT, "RATE_LIMIT": (2, 3600)}):
        for seq in (1, 2):
            assert "errors" not in await bobs(MARK, {"room": "lobby", "seq": seq})
        result = await bobs(MARK, {"room": "lobby", "seq": 2})
    assert errors_of(result) == [
        error("Too many messages: at most 2 every 3600 seconds.", "RATE_LIMITED", "markRead")
    ]


async def test_unread_count_is_others_live_messages_after_the_marker(
    alice: factories.Member, bob: factories.Member
) -> None:
    carol = await sync_to_async(factories.member)("carol")

    def history() -> None:
        _room_with_posts(alice, bob, 4)
        posting.message_create(room_name="lobby", author=bob.user, text="b5")
        second = posting.message_create(room_name="lobby", author=alice.user, text="m6")
        messaging.message_delete(message_id=second.pk, user=alice.user)

    await sync_to_async(history)()
    bobs = GraphQLHttp(bob.token)

    def state(last: int | None, count: int) -> dict[str, Any]:
        return {"data": {"room": {"name": "lobby", "lastReadSeq": last, "unreadCount": count}}}

    # Alice's 1-4 (5 is his own, 6 deleted).
    assert await bobs(ROOM, {"room": "lobby"}) == state(None, 4)
    await bobs(MARK, {"room": "lobby", "seq": 2})
    assert await bobs(ROOM, {"room": "lobby"}) == state(2, 2)
    # Alice: bob's one message.
    assert await GraphQLHttp(alice.token)(ROOM, {"room": "lobby"}) == state(None, 1)
    # Not a member, or anonymous: 0.
    assert await GraphQLHttp(carol.token)(ROOM, {"room": "lobby"}) == state(None, 0)
    assert await GraphQLHttp()(ROOM, {"room": "lobby"}) == state(None, 0)


async def test_my_rooms_are_mine_most_recent_first_in_pages(
    alice: factories.Member, bob: factories.Member
) -> None:
    def rooms() -> None:
        services.room_create(name="old", private=False, creator=alice.user)
        services.room_create(name="secret", private=True, creator=alice.user)
        services.room_create(name="theirs", private=False, creator=bob.user)
        posting.message_create(room_name="old", author=alice.user, text="first")
        services.room_create(name="quiet", private=False, creator=alice.user)
        posting.message_create(room_name="secret", author=alice.user, text="hush")
        second = posting.message_create(room_name="secret", author=alice.user, text="gone")
        messaging.message_delete(message_id=second.pk, user=alice.user)

    await sync_to_async(rooms)()
    gql = GraphQLHttp(alice.token)

    def node(name: str, last: Any = None, private: bool = False) -> dict[str, Any]:
        return {"name": name, "private": private, "direct": False, "lastMessage": last}

    hush = {"seq": 1, "text": "hush", "author": {"username": "alice"}}
    first = await gql(MY_ROOMS, {"first": 2})
    page = first["data"]["myRooms"]
    # A deletion is no activity: "secret" was last active at its second post.
    assert [edge["node"] for edge in page["edges"]] == [
        node("secret", hush, private=True),
        node("quiet"),
    ]
    assert page["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False}
    rest = await gql(MY_ROOMS, {"first": 2, "after": page["edges"][-1]["cursor"]})
    old = {"seq": 1, "text": "first", "author": {"username": "alice"}}
    assert rest == {
        "data": {
            "myRooms": {
                "edges": [
                    {
                        "cursor": rest["data"]["myRooms"]["edges"][0]["cursor"],
                        "node": node("old", old),
                    }
                ],
                "pageInfo": {"hasNextPage": False, "hasPreviousPage": True},
            }
        }
    }
    # Bob: his own room only (not alice's public ones he never joined); anonymous: none.
    theirs = await GraphQLHttp(bob.token)(MY_ROOMS)
    assert [edge["node"] for edge in theirs["data"]["myRooms"]["edges"]] == [node("theirs")]
    assert await GraphQLHttp()(MY_ROOMS) == {
        "data": {
            "myRooms": {
                "edges": [],
                "pageInfo": {"hasNextPage": False, "hasPreviousPage": False},
            }
        }
    }
