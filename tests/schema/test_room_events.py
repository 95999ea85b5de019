"""The room event stream (roomEvents, Query.roomEvents) and what feeds it: posts, edits,
deletions, reactions, replies and membership."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from chat.models import Message, Reaction, RoomEvent
from realtime.hub import get_hub
from tests import factories
from tests.conftest import GraphQLHttp, GraphQLSocket, fast_path_results, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded, pytest.mark.contract]

MESSAGE = """
    id seq text deleted editedAt
    author { username }
    replyTo { id text deleted }
    reactions { emoji count reactedByMe users { username } }
"""
EVENT = f"""
    __typename eventSeq actor {{ username }} room {{ name lastEventSeq }}
    ... on MessagePosted {{ message {{ {MESSAGE} }} }}
    ... on MessageEdited {{ message {{ {MESSAGE} }} }}
    ... on MessageDeleted {{ message {{ {MESSAGE} }} }}
    ... on ReactionAdded {{ emoji user {{ username }} message {{ id }} }}
    ... on ReactionRemoved {{ emoji user {{ username }} message {{ id }} }}
    ... on MemberJoined {{ user {{ username }} }}
    ... on MemberLeft {{ user {{ username }} removedBy {{ username }} }}
"""
SUBSCRIPTION = f"""
subscription Events($room: String!, $after: Int) {{
  roomEvents(room: $room, afterEventSeq: $after) {{ {EVENT} }}
}}
"""
SEND = """
mutation Send($room: String!, $text: String!, $replyTo: ID) {
  sendMessage(room: $room, text: $text, replyTo: $replyTo) { id seq }
}
"""
EDIT = f"""mutation Edit($id: ID!, $text: String!) {{
  editMessage(id: $id, text: $text) {{ {MESSAGE} }} }}"""
DELETE = f"mutation Delete($id: ID!) {{ deleteMessage(id: $id) {{ {MESSAGE} }} }}"
ADD = f"""mutation Add($id: ID!, $emoji: String!) {{
  addReaction(messageId: $id, emoji: $emoji) {{ {MESSAGE} }} }}"""
REMOVE = f"""mutation Remove($id: ID!, $emoji: String!) {{
  removeReaction(messageId: $id, emoji: $emoji) {{ {MESSAGE} }} }}"""
# Pages as literals: a variable page counts as the largest (100) in the cost model, and
# 100 events with reactions and their users cost more than an operation may.
HISTORY = f"""
query History($room: String!, $before: String) {{
  roomEvents(room: $room, last: LAST, before: $before) {{
    edges {{ cursor node {{ {EVENT} }} }}
    pageInfo {{ hasNextPage hasPreviousPage }}
  }}
}}
"""


def message(
    id_: str,
    seq: int,
    text: str,
    *,
    author: str = "alice",
    deleted: bool = False,
    edited: Any = None,
    reply_to: Any = None,
    reactions: list[Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": id_,
        "seq": seq,
        "text": text,
        "deleted": deleted,
        "editedAt": edited,
        "author": {"username": author},
        "replyTo": reply_to,
        "reactions": reactions or [],
    }


def event(typename: str, seq: int, actor: str = "alice", **fields: Any) -> dict[str, Any]:
    return {
        "__typename": typename,
        "eventSeq": seq,
        "actor": {"username": actor},
        "room": {"name": "lobby", "lastEventSeq": seq},
        **fields,
    }


async def subscribed(
    sockets: list[GraphQLSocket],
    *,
    token: str | None = None,
    after: int | None = None,
    protocol: str = "graphql-transport-ws",
) -> GraphQLSocket:
    socket = GraphQLSocket(protocol)
    sockets.append(socket)
    payload = {"authToken": token} if token else {}
    assert await socket.connect(payload) == {"type": "connection_ack"}
    await socket.subscribe("1", SUBSCRIPTION, {"room": "lobby", "after": after})
    return socket


async def data(socket: GraphQLSocket) -> dict[str, Any]:
    frame = await socket.receive()
    assert frame["type"] in ("next", "data"), frame
    assert "errors" not in frame["payload"], frame
    return frame["payload"]["data"]["roomEvents"]  # type: ignore[no-any-return]


async def test_every_kind_of_event_streams_live_then_replays_the_same(
    sockets: list[GraphQLSocket], alice: factories.Member, bob: factories.Member
) -> None:
    gql = GraphQLHttp(alice.token)
    bobs = GraphQLHttp(bob.token)
    assert await gql('mutation { createRoom(name: "lobby") { name } }') == {
        "data": {"createRoom": {"name": "lobby"}}
    }
    live = await subscribed(sockets, token=bob.token, after=0)
    joined = event("MemberJoined", 1, user={"username": "alice"})
    assert await data(live) == joined

    assert await bobs('mutation { joinRoom(room: "lobby") { name } }') == {
        "data": {"joinRoom": {"name": "lobby"}}
    }
    # Joining again changes nothing and logs nothing.
    await bobs('mutation { joinRoom(room: "lobby") { name } }')
    bob_joined = event("MemberJoined", 2, actor="bob", user={"username": "bob"})
    assert await data(live) == bob_joined

    first = (await gql(SEND, {"room": "lobby", "text": "hello"}))["data"]["sendMessage"]
    posted = event("MessagePosted", 3, message=message(first["id"], 1, "hello"))
    assert await data(live) == posted
    reply = (await bobs(SEND, {"room": "lobby", "text": "hi!", "replyTo": first["id"]}))["data"][
        "sendMessage"
    ]
    reply_to = {"id": first["id"], "text": "hello", "deleted": False}
    assert await data(live) == event(
        "MessagePosted",
        4,
        actor="bob",
        message=message(reply["id"], 2, "hi!", author="bob", reply_to=reply_to),
    )

    added = await bobs(ADD, {"id": first["id"], "emoji": "👍🏽"})
    thumbs = {"emoji": "👍🏽", "count": 1, "reactedByMe": True, "users": [{"username": "bob"}]}
    assert added == {"data": {"addReaction": message(first["id"], 1, "hello", reactions=[thumbs])}}
    # Again: idempotent, no event.
    assert await bobs(ADD, {"id": first["id"], "emoji": "👍🏽"}) == added
    assert await data(live) == event(
        "ReactionAdded",
        5,
        actor="bob",
        emoji="👍🏽",
        user={"username": "bob"},
        message={"id": first["id"]},
    )

    edited = (await gql(EDIT, {"id": first["id"], "text": " hello, world "}))["data"]
    edited_at = edited["editMessage"]["editedAt"]
    assert edited_at is not None
    theirs = {**thumbs, "reactedByMe": False}
    assert edited == {
        "editMessage": message(first["id"], 1, "hello, world", edited=edited_at, reactions=[theirs])
    }
    # The subscriber (bob) reacted: reactedByMe is his.
    assert await data(live) == event(
        "MessageEdited",
        6,
        message=message(first["id"], 1, "hello, world", edited=edited_at, reactions=[thumbs]),
    )

    removed = await bobs(REMOVE, {"id": first["id"], "emoji": "👍🏽"})
    assert removed == {
        "data": {"removeReaction": message(first["id"], 1, "hello, world", edited=edited_at)}
    }
    assert await bobs(REMOVE, {"id": first["id"], "emoji": "👍🏽"}) == removed
    assert await data(live) == event(
        "ReactionRemoved",
        7,
        actor="bob",
        emoji="👍🏽",
        user={"username": "bob"},
        message={"id": first["id"]},
    )

    await bobs(ADD, {"id": first["id"], "emoji": ":party_parrot:"})
    assert (await data(live))["eventSeq"] == 8
    deleted = await gql(DELETE, {"id": first["id"]})
    tombstone = message(first["id"], 1, "", deleted=True, edited=edited_at)
    assert deleted == {"data": {"deleteMessage": tombstone}}
    assert await data(live) == event("MessageDeleted", 9, message=tombstone)

    await bobs('mutation { leaveRoom(room: "lobby") }')
    left = event("MemberLeft", 10, actor="bob", user={"username": "bob"}, removedBy=None)
    # Bob gets his own MemberLeft, then his subscription completes.
    assert await data(live) == left
    assert await live.receive() == {"id": "1", "type": "complete"}

    # The stored text is gone, not hidden; reactions too.
    stored = await sync_to_async(Message.objects.get)(pk=int(first["id"]))
    assert (stored.text, stored.deleted) == ("", True)
    assert await sync_to_async(Reaction.objects.filter(message=stored).count)() == 0
    seqs = await sync_to_async(
        lambda: list(RoomEvent.objects.order_by("seq").values_list("seq", flat=True))
    )()
    assert seqs == list(range(1, 11))

    # A replay from 0 gives the same events, each message as it is now.
    replay = await subscribed(sockets, token=alice.token, after=0)
    received = [await data(replay) for _ in range(10)]
    reply_now = {"id": first["id"], "text": "", "deleted": True}
    assert [r["__typename"] for r in received] == [
        "MemberJoined",
        "MemberJoined",
        "MessagePosted",
        "MessagePosted",
        "ReactionAdded",
        "MessageEdited",
        "ReactionRemoved",
        "ReactionAdded",
        "MessageDeleted",
        "MemberLeft",
    ]
    assert received[2] == event("MessagePosted", 3, message=tombstone)
    assert received[3]["message"]["replyTo"] == reply_now
    assert received[9] == left

    page = await gql(HISTORY.replace("LAST", "2"), {"room": "lobby"})
    assert "errors" not in page, page
    edges = page["data"]["roomEvents"]["edges"]
    assert [edge["node"] for edge in edges] == received[8:]
    assert page["data"]["roomEvents"]["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True}
    older = await gql(HISTORY.replace("LAST", "3"), {"room": "lobby", "before": edges[0]["cursor"]})
    assert [e["node"]["eventSeq"] for e in older["data"]["roomEvents"]["edges"]] == [6, 7, 8]


async def test_refusals_store_and_publish_nothing(
    sockets: list[GraphQLSocket], alice: factories.Member, bob: factories.Member
) -> None:
    gql, bobs = GraphQLHttp(alice.token), GraphQLHttp(bob.token)
    await gql('mutation { createRoom(name: "secret", private: true) { name } }')
    await gql('mutation { createRoom(name: "lobby") { name } }')
    secret = (await gql(SEND, {"room": "secret", "text": "psst"}))["data"]["sendMessage"]["id"]
    mine = (await gql(SEND, {"room": "lobby", "text": "mine"}))["data"]["sendMessage"]["id"]
    live = await subscribed(sockets, token=alice.token)
    await wait_for(lambda: get_hub().rooms == {"lobby": 1})
    before = await sync_to_async(RoomEvent.objects.count)()

    def refused(code: str, field: str) -> Any:
        def check(result: dict[str, Any]) -> None:
            assert result["data"] is None, result
            assert [e["extensions"]["code"] for e in result["errors"]] == [code], result
            assert result["errors"][0]["path"] == [field]

        return check

    anonymous = GraphQLHttp()
    refused("UNAUTHENTICATED", "editMessage")(await anonymous(EDIT, {"id": mine, "text": "x"}))
    refused("FORBIDDEN", "editMessage")(await bobs(EDIT, {"id": mine, "text": "x"}))
    refused("FORBIDDEN", "deleteMessage")(await bobs(DELETE, {"id": mine}))
    # Missing, or in a room bob cannot see: the same answer.
    missing = await bobs(EDIT, {"id": "999999", "text": "x"})
    hidden = await bobs(EDIT, {"id": secret, "text": "x"})
    refused("NOT_FOUND", "editMessage")(missing)
    assert missing == hidden
    refused("NOT_FOUND", "addReaction")(await bobs(ADD, {"id": secret, "emoji": "👍"}))
    for bad in ["a", "👍👍", "👍 ", ":Caps:", ":" + "x" * 33 + ":", "::", ""]:
        refused("BAD_USER_INPUT", "addReaction")(await gql(ADD, {"id": mine, "emoji": bad}))
    refused("BAD_USER_INPUT", "editMessage")(await gql(EDIT, {"id": mine, "text": "   "}))
    refused("BAD_USER_INPUT", "editMessage")(await gql(EDIT, {"id": "abc", "text": "x"}))
    refused("BAD_USER_INPUT", "sendMessage")(
        await gql(SEND, {"room": "lobby", "text": "x", "replyTo": secret})
    )
    await gql(DELETE, {"id": mine})
    assert (await live.receive())["payload"]["data"]["roomEvents"]["__typename"] == (
        "MessageDeleted"
    )
    for query, variables, field in [
        (EDIT, {"id": mine, "text": "x"}, "editMessage"),
        (ADD, {"id": mine, "emoji": "👍"}, "addReaction"),
        (SEND, {"room": "lobby", "text": "x", "replyTo": mine}, "sendMessage"),
    ]:
        refused("BAD_USER_INPUT", field)(await gql(query, variables))
    # Twenty distinct reactions at most.
    other = (await gql(SEND, {"room": "lobby", "text": "react"}))["data"]["sendMessage"]["id"]
    for n in range(20):
        await gql(ADD, {"id": other, "emoji": f":e{n}:"})
    refused("BAD_USER_INPUT", "addReaction")(await gql(ADD, {"id": other, "emoji": ":e20:"}))
    # The delete, the post and its twenty reactions: nothing else was logged.
    assert await sync_to_async(RoomEvent.objects.count)() == before + 22


async def test_message_added_payloads_carry_the_rooms_last_event_seq_as_of_the_post(
    sockets: list[GraphQLSocket], alice: factories.Member
) -> None:
    gql = GraphQLHttp(alice.token)
    await gql('mutation { createRoom(name: "lobby") { name } }')
    socket = GraphQLSocket()
    sockets.append(socket)
    assert await socket.connect() == {"type": "connection_ack"}
    query = 'subscription { messageAdded(room: "lobby") { seq room { lastSeq lastEventSeq } } }'
    await socket.subscribe("1", query)
    await wait_for(lambda: get_hub().rooms == {"lobby": 1})
    before = fast_path_results()
    await gql(SEND, {"room": "lobby", "text": "hello"})
    # createRoom logged event 1 (alice joined): the post is event 2.
    assert await socket.receive() == {
        "id": "1",
        "type": "next",
        "payload": {
            "data": {"messageAdded": {"seq": 1, "room": {"lastSeq": 1, "lastEventSeq": 2}}}
        },
    }
    if settings.CHAT["FAST_PATHS"]:
        # Carried by the event: rendered, with no database read.
        delta = {
            key: value - before.get(key, 0)
            for key, value in fast_path_results().items()
            if key[0] == "messageAdded" and value != before.get(key, 0)
        }
        assert delta == {("messageAdded", "rendered"): 1}
