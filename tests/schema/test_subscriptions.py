from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from chat.models import Message
from realtime.hub import get_hub
from tests import factories
from tests.conftest import GraphQLHttp, GraphQLSocket, fast_paths_taken, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded, pytest.mark.contract]

MESSAGE_FIELDS = """
    id seq text createdAt
    author { id username }
    room { id name createdAt lastSeq }
"""
SUBSCRIPTION = f"""
subscription Room($room: String!, $afterSeq: Int) {{
  messageAdded(room: $room, afterSeq: $afterSeq) {{ {MESSAGE_FIELDS} }}
}}
"""
SEND = f"""
mutation Send($room: String!, $text: String!) {{
  sendMessage(room: $room, text: $text) {{ {MESSAGE_FIELDS} }}
}}
"""


async def subscribed(
    sockets: list[GraphQLSocket],
    room: str,
    *,
    after_seq: int | None = None,
    protocol: str = "graphql-transport-ws",
    op_id: str = "1",
) -> GraphQLSocket:
    socket = GraphQLSocket(protocol)
    sockets.append(socket)
    assert await socket.connect() == {"type": "connection_ack"}
    await socket.subscribe(op_id, SUBSCRIPTION, {"room": room, "afterSeq": after_seq})
    return socket


def message_json(message: Message) -> dict[str, object]:
    return {
        "id": str(message.pk),
        "seq": message.seq,
        "text": message.text,
        "createdAt": message.created_at.isoformat(),
        "author": {"id": str(message.author.pk), "username": message.author.get_username()},
        "room": {
            "id": str(message.room.pk),
            "name": message.room.name,
            "createdAt": message.room.created_at.isoformat(),
            "lastSeq": message.seq,
        },
    }


async def test_message_reaches_every_subscriber_of_its_room_only(
    sockets: list[GraphQLSocket], alice: factories.Member
) -> None:
    # (graphql-ws has no fast path.)
    with fast_paths_taken({"messageAdded": 2}):
        lobby_1 = await subscribed(sockets, "lobby")
        lobby_2 = await subscribed(sockets, "lobby", protocol="graphql-ws", op_id="a")
        other = await subscribed(sockets, "other")
        await wait_for(lambda: get_hub().rooms == {"lobby": 2, "other": 1})

    result = await GraphQLHttp(alice.token)(SEND, {"room": "lobby", "text": "  hello  "})

    stored = await sync_to_async(Message.objects.select_related("author", "room").get)()
    expected = message_json(stored)
    assert expected["text"] == "hello"
    assert result == {"data": {"sendMessage": expected}}
    assert await lobby_1.receive() == {
        "id": "1",
        "type": "next",
        "payload": {"data": {"messageAdded": expected}},
    }
    assert await lobby_2.receive() == {
        "id": "a",
        "type": "data",
        "payload": {"data": {"messageAdded": expected}},
    }
    await other.assert_silent()
    await lobby_1.assert_silent()


async def test_after_seq_replays_then_goes_live_without_gap_or_duplicate(
    sockets: list[GraphQLSocket], alice: factories.Member
) -> None:
    await sync_to_async(factories.messages)(room="lobby", author=alice.user, count=5)
    http = GraphQLHttp(alice.token)

    socket = await subscribed(sockets, "lobby", after_seq=2)
    posts = [
        asyncio.create_task(http(SEND, {"room": "lobby", "text": f"late {n}"})) for n in range(5)
    ]
    seen = [await socket.receive() for _ in range(8)]
    for post in posts:
        assert "errors" not in await post

    stored: list[Message] = await sync_to_async(list)(  # type: ignore[call-arg]
        Message.objects.select_related("author", "room").filter(seq__gt=2).order_by("seq")
    )
    assert [m.seq for m in stored] == list(range(3, 11))
    assert seen == [
        {"id": "1", "type": "next", "payload": {"data": {"messageAdded": message_json(m)}}}
        for m in stored
    ]
    await socket.assert_silent()


async def test_subscription_ends_and_leaves_the_room_on_complete(
    sockets: list[GraphQLSocket],
) -> None:
    socket = await subscribed(sockets, "lobby")
    await wait_for(lambda: get_hub().rooms == {"lobby": 1})
    await socket.send({"id": "1", "type": "complete"})
    await wait_for(lambda: get_hub().rooms == {})
