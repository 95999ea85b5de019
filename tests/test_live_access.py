"""Live authorization of subscriptions: access is re-checked before the next event."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client, override_settings
from websockets.typing import Subprotocol

from chat import services
from chat.events import MESSAGE_KIND
from chat.models import Room
from realtime.hub import get_hub
from tests import factories, feeds
from tests.conftest import GraphQLHttp, GraphQLSocket, wait_for
from tests.daphne import Daphne
from tests.servers import RedisServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.contract]

SUB = 'subscription { messageAdded(room: "plans2027") { seq text } }'
SUB_FROM = (
    'subscription($after: Int) { messageAdded(room: "plans2027", afterSeq: $after) { seq text } }'
)
CREATE = 'mutation { createRoom(name: "plans2027", private: true) { name } }'
SEND = 'mutation($t: String!) { sendMessage(room: "plans2027", text: $t) { seq text } }'
FORBIDDEN = {"message": "You are not a member of this room.", "extensions": {"code": "FORBIDDEN"}}
NEXT = {"graphql-transport-ws": "next", "graphql-ws": "data"}


def cut_off(protocol: str, op_id: str = "1") -> list[dict[str, Any]]:
    """The frames that end a subscription whose user lost access to its room."""
    return [
        {"id": op_id, "type": NEXT[protocol], "payload": {"data": None, "errors": [FORBIDDEN]}},
        {"id": op_id, "type": "complete"},
    ]


@pytest.fixture
def access_notices_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every "access changed" notice is lost, as when the channel layer drops a publish."""
    monkeypatch.setattr(services, "_access_changed_publish", lambda **kwargs: None, raising=False)


async def outsiders(
    sockets: list[GraphQLSocket], bob: factories.Member
) -> list[tuple[GraphQLSocket, str]]:
    """A signed-in non-member and an anonymous socket on each protocol, subscribed to
    plans2027 while it does not exist (a missing room is public)."""
    opened = []
    for protocol in NEXT:
        for payload in ({"authToken": bob.token}, {}):
            socket = GraphQLSocket(protocol)
            sockets.append(socket)
            await socket.connect(payload)
            await socket.subscribe("1", SUB)
            opened.append((socket, protocol))
    await wait_for(lambda: get_hub().rooms == {"plans2027": len(opened)})
    return opened


@pytest.mark.parametrize("notices", ["delivered", "lost"])
async def test_room_created_private_cuts_off_outsiders_already_subscribed(
    request: pytest.FixtureRequest,
    notices: str,
    sockets: list[GraphQLSocket],
    alice: factories.Member,
    bob: factories.Member,
) -> None:
    if notices == "lost":
        request.getfixturevalue("access_notices_lost")
    # A resync far away: what cuts them off is not the periodic backstop.
    with override_settings(CHAT={**settings.CHAT, "RESYNC_SECONDS": 3600}):
        subscribed = await outsiders(sockets, bob)
        owner = GraphQLHttp(alice.token)
        assert await owner(CREATE) == {"data": {"createRoom": {"name": "plans2027"}}}
        member = GraphQLSocket()
        sockets.append(member)
        await member.connect({"authToken": alice.token})
        # From seq 0: a delivered notice may cut the outsiders off before or after the
        # member's subscription joins the hub; either way it gets both posts.
        await member.subscribe("m", SUB_FROM, {"after": 0})
        for n in (1, 2):
            assert await owner(SEND, {"t": f"secret {n}"}) == {
                "data": {"sendMessage": {"seq": n, "text": f"secret {n}"}}
            }
        # The member gets both: they have been dispatched in this process.
        for n in (1, 2):
            assert await member.receive() == {
                "id": "m",
                "type": "next",
                "payload": {"data": {"messageAdded": {"seq": n, "text": f"secret {n}"}}},
            }
        for socket, protocol in subscribed:
            assert [await socket.receive(), await socket.receive()] == cut_off(protocol)
            await socket.assert_silent()
        assert get_hub().rooms == {"plans2027": 1}


