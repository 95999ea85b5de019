from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async

from chat.models import Message, Room
from schema.types import cursor_encode
from tests import factories
from tests.conftest import GraphQLHttp

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded, pytest.mark.contract]

MESSAGES = """
query($room: String!, $first: Int, $after: String, $last: Int, $before: String) {
  messages(room: $room, first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { seq text } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
ROOMS = """
query($first: Int, $after: String) {
  rooms(first: $first, after: $after) {
    edges { node { name lastSeq } }
    pageInfo { hasNextPage hasPreviousPage }
  }
}
"""


def seq_cursor(seq: int) -> str:
    return cursor_encode("seq", str(seq))


def page(seqs: list[int], has_next: bool, has_previous: bool) -> dict[str, Any]:
    return {
        "data": {
            "messages": {
                "edges": [
                    {"cursor": seq_cursor(s), "node": {"seq": s, "text": f"message {s}"}}
                    for s in seqs
                ],
                "pageInfo": {
                    "hasNextPage": has_next,
                    "hasPreviousPage": has_previous,
                    "startCursor": seq_cursor(seqs[0]) if seqs else None,
                    "endCursor": seq_cursor(seqs[-1]) if seqs else None,
                },
            }
        }
    }


async def test_messages_paginate_by_seq_both_ways(alice: factories.Member) -> None:
    await sync_to_async(factories.messages)(room="lobby", author=alice.user, count=5)
    await sync_to_async(factories.messages)(room="other", author=alice.user, count=2)
    gql = GraphQLHttp()

    async def query(**args: Any) -> dict[str, Any]:
        return await gql(MESSAGES, {"room": "lobby", **args})

    assert await query() == page([1, 2, 3, 4, 5], False, False)
    assert await query(first=2) == page([1, 2], True, False)
    assert await query(first=2, after=seq_cursor(2)) == page([3, 4], True, True)
    assert await query(first=2, after=seq_cursor(4)) == page([5], False, True)
    assert await query(last=2) == page([4, 5], False, True)
    assert await query(last=2, before=seq_cursor(4)) == page([2, 3], True, True)
    assert await query(after=seq_cursor(1), before=seq_cursor(5)) == page([2, 3, 4], True, True)
    assert await query(first=0) == page([], False, False)


async def test_messages_of_a_room_with_no_history_is_an_empty_page() -> None:
    assert await GraphQLHttp()(MESSAGES, {"room": "nobody-here"}) == page([], False, False)
    assert await sync_to_async(Room.objects.count)() == 0


async def test_rooms_newest_activity_first(alice: factories.Member) -> None:
    for room in ["a", "b", "c", "a"]:
        await sync_to_async(factories.messages)(room=room, author=alice.user, count=1)
    gql = GraphQLHttp()

    first = await gql(ROOMS, {"first": 2})
    rooms = first["data"]["rooms"]
    assert [e["node"] for e in rooms["edges"]] == [
        {"name": "a", "lastSeq": 2},
        {"name": "c", "lastSeq": 1},
    ]
    assert rooms["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False}

    full = await gql("{ rooms(first: 2) { pageInfo { endCursor } } }")
    after = full["data"]["rooms"]["pageInfo"]["endCursor"]
    rest = await gql(ROOMS, {"first": 2, "after": after})
    assert rest == {
        "data": {
            "rooms": {
                "edges": [{"node": {"name": "b", "lastSeq": 1}}],
                "pageInfo": {"hasNextPage": False, "hasPreviousPage": True},
            }
        }
    }


async def test_room_by_name(alice: factories.Member) -> None:
    await sync_to_async(factories.messages)(room="lobby", author=alice.user, count=1)
    room = await sync_to_async(Room.objects.get)(name="lobby")
    query = "query($n: String!) { room(name: $n) { id name createdAt lastSeq } }"
    assert await GraphQLHttp()(query, {"n": "lobby"}) == {
        "data": {
            "room": {
                "id": str(room.pk),
                "name": "lobby",
                "createdAt": room.created_at.isoformat(),
                "lastSeq": 1,
            }
        }
    }
    assert await GraphQLHttp()(query, {"n": "absent"}) == {"data": {"room": None}}
    assert await sync_to_async(Message.objects.count)() == 1
