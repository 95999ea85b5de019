"""Metrics while Redis is down: failed publishes counted, lost events backfilled."""

from __future__ import annotations

import asyncio

import pytest
from django.conf import settings
from django.test import override_settings

from realtime.hub import get_hub
from tests import factories
from tests.conftest import GraphQLHttp, GraphQLSocket, wait_for
from tests.servers import RedisServer
from tests.test_operations import Samples, changes, scrape

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SUBSCRIPTION = 'subscription { messageAdded(room: "down") { seq } }'
SEND = 'mutation($t: String!) { sendMessage(room: "down", text: $t) { seq } }'
COUNTERS = (
    "chat_publish_failures_total",
    "chat_messages_published_total",
    "chat_deliveries_total{source=live}",
    "chat_deliveries_total{source=backfill}",
    "chat_delivery_latency_seconds_count",
    "chat_resync_recoveries_total",
)


async def failed_publishes(before: Samples) -> float:
    """Publishes failed since ``before`` (each waits for its timeout while Redis is down)."""
    await asyncio.sleep(0)
    return changes(before, await scrape()).get("chat_publish_failures_total", 0.0)


async def test_publishes_lost_while_redis_is_down_are_counted_and_backfilled(
    redis_server: RedisServer, sockets: list[GraphQLSocket], alice: factories.Member
) -> None:
    # No periodic resync: the posts lost with Redis are recovered at the gap the next live
    # one reveals, and only there.
    chat = {**settings.CHAT, "RESYNC_SECONDS": 3600, "KEEPALIVE_SECONDS": 0, "RATE_LIMIT": (0, 1)}
    with override_settings(CHAT=chat):
        socket = GraphQLSocket()
        sockets.append(socket)
        await socket.connect()
        await socket.subscribe("1", SUBSCRIPTION)
        await wait_for(lambda: get_hub().rooms == {"down": 1})
        before = await scrape()
        http = GraphQLHttp(alice.token)

        async def post(n: int) -> None:
            assert await http(SEND, {"t": f"post {n}"}) == {"data": {"sendMessage": {"seq": n}}}

        await post(1)
        await post(2)
        # Publishes go out after the response: 1 and 2 are out once delivered.
        frames = [await socket.receive() for _ in range(2)]
        # The token cache follows access notices (realtime/tokens.py): its first lookup
        # joined the access group, which the hub's connection must subscribe to again too.
        await wait_for(lambda: "chat__group__chat.access" in redis_server.subscribed_channels())
        subscribed = redis_server.subscribed_channels()
        with redis_server.killed():
            for n in (3, 4, 5):
                await post(n)
            while await failed_publishes(before) < 3:
                pass
        # The hub's connection subscribes again by itself (channels_redis retries); a
        # publish before that would be lost as well, and with no resync never delivered.
        await wait_for(lambda: redis_server.subscribed_channels() == subscribed, timeout=10)
        await post(6)
        frames += [await socket.receive() for _ in range(4)]
        assert [f["payload"]["data"]["messageAdded"]["seq"] for f in frames] == [1, 2, 3, 4, 5, 6]
        await socket.assert_silent()
        delta = changes(before, await scrape())
    # Posts 3 to 5 were refused by the dead Redis; 1, 2 and 6 were published and reached
    # the hub (the latency observed once each). 1 and 2 were delivered live; 6 revealed the
    # gap, which is read from the database up to the room's end: 3 to 6 are backfill.
    assert {name: delta.get(name, 0.0) for name in COUNTERS} == {
        "chat_publish_failures_total": 3,
        "chat_messages_published_total": 3,
        "chat_deliveries_total{source=live}": 2,
        "chat_deliveries_total{source=backfill}": 4,
        "chat_delivery_latency_seconds_count": 3,
        "chat_resync_recoveries_total": 0,
    }
