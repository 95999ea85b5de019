"""Mentions: @username resolved at post time to members of the room, stored with the
post (in its batch statement on PostgreSQL), carried by its events."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.test import override_settings

from chat import events, messaging, posting, services
from chat.mentions import MAX_MENTIONS
from chat.models import Message
from chat.posting import Post
from realtime.hub import get_hub
from tests import factories
from tests.conftest import GraphQLHttp, GraphQLSocket, wait_for
from tests.schema.test_batching import orm_connections

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded, pytest.mark.contract]

SEND = """mutation($room: String!, $text: String!) {
  sendMessage(room: $room, text: $text) { seq mentions { username } } }"""
HISTORY = """query { messages(room: "lobby", first: 10) {
  edges { node { seq mentions { username } } } } }"""
LIVE = 'subscription { messageAdded(room: "lobby") { seq mentions { username } } }'


def mentioned(message: Message) -> list[str]:
    through = Message.mentions.through.objects.filter(message=message).order_by("id")
    return list(through.values_list("user__username", flat=True))


def users(*names: str) -> list[dict[str, str]]:
    return [{"username": name} for name in names]


async def test_mentions_are_members_named_in_order_once_each(
    sockets: list[GraphQLSocket], alice: factories.Member, bob: factories.Member
) -> None:
    await sync_to_async(factories.member)("carol")
    dave = await sync_to_async(factories.member)("dave")

    def room() -> None:
        services.room_create(name="lobby", private=False, creator=alice.user)
        services.room_join(name="lobby", user=bob.user)
        services.room_join(name="lobby", user=dave.user)

    await sync_to_async(room)()
    live = GraphQLSocket()
    sockets.append(live)
    assert await live.connect({"authToken": bob.token}) == {"type": "connection_ack"}
    await live.subscribe("1", LIVE)
    # Live before the post: an HTTP post can overtake the subscription's start.
    await wait_for(lambda: get_hub().rooms == {"lobby": 1})
    gql = GraphQLHttp(alice.token)
    # carol is not a member, nobody no user, bob named twice (once in another case), an
    # email address no mention, "dave." the end of a sentence.
    text = "hi @bob, @carol @nobody @BOB mail a@dave.example and @alice! thanks @dave."
    sent = await gql(SEND, {"room": "lobby", "text": text})
    expected = {"seq": 1, "mentions": users("bob", "alice", "dave")}
    assert sent == {"data": {"sendMessage": expected}}
    frame = await live.receive()
    assert frame == {"id": "1", "type": "next", "payload": {"data": {"messageAdded": expected}}}
    plain = await gql(SEND, {"room": "lobby", "text": "no one"})
    assert plain == {"data": {"sendMessage": {"seq": 2, "mentions": []}}}
    assert await gql(HISTORY) == {
        "data": {
            "messages": {"edges": [{"node": expected}, {"node": plain["data"]["sendMessage"]}]}
        }
    }
    stored = await sync_to_async(Message.objects.get)(seq=1)
    # An edit keeps them; a deletion removes them with the text.
    await sync_to_async(messaging.message_edit)(message_id=stored.pk, user=alice.user, text="x")
    assert await sync_to_async(mentioned)(stored) == ["bob", "alice", "dave"]
    deleted = await sync_to_async(messaging.message_delete)(message_id=stored.pk, user=alice.user)
    assert deleted.mention_list == []
    assert await sync_to_async(mentioned)(stored) == []


def test_a_batch_stores_each_posts_mentions_in_its_one_statement(
    django_assert_num_queries: Any,
) -> None:
    alice, bob = factories.member("alice").user, factories.member("bob").user
    many = [factories.member(f"user{n:02}").user for n in range(MAX_MENTIONS + 1)]
    services.room_create(name="a", private=False, creator=alice)
    services.room_create(name="b", private=False, creator=bob)
    services.room_join(name="a", user=bob)
    for user in many:
        services.room_join(name="a", user=user)
    everyone = " ".join(f"@{user.username}" for user in reversed(many))
    posts = [
        Post("a", alice, "@bob @alice"),
        # alice is no member of b.
        Post("b", bob, "@alice and @bob"),
        Post("a", bob, everyone),
        Post("a", alice, "nobody"),
    ]
    # PostgreSQL: who is mentioned (one query for the batch), then the batch's statement;
    # SQLite: that query, each post as message_create, and one insert of mentions a post.
    with django_assert_num_queries(2 if connection.vendor == "postgresql" else 1 + 4 * 7 + 3):
        results = posting.messages_create(posts)
    messages = [result for result in results if isinstance(result, Message)]
    assert len(messages) == 4
    first_twenty = [user.username for user in reversed(many)][:MAX_MENTIONS]
    expected = [["bob", "alice"], ["bob"], first_twenty, []]
    assert [[user.username for user in m.mention_list or ()] for m in messages] == expected
    assert [mentioned(message) for message in messages] == expected


@pytest.mark.parametrize("rooms", [2, 20])
async def test_my_rooms_costs_the_same_queries_for_2_rooms_as_for_20(
    rooms: int,
    django_assert_num_queries: Any,
    monkeypatch: pytest.MonkeyPatch,
    alice: factories.Member,
    bob: factories.Member,
) -> None:
    @override_settings(CHAT={**settings.CHAT, "RATE_LIMIT": (0, 10)})
    def made() -> None:
        for n in range(rooms):
            services.room_create(name=f"room{n:02}", private=n % 2 == 1, creator=alice.user)
            services.room_invite(name=f"room{n:02}", username="bob", inviter=alice.user)
            posting.message_create(room_name=f"room{n:02}", author=alice.user, text=f"@bob {n}")

    await sync_to_async(made)()
    query = """query { myRooms(first: 20) { edges { node {
      name lastReadSeq unreadCount members { username }
      lastMessage { text author { username } mentions { username } }
    } } } }"""
    orm, sync, loop = await orm_connections(monkeypatch)
    # The token's user, the page; then one query each for markers, unread counts,
    # members, last messages (with authors) and their mentions.
    with (
        django_assert_num_queries(7, connection=orm),
        django_assert_num_queries(0, connection=sync),
        django_assert_num_queries(0, connection=loop),
    ):
        result = await GraphQLHttp(bob.token)(query)
    nodes = [edge["node"] for edge in result["data"]["myRooms"]["edges"]]
    assert nodes == [
        {
            "name": f"room{n:02}",
            "lastReadSeq": None,
            "unreadCount": 1,
            "members": users("alice", "bob"),
            "lastMessage": {
                "text": f"@bob {n}",
                "author": {"username": "alice"},
                "mentions": users("bob"),
            },
        }
        for n in reversed(range(rooms))
    ]


def test_events_carry_mentions_and_restore_them_without_a_query(
    django_assert_num_queries: Any,
) -> None:
    alice, bob = factories.member("alice").user, factories.member("bob").user
    services.room_create(name="lobby", private=False, creator=alice)
    services.room_join(name="lobby", user=bob)
    sent = posting.message_create(room_name="lobby", author=alice, text="@bob @alice")
    payload = events.message_event_build(sent)["message"]
    assert (payload["room_direct"], payload["mentions"]) == (
        False,
        [{"id": bob.pk, "username": "bob"}, {"id": alice.pk, "username": "alice"}],
    )
    with django_assert_num_queries(0):
        restored = events.message_from_payload(payload)
        assert restored.room.direct is False
        assert [(user.pk, user.username) for user in restored.mention_list or ()] == [
            (bob.pk, "bob"),
            (alice.pk, "alice"),
        ]
    # From a process of the previous version: not known, so read when asked for.
    del payload["mentions"]
    assert events.message_from_payload(payload).mention_list is None
