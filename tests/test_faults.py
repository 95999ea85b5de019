"""Faults injected into real servers: nothing acknowledged is lost."""

from __future__ import annotations

import asyncio

import pytest
from django.conf import settings
from django.test import override_settings

from chat.hub import get_hub
from tests import factories
from tests.conftest import GraphQLHttp, GraphQLSocket, wait_for
from tests.servers import RedisServer

pytestmark = pytest.mark.django_db(transaction=True)

SUBSCRIPTION = 'subscription { messageAdded(room: "fault") { seq } }'
SEND = 'mutation($t: String!) { sendMessage(room: "fault", text: $t) { seq } }'


async def collect(socket: GraphQLSocket, count: int) -> list[int]:
    seqs: list[int] = []
    while len(seqs) < count:
        frame = await socket.receive(timeout=30)
        assert frame["type"] == "next", frame
        seqs.append(frame["payload"]["data"]["messageAdded"]["seq"])
    return seqs


async def test_redis_killed_and_restarted_midway_loses_nothing(
    redis_server: RedisServer, sockets: list[GraphQLSocket], alice: factories.Member
) -> None:
    """20 subscribers, 500 posts, Redis SIGKILLed after 200 and back after 300: every
    post succeeds, and every subscriber ends with seqs 1..500 exactly once, in order
    (live delivery, seq-gap backfill, and the hub's resync for the tail)."""
    total, subscribers = 500, 20
    # No keep-alive pings: the test ends by asserting that nothing else arrives.
    chat = {**settings.CHAT, "RESYNC_SECONDS": 0.2, "KEEPALIVE_SECONDS": 0, "RATE_LIMIT": (0, 1)}
    with override_settings(CHAT=chat):
        for _ in range(subscribers):
            socket = GraphQLSocket()
            sockets.append(socket)
            await socket.connect()
            await socket.subscribe("1", SUBSCRIPTION)
        await wait_for(lambda: get_hub().rooms == {"fault": subscribers})
        received = [asyncio.create_task(collect(s, total)) for s in sockets]

        http = GraphQLHttp(alice.token)
        for n in range(1, total + 1):
            if n == 201:
                redis_server.kill()
            if n == 301:
                redis_server.start()
            result = await http(SEND, {"t": f"post {n}"})
            assert result == {"data": {"sendMessage": {"seq": n}}}

        for seqs in await asyncio.gather(*received):
            assert seqs == list(range(1, total + 1))
        for socket in sockets:
            await socket.assert_silent()