async def test_an_outsider_joining_while_the_hub_rechecks_is_not_delivered_unchecked(
    access_notices_lost: None,
    sockets: list[GraphQLSocket],
    alice: factories.Member,
    bob: factories.Member,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The outsider's access was checked while the room did not exist; its join lands
    while the hub re-checks the room's subscribers for the owner's first private post
    (the notice of the room's creation lost, so that post's check is the first)."""
    import realtime.access
    import realtime.hub
    import realtime.streams
    from chat.db import in_thread

    joined, checking, check_done = asyncio.Event(), asyncio.Event(), asyncio.Event()

    def gated_in_thread(func: Any) -> Any:
        # On the event loop: the one ORM thread serves everyone else meanwhile.
        run = in_thread(func)

        async def call(**kwargs: Any) -> Any:
            if func is MESSAGE_KIND.last_position:
                seq = await run(**kwargs)  # read before the room exists: 0
                await joined.wait()
                return seq
            if func is realtime.access.room_access_members:
                checking.set()
                await check_done.wait()
            return await run(**kwargs)

        return call

    with override_settings(CHAT={**settings.CHAT, "RESYNC_SECONDS": 3600}):
        owner = GraphQLHttp(alice.token)
        member = GraphQLSocket()
        sockets.append(member)
        await member.connect({"authToken": alice.token})
        await member.subscribe("m", SUB)
        await wait_for(lambda: get_hub().rooms == {"plans2027": 1})
        monkeypatch.setattr(realtime.streams, "in_thread", gated_in_thread)
        monkeypatch.setattr(realtime.access, "in_thread", gated_in_thread)
        outsider = GraphQLSocket()
        sockets.append(outsider)
        await outsider.connect({"authToken": bob.token})
        await outsider.subscribe("1", SUB)
        assert await owner(CREATE) == {"data": {"createRoom": {"name": "plans2027"}}}
        assert await owner(SEND, {"t": "secret 1"}) == {
            "data": {"sendMessage": {"seq": 1, "text": "secret 1"}}
        }
        await checking.wait()
        joined.set()
        await wait_for(lambda: get_hub().rooms == {"plans2027": 2})
        check_done.set()
        assert (await member.receive())["payload"] == {
            "data": {"messageAdded": {"seq": 1, "text": "secret 1"}}
        }
        # Not delivered unchecked: it reads the room from the database, which refuses it,
        # and the next event's check cuts it off.
        await owner(SEND, {"t": "secret 2"})
        assert [await outsider.receive(), await outsider.receive()] == cut_off(
            "graphql-transport-ws"
        )


async def test_member_removed_with_the_notice_lost_gets_not_one_more_message(
    access_notices_lost: None,
    sockets: list[GraphQLSocket],
    alice: factories.Member,
    bob: factories.Member,
) -> None:
    owner = GraphQLHttp(alice.token)
    await owner(CREATE)
    await owner('mutation { inviteToRoom(room: "plans2027", username: "bob") { name } }')
    with override_settings(CHAT={**settings.CHAT, "RESYNC_SECONDS": 3600}):
        removed = GraphQLSocket()
        sockets.append(removed)
        await removed.connect({"authToken": bob.token})
        await removed.subscribe("1", SUB)
        await wait_for(lambda: get_hub().rooms == {"plans2027": 1})
        assert await owner(SEND, {"t": "before"}) == {
            "data": {"sendMessage": {"seq": 1, "text": "before"}}
        }
        assert (await removed.receive())["payload"] == {
            "data": {"messageAdded": {"seq": 1, "text": "before"}}
        }
        remove = 'mutation { removeFromRoom(room: "plans2027", username: "bob") { name } }'
        assert await owner(remove) == {"data": {"removeFromRoom": {"name": "plans2027"}}}
        await owner(SEND, {"t": "after"})
        assert [await removed.receive(), await removed.receive()] == cut_off("graphql-transport-ws")
        await wait_for(lambda: get_hub().rooms == {})


async def test_lost_notice_with_no_later_message_takes_effect_at_the_resync(
    access_notices_lost: None,
    sockets: list[GraphQLSocket],
    alice: factories.Member,
    bob: factories.Member,
) -> None:
    with override_settings(CHAT={**settings.CHAT, "RESYNC_SECONDS": 0.2}):
        subscribed = await outsiders(sockets, bob)
        await GraphQLHttp(alice.token)(CREATE)
        for socket, protocol in subscribed:
            assert [await socket.receive(), await socket.receive()] == cut_off(protocol)
        await wait_for(lambda: get_hub().rooms == {})


# Two daphne processes on one Redis and PostgreSQL (tests/conftest.py `quiet_daphnes`).


async def ws_subscribe(daphne: Daphne, payload: dict[str, Any], op_id: str) -> Any:
    ws = await websockets.connect(daphne.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")])
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    assert json.loads(await ws.recv()) == {"type": "connection_ack"}
    await ws.send(
        json.dumps({"id": op_id, "type": "subscribe", "payload": {"query": SUB, "variables": {}}})
    )
    return ws


@pytest.mark.slow
async def test_outsiders_on_two_processes_receive_nothing_of_a_room_made_private(
    quiet_daphnes: tuple[Daphne, ...],
    redis_server: RedisServer,
    alice: factories.Member,
    bob: factories.Member,
) -> None:
    from tests.test_scale_out import group_subscribers

    opened = []
    try:
        for daphne in quiet_daphnes:
            for payload in ({"authToken": bob.token}, {}):
                opened.append(await ws_subscribe(daphne, payload, "1"))
        await wait_for(lambda: group_subscribers(redis_server, "plans2027") == 2)
        process_a, process_b = quiet_daphnes
        created = await asyncio.to_thread(process_a.post, CREATE, {}, alice.token)
        assert created == {"data": {"createRoom": {"name": "plans2027"}}}
        # The owner listens on both processes: once they have the post, so would have
        # the outsiders.
        members = [
            await ws_subscribe(daphne, {"authToken": alice.token}, "m") for daphne in quiet_daphnes
        ]
        await wait_for(lambda: group_subscribers(redis_server, "plans2027") == 2)
        sent = await asyncio.to_thread(process_b.post, SEND, {"t": "secret"}, alice.token)
        assert sent == {"data": {"sendMessage": {"seq": 1, "text": "secret"}}}
        for ws in members:
            assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {
                "id": "m",
                "type": "next",
                "payload": {"data": {"messageAdded": {"seq": 1, "text": "secret"}}},
            }
        for ws in opened:
            for frame in cut_off("graphql-transport-ws"):
                assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == frame
        opened += members
    finally:
        for ws in opened:
            await ws.close()


async def test_room_made_private_in_the_admin_cuts_off_outsiders(
    sockets: list[GraphQLSocket], alice: factories.Member, bob: factories.Member
) -> None:
    owner = GraphQLHttp(alice.token)
    townhall = 'mutation($t: String!) { sendMessage(room: "townhall", text: $t) { seq } }'
    assert await owner(townhall, {"t": "open"}) == {"data": {"sendMessage": {"seq": 1}}}
    outsider = GraphQLSocket()
    sockets.append(outsider)
    await outsider.connect({"authToken": bob.token})
    await outsider.subscribe("1", 'subscription { messageAdded(room: "townhall") { seq } }')
    await wait_for(lambda: get_hub().rooms == {"townhall": 1})

    def make_private() -> None:
        admin = User.objects.create_superuser("root", password=factories.PASSWORD)
        client = Client()
        client.force_login(admin)
        room = Room.objects.get(name="townhall")
        form = client.get(f"/admin/chat/room/{room.pk}/change/").context["adminform"].form
        data = {name: value for name, value in form.initial.items() if value is not None}
        data.update(
            {
                "created_at_0": room.created_at.strftime("%Y-%m-%d"),
                "created_at_1": room.created_at.strftime("%H:%M:%S"),
                "last_activity_at_0": room.last_activity_at.strftime("%Y-%m-%d"),
                "last_activity_at_1": room.last_activity_at.strftime("%H:%M:%S"),
                "is_private": "on",
                "members": [str(alice.user.pk)],
                "created_by": "",
            }
        )
        response = client.post(f"/admin/chat/room/{room.pk}/change/", data)
        assert response.status_code == 302, response.content
        assert Room.objects.get(name="townhall").is_private

    with override_settings(CHAT={**settings.CHAT, "RESYNC_SECONDS": 3600}):
        await sync_to_async(make_private)()
        assert await owner(townhall, {"t": "closed"}) == {"data": {"sendMessage": {"seq": 2}}}
        assert [await outsider.receive(), await outsider.receive()] == cut_off(
            "graphql-transport-ws"
        )
        await outsider.assert_silent()


VAULT_EVENTS = (
    'subscription($after: Int) { roomEvents(room: "vault", afterEventSeq: $after) {'
    " eventSeq __typename actor { username }"
    " ... on MemberLeft { user { username } removedBy { username } } } }"
)


@pytest.mark.slow
async def test_member_removed_on_another_process_gets_their_member_left_then_complete(
    quiet_daphnes: tuple[Daphne, ...], alice: factories.Member, bob: factories.Member
) -> None:
    """Bob listens on process A to roomEvents and messageAdded on one socket; alice removes
    him through process B (no resync: what happens comes from the events). His roomEvents
    ends with his own MemberLeft then completes; his messageAdded ends with FORBIDDEN, as
    before room events; the others go on, and see him leave."""
    carol = await sync_to_async(factories.member)("carol")
    process_a, process_b = quiet_daphnes

    async def owner(query: str) -> dict[str, Any]:
        return await asyncio.to_thread(process_b.post, query, {}, alice.token)

    assert await owner('mutation { createRoom(name: "vault", private: true) { name } }') == {
        "data": {"createRoom": {"name": "vault"}}
    }
    for name in ("bob", "carol"):
        invite = f'mutation {{ inviteToRoom(room: "vault", username: "{name}") {{ name }} }}'
        assert await owner(invite) == {"data": {"inviteToRoom": {"name": "vault"}}}

    def frame(op_id: str, seq: int, typename: str, actor: str = "alice", **more: Any) -> Any:
        event = {"eventSeq": seq, "__typename": typename, "actor": {"username": actor}, **more}
        return {"id": op_id, "type": "next", "payload": {"data": {"roomEvents": event}}}

    async def received(ws: Any, count: int) -> list[dict[str, Any]]:
        return [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(count)]

    # After the three MemberJoined: each stream starts at the same place, however late
    # its subscription starts.
    after = {"after": 3}
    member = await ws_subscribe_to(process_a, bob, VAULT_EVENTS, after, "e")
    await member.send(
        json.dumps(
            {"id": "m", "type": "subscribe",
             "payload": {"query": 'subscription { messageAdded(room: "vault") { seq text } }'}}
        )
    )  # fmt: skip
    others = [
        await ws_subscribe_to(process_a, alice, VAULT_EVENTS, after, "e"),
        await ws_subscribe_to(process_b, carol, VAULT_EVENTS, after, "e"),
    ]
    try:
        # Everyone is live once the post reaches them all.
        assert await owner('mutation { sendMessage(room: "vault", text: "hi") { seq } }') == {
            "data": {"sendMessage": {"seq": 1}}
        }
        hello = {
            "id": "m",
            "type": "next",
            "payload": {"data": {"messageAdded": {"seq": 1, "text": "hi"}}},
        }
        assert sorted(await received(member, 2), key=lambda f: f["id"]) == [
            frame("e", 4, "MessagePosted"),
            hello,
        ]
        for ws in others:
            assert await received(ws, 1) == [frame("e", 4, "MessagePosted")]

        remove = 'mutation { removeFromRoom(room: "vault", username: "bob") { name } }'
        assert await owner(remove) == {"data": {"removeFromRoom": {"name": "vault"}}}
        left = frame(
            "e", 5, "MemberLeft", user={"username": "bob"}, removedBy={"username": "alice"}
        )
        frames = await received(member, 4)
        assert [f for f in frames if f["id"] == "e"] == [left, {"id": "e", "type": "complete"}]
        assert [f for f in frames if f["id"] == "m"] == cut_off("graphql-transport-ws", "m")
        for ws in others:
            assert await received(ws, 1) == [left]

        # The others go on; bob gets nothing more, and may not subscribe again.
        assert await owner('mutation { sendMessage(room: "vault", text: "bye") { seq } }') == {
            "data": {"sendMessage": {"seq": 2}}
        }
        for ws in others:
            assert await received(ws, 1) == [frame("e", 6, "MessagePosted")]
        await member.send(
            json.dumps(
                {"id": "again", "type": "subscribe",
                 "payload": {"query": VAULT_EVENTS, "variables": {"after": 0}}}
            )
        )  # fmt: skip
        assert await received(member, 2) == cut_off("graphql-transport-ws", "again")
    finally:
        for ws in [member, *others]:
            await ws.close()


async def ws_subscribe_to(
    daphne: Daphne, user: factories.Member, query: str, variables: dict[str, Any], op_id: str
) -> Any:
    return await feeds.ws_subscribe(
        daphne.ws_url, query, variables, op_id=op_id, init={"authToken": user.token}
    )
