"""Faults injected into real servers: nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from realtime.hub import get_hub
from tests import factories
from tests.conftest import GraphQLHttp, GraphQLSocket, wait_for
from tests.feeds import (
    MESSAGES,
    ROOM_EVENTS,
    Feed,
    Op,
    expected,
    mixed,
    perform,
    posts,
    ws_subscribe,
)
from tests.servers import RedisServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


async def collect(socket: GraphQLSocket, feed: Feed, count: int) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []
    while len(received) < count:
        received.append(feed.of(await socket.receive(timeout=30)))
    return received


@pytest.mark.parametrize(
    ("feed", "script"),
    [(MESSAGES, posts(500)), (ROOM_EVENTS, mixed(500))],
    ids=["messageAdded", "roomEvents"],
)
async def test_redis_killed_and_restarted_midway_loses_nothing(
    redis_server: RedisServer,
    sockets: list[GraphQLSocket],
    alice: factories.Member,
    feed: Feed,
    script: list[Op],
) -> None:
    """20 subscribers, 500 writes (roomEvents: posts, edits and reactions), Redis
    SIGKILLed after 200 and back after 300: every write succeeds, and every subscriber
    ends with every event exactly once, in order (live delivery, gap backfill, and the
    hub's resync for the tail)."""
    subscribers = 20
    # No keep-alive pings: the test ends by asserting that nothing else arrives.
    chat = {**settings.CHAT, "RESYNC_SECONDS": 0.2, "KEEPALIVE_SECONDS": 0, "RATE_LIMIT": (0, 1)}
    with override_settings(CHAT=chat):
        for _ in range(subscribers):
            socket = GraphQLSocket()
            sockets.append(socket)
            await socket.connect()
            await socket.subscribe("1", feed.subscription("fault"))
        await wait_for(lambda: get_hub().rooms == {"fault": subscribers})
        everything = expected(feed, script)
        received = [asyncio.create_task(collect(s, feed, len(everything))) for s in sockets]

        http = GraphQLHttp(alice.token)
        await perform(script[:200], "fault", http)
        with redis_server.killed():
            await perform(script[200:300], "fault", http)
        await perform(script[300:], "fault", http)

        for payloads in await asyncio.gather(*received):
            assert payloads == everything
        for socket in sockets:
            await socket.assert_silent()


@pytest.mark.parametrize(
    ("feed", "script"),
    [(MESSAGES, posts(100)), (ROOM_EVENTS, mixed(100))],
    ids=["messageAdded", "roomEvents"],
)
async def test_daphne_killed_mid_stream_client_resumes_elsewhere_with_after_seq(
    redis_server: RedisServer,
    postgres_server: Any,
    alice: factories.Member,
    feed: Feed,
    script: list[Op],
) -> None:
    """A client of a process that dies reconnects to another with afterSeq (roomEvents:
    afterEventSeq) = the last position it saw, and ends with every event exactly once."""
    import signal

    from django.db import connection

    from tests.daphne import daphne_env, start_daphne

    env = daphne_env(
        redis_server,
        postgres_server,
        connection.settings_dict["NAME"],
        CHAT_RATE_LIMIT="0",
        CHAT_KEEPALIVE_SECONDS="0",
    )
    doomed, survivor = start_daphne(env), start_daphne(env)
    everything = expected(feed, script)

    async def send(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        return await asyncio.to_thread(survivor.post, query, variables, alice.token)

    async def receive(ws: Any) -> dict[str, Any]:
        return feed.of(json.loads(await asyncio.wait_for(ws.recv(), 30)))

    try:
        seen: list[dict[str, Any]] = []
        ws = await ws_subscribe(doomed.ws_url, feed.subscription("crash"), {"after": 0})
        posting = asyncio.create_task(perform(script, "crash", send))
        while len(seen) < 30:
            seen.append(await receive(ws))
        doomed.process.send_signal(signal.SIGKILL)
        doomed.process.wait()
        # Whatever was still in flight from the dead process is gone; resume elsewhere.
        last = seen[-1][feed.position]
        ws = await ws_subscribe(survivor.ws_url, feed.subscription("crash"), {"after": last})
        while len(seen) < len(everything):
            seen.append(await receive(ws))
        await posting
        await ws.close()
        assert seen == everything
    finally:
        for daphne in (doomed, survivor):
            if daphne.process.poll() is None:
                daphne.process.terminate()
                daphne.process.wait(timeout=10)


async def test_database_down_send_message_fails_clearly_and_publishes_nothing(
    postgres_server: Any,
    sockets: list[GraphQLSocket],
    alice: factories.Member,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chat.db import in_thread
    from chat.models import Message

    # No keepalive pings: restarting PostgreSQL can take longer than their interval on a
    # loaded machine, and the socket must stay silent for what it shows.
    monkeypatch.setitem(settings.CHAT, "KEEPALIVE_SECONDS", 0)

    socket = GraphQLSocket()
    sockets.append(socket)
    await socket.connect()
    await socket.subscribe("1", 'subscription { messageAdded(room: "db") { seq text } }')
    await wait_for(lambda: get_hub().rooms == {"db": 1})
    send = 'mutation($t: String!) { sendMessage(room: "db", text: $t) { seq } }'
    http = GraphQLHttp(alice.token)

    with postgres_server.killed():
        status, body = await http.post(send, {"t": "lost?"})
    # The bearer token cannot even be checked: refused before any resolver runs.
    assert (status, body) == (
        503,
        {
            "errors": [
                {
                    "message": "The database is unavailable; try again shortly.",
                    "extensions": {"code": "SERVICE_UNAVAILABLE"},
                }
            ]
        },
    )
    await socket.assert_silent()

    # Back up: the next post works and is the room's first message.
    assert await http(send, {"t": "after"}) == {"data": {"sendMessage": {"seq": 1}}}
    assert await socket.receive() == {
        "id": "1",
        "type": "next",
        "payload": {"data": {"messageAdded": {"seq": 1, "text": "after"}}},
    }
    # in_thread: this thread's connection died with the server and must be replaced.
    assert await in_thread(Message.objects.count)() == 1


async def test_member_removed_while_redis_is_down_is_still_cut_off(
    redis_server: RedisServer,
    sockets: list[GraphQLSocket],
    alice: factories.Member,
    bob: factories.Member,
) -> None:
    """The removal event is lost with Redis down; the hub's resync, which compares the
    rooms' access versions, ends the removed member's subscription all the same."""
    owner = GraphQLHttp(alice.token)
    await owner('mutation { createRoom(name: "vault", private: true) { name } }')
    await owner('mutation { inviteToRoom(room: "vault", username: "bob") { name } }')
    chat = {**settings.CHAT, "RESYNC_SECONDS": 0.2, "KEEPALIVE_SECONDS": 0}
    with override_settings(CHAT=chat):
        member = GraphQLSocket()
        sockets.append(member)
        await member.connect({"authToken": bob.token})
        await member.subscribe("1", 'subscription { messageAdded(room: "vault") { seq } }')
        await wait_for(lambda: get_hub().rooms == {"vault": 1})

        with redis_server.killed():
            remove = 'mutation { removeFromRoom(room: "vault", username: "bob") { name } }'
            assert await owner(remove) == {"data": {"removeFromRoom": {"name": "vault"}}}
            assert await member.receive() == {
                "id": "1",
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
            assert await member.receive() == {"id": "1", "type": "complete"}
            await wait_for(lambda: get_hub().rooms == {})


def test_sigterm_while_posts_are_in_their_database_call_never_hangs_the_process(
    redis_server: RedisServer, postgres_server: Any, alice: factories.Member
) -> None:
    """A process stopped (SIGTERM) while posts are in the database thread exits: a commit
    after its event loop stopped leaves its event to the other processes' resync rather
    than wait for the stopped loop (which held up the exit for good: 3 runs in 6 before)."""
    import signal
    import subprocess
    import threading

    from django.db import connection

    from tests.daphne import daphne_env, start_daphne

    env = daphne_env(
        redis_server, postgres_server, connection.settings_dict["NAME"], CHAT_RATE_LIMIT="0"
    )
    send = 'mutation($t: String!) { sendMessage(room: "stop", text: $t) { seq } }'
    exits: list[str] = []
    for _ in range(4):
        daphne = start_daphne(env)
        stop = threading.Event()
        answered = threading.Semaphore(0)

        def post(
            daphne: Any = daphne,
            stop: threading.Event = stop,
            answered: threading.Semaphore = answered,
        ) -> None:
            while not stop.is_set():
                try:
                    daphne.post(send, {"t": "x"}, alice.token)
                    answered.release()
                except Exception:
                    return

        posters = [threading.Thread(target=post, daemon=True) for _ in range(8)]
        for poster in posters:
            poster.start()
        for _ in range(50):  # posting in full swing
            assert answered.acquire(timeout=30)
        daphne.process.send_signal(signal.SIGTERM)
        try:
            daphne.process.wait(timeout=15)
            exits.append("exited")
        except subprocess.TimeoutExpired:
            daphne.process.kill()
            daphne.process.wait()
            exits.append("hung")
        finally:
            stop.set()
            for poster in posters:
                poster.join(10)
    assert exits == ["exited"] * 4
