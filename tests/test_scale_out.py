"""Several daphne processes sharing one Redis and one PostgreSQL, as in production."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis
import websockets
from asgiref.sync import sync_to_async
from channels_redis.utils import _consistent_hash
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families
from websockets.typing import Subprotocol

from chat.models import Message, Room, RoomEvent
from internals.hooks import hooks_verify
from tests import factories, feeds
from tests.conftest import GraphQLSocket, wait_for
from tests.daphne import Daphne, daphne_env, daphnes_running, start_daphne
from tests.feeds import ROOM_EVENTS
from tests.schema.test_subscriptions import SEND, SUBSCRIPTION
from tests.servers import PostgresServer, RedisServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def daphnes(
    django_db_setup: None, redis_server: RedisServer, postgres_server: PostgresServer
) -> Iterator[tuple[Daphne, Daphne]]:
    with daphnes_running(
        2,
        redis_server,
        postgres_server,
        # Enough for the tests below; the last one exhausts it on purpose.
        CHAT_RATE_LIMIT="40/86400",
        # A thousand clients below, all from 127.0.0.1.
        CHAT_MAX_SOCKETS_PER_IP="0",
    ) as (a, b):
        yield a, b


def group_subscribers(redis_server: RedisServer, room: str) -> int:
    client = redis.Redis.from_url(redis_server.url)
    try:
        channel = f"chat__group__chat.room.{room}"
        return int(dict(client.pubsub_numsub(channel))[channel.encode()])
    finally:
        client.close()


@pytest.mark.slow
async def test_subscriber_on_one_process_receives_message_posted_on_another(
    daphnes: tuple[Daphne, Daphne], redis_server: RedisServer, alice: factories.Member
) -> None:
    process_a, process_b = daphnes
    async with websockets.connect(
        process_a.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv()) == {"type": "connection_ack"}
        await ws.send(
            json.dumps(
                {"id": "1", "type": "subscribe",
                 "payload": {"query": SUBSCRIPTION, "variables": {"room": "lobby"}}}
            )
        )  # fmt: skip
        # Process A has joined the room's group once it shows in Redis.
        await wait_for(lambda: group_subscribers(redis_server, "lobby") == 1)

        result = await asyncio.to_thread(
            process_b.post, SEND, {"room": "lobby", "text": "across processes"}, alice.token
        )
        sent = result["data"]["sendMessage"]
        assert sent["seq"] == 1
        assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {
            "id": "1",
            "type": "next",
            "payload": {"data": {"messageAdded": sent}},
        }
    # The socket is gone: process A leaves the group.
    await wait_for(lambda: group_subscribers(redis_server, "lobby") == 0)


@pytest.mark.slow
async def test_concurrent_posts_from_two_processes_get_gapless_seqs(
    daphnes: tuple[Daphne, Daphne], alice: factories.Member, bob: factories.Member
) -> None:
    def post(n: int) -> dict[str, Any]:
        daphne = daphnes[n % 2]
        member = (alice, bob)[n % 2]
        return daphne.post(SEND, {"room": "race", "text": f"post {n}"}, member.token)

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = await asyncio.to_thread(lambda: list(pool.map(post, range(50))))

    seqs = sorted(r["data"]["sendMessage"]["seq"] for r in results)
    assert seqs == list(range(1, 51))
    stored = await sync_to_async(
        lambda: list(Message.objects.filter(room__name="race").values_list("seq", flat=True))
    )()
    assert sorted(stored) == list(range(1, 51))
    assert await sync_to_async(lambda: Room.objects.get(name="race").last_seq)() == 50


@pytest.mark.slow
async def test_posts_edits_and_reactions_from_two_processes_get_gapless_event_seqs(
    daphnes: tuple[Daphne, Daphne], alice: factories.Member, bob: factories.Member
) -> None:
    """Six writers, three on each process, post, edit their post and react to the room's
    first message, all at once: the room's events are numbered 1..N with no gap in the
    database, its messages 1..M, and a subscriber on each process gets 1..N in order,
    each writer's events as that writer made them."""
    names = ("carol", "dave", "erin", "frank")
    writers = [alice, bob] + [await sync_to_async(factories.member)(name) for name in names]
    rounds = 5
    start = await asyncio.to_thread(
        daphnes[0].post, feeds.SEND, {"room": "busy", "t": "start"}, alice.token
    )
    first = start["data"]["sendMessage"]
    assert first["seq"] == 1
    subscribers = [
        await feeds.ws_subscribe(d.ws_url, ROOM_EVENTS.subscription("busy"), {"after": 0})
        for d in daphnes
    ]

    def write(n: int) -> list[dict[str, Any]]:
        """Writer ``n``'s rounds on its process; the events they make, as written."""
        daphne, writer = daphnes[n % 2], writers[n]
        name = writer.username
        made: list[dict[str, Any]] = []
        for r in range(rounds):
            text = f"{name} {r}"
            sent = daphne.post(feeds.SEND, {"room": "busy", "t": text}, writer.token)
            posted = sent["data"]["sendMessage"]
            made.append(feeds.room_event("MessagePosted", 0, posted["seq"], actor=name))
            edit = {"id": posted["id"], "t": f"{text} edited"}
            edited = daphne.post(feeds.EDIT, edit, writer.token)
            assert edited == {"data": {"editMessage": {"seq": posted["seq"], "text": edit["t"]}}}
            made.append(
                feeds.room_event("MessageEdited", 0, posted["seq"], actor=name, text=edit["t"])
            )
            react = {"id": first["id"], "e": f":r{r}:"}
            reacted = daphne.post(feeds.REACT, react, writer.token)
            assert reacted == {"data": {"addReaction": {"seq": 1}}}
            made.append(feeds.room_event("ReactionAdded", 0, 1, actor=name, emoji=react["e"]))
        return made

    try:
        with ThreadPoolExecutor(max_workers=len(writers)) as pool:
            made = await asyncio.to_thread(lambda: list(pool.map(write, range(len(writers)))))
        made[0].insert(0, feeds.room_event("MessagePosted", 0, 1))
        total = sum(len(events) for events in made)
        assert total == 1 + len(writers) * rounds * 3
        received = [
            [
                ROOM_EVENTS.of(json.loads(await asyncio.wait_for(ws.recv(), 30)))
                for _ in range(total)
            ]
            for ws in subscribers
        ]
    finally:
        for ws in subscribers:
            await ws.close()
    assert received[0] == received[1]
    events = received[0]
    assert [event["eventSeq"] for event in events] == list(range(1, total + 1))
    # Each writer's events, in the order it made them (eventSeq aside).
    for writer, theirs in zip(writers, made, strict=True):
        assert [
            {**event, "eventSeq": 0}
            for event in events
            if event["actor"]["username"] == writer.username
        ] == theirs

    def stored() -> tuple[list[tuple[Any, ...]], list[int], tuple[int, int]]:
        rows = RoomEvent.objects.filter(room__name="busy").order_by("seq")
        messages = Message.objects.filter(room__name="busy").order_by("seq")
        room = Room.objects.get(name="busy")
        return (
            list(rows.values_list("seq", "kind", "actor__username", "message__seq", "emoji")),
            list(messages.values_list("seq", flat=True)),
            (room.last_event_seq, room.last_seq),
        )

    rows, message_seqs, (last_event_seq, last_seq) = await sync_to_async(stored)()
    kinds = {"MessagePosted": "message_posted", "MessageEdited": "message_edited",
             "ReactionAdded": "reaction_added"}  # fmt: skip
    assert rows == [
        (
            event["eventSeq"],
            kinds[event["__typename"]],
            event["actor"]["username"],
            event["message"]["seq"],
            event.get("emoji", ""),
        )
        for event in events
    ]
    messages = 1 + len(writers) * rounds
    assert message_seqs == list(range(1, messages + 1))
    assert (last_event_seq, last_seq) == (total, messages)


async def test_disconnect_removes_the_socket_from_every_group_in_redis(
    redis_server: RedisServer, sockets: list[GraphQLSocket]
) -> None:
    socket_ = GraphQLSocket()
    sockets.append(socket_)
    await socket_.connect()
    await socket_.subscribe("1", SUBSCRIPTION, {"room": "lobby"})
    await socket_.subscribe("2", SUBSCRIPTION, {"room": "other"})
    await wait_for(
        lambda: (
            (group_subscribers(redis_server, "lobby"), group_subscribers(redis_server, "other"))
            == (1, 1)
        )
    )
    await socket_.close()
    await wait_for(
        lambda: (
            (group_subscribers(redis_server, "lobby"), group_subscribers(redis_server, "other"))
            == (0, 0)
        )
    )


@pytest.fixture(params=["consumer loop hook", "channels' own loop"])
def consumer_loop(request: pytest.FixtureRequest) -> Iterator[None]:
    """Our consumer loop, and Channels' own (the channels.consumer_loop hook off)."""
    if request.param == "consumer loop hook":
        yield
        return
    assert hooks_verify(disabled=["channels.consumer_loop"])["channels.consumer_loop"] is False
    try:
        yield
    finally:
        hooks_verify()


async def test_sockets_open_no_channel_of_their_own_in_redis(
    redis_server: RedisServer, sockets: list[GraphQLSocket], consumer_loop: None
) -> None:
    """Only the process's hub reads the channel layer: a socket adds no subscription (and
    no receive task) of its own, however many connect."""
    first = GraphQLSocket()
    sockets.append(first)
    await first.connect()
    await first.subscribe("1", SUBSCRIPTION, {"room": "lobby"})
    await wait_for(lambda: group_subscribers(redis_server, "lobby") == 1)
    # Earlier tests' hubs (one per event loop) may still hold channels: compare sets.
    channels = redis_server.subscribed_channels()
    assert "chat__group__chat.room.lobby" in channels
    for _ in range(3):
        socket_ = GraphQLSocket()
        sockets.append(socket_)
        assert await socket_.connect() == {"type": "connection_ack"}
    assert redis_server.subscribed_channels() - channels == set()


@pytest.mark.slow
async def test_a_thousand_clients_connect_and_subscribe_at_once(
    daphnes: tuple[Daphne, Daphne], redis_server: RedisServer, alice: factories.Member
) -> None:
    """Sockets use no Redis connection of their own, so a connect storm cannot exhaust
    the pool (the tutorial consumer fails ~40 of 100 with the default pool)."""
    process = daphnes[0]
    count = 1000

    async def subscriber() -> Any:
        ws = await websockets.connect(
            process.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=60
        )
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv()) == {"type": "connection_ack"}
        await ws.send(
            json.dumps(
                {"id": "s", "type": "subscribe",
                 "payload": {"query": "subscription { messageAdded(room: \"storm\", afterSeq: 0) "
                                        "{ seq text } }"}}
            )
        )  # fmt: skip
        return ws

    clients = await asyncio.gather(*(subscriber() for _ in range(count)))
    try:
        # One group membership in Redis for the whole process, however many sockets.
        await wait_for(lambda: group_subscribers(redis_server, "storm") == 1, timeout=30)
        # Some subscriptions may still be starting: afterSeq 0 replays what they missed,
        # so every client must see seq 1 exactly once.
        await asyncio.to_thread(
            process.post, SEND, {"room": "storm", "text": "hi all"}, alice.token
        )
        frames = await asyncio.gather(*(asyncio.wait_for(ws.recv(), 30) for ws in clients))
        message = {"seq": 1, "text": "hi all"}
        expected = {"id": "s", "type": "next", "payload": {"data": {"messageAdded": message}}}
        assert [json.loads(f) for f in frames] == [expected] * count
    finally:
        await asyncio.gather(*(ws.close() for ws in clients))


@pytest.mark.slow
async def test_rate_limit_holds_across_processes(
    daphnes: tuple[Daphne, Daphne], redis_server: RedisServer
) -> None:
    carol = await sync_to_async(factories.member)("carol")

    def post(n: int) -> dict[str, Any]:
        return daphnes[n % 2].post(SEND, {"room": "limited", "text": f"post {n}"}, carol.token)

    accepted = [await asyncio.to_thread(post, n) for n in range(40)]
    assert [r["data"]["sendMessage"]["seq"] for r in accepted] == list(range(1, 41))
    refused = await asyncio.to_thread(post, 40)
    assert refused == {
        "data": None,
        "errors": [
            {
                "message": "Too many messages: at most 40 every 86400 seconds.",
                "locations": [{"line": 3, "column": 3}],
                "path": ["sendMessage"],
                "extensions": {"code": "RATE_LIMITED"},
            }
        ],
    }
    count = await sync_to_async(Message.objects.filter(room__name="limited").count)()
    assert count == 40


@pytest.mark.slow
async def test_a_10_mb_frame_closes_the_socket_and_the_server_carries_on(
    daphnes: tuple[Daphne, Daphne],
) -> None:
    """daphne refuses websocket messages over 1 MiB (its --websocket_max_message_size)."""

    async def connect() -> Any:
        ws = await websockets.connect(
            daphnes[0].ws_url, subprotocols=[Subprotocol("graphql-transport-ws")], max_size=None
        )
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv()) == {"type": "connection_ack"}
        return ws

    ws = await connect()
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await ws.send("x" * 10_000_000)
        await asyncio.wait_for(ws.recv(), 30)
    # Autobahn fails the connection at the frame's header, and daphne leaves its failByDrop
    # on: the TCP connection is dropped, no close frame is sent (nor 1009 to be read).
    assert (type(closed.value), closed.value.rcvd, closed.value.sent) == (
        websockets.ConnectionClosedError,
        None,
        None,
    )
    healthy = await connect()
    await healthy.close()


@pytest.fixture(scope="module")
def second_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis-shard-2"))
    server.start()
    yield server
    server.kill()


def publish_counts(daphne: Daphne) -> dict[str, float]:
    url = f"http://127.0.0.1:{daphne.port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name in ("chat_messages_published_total", "chat_publish_failures_total")
    }


def shard_subscribers(servers: list[RedisServer], room: str) -> int:
    return sum(group_subscribers(server, room) for server in servers)


@pytest.mark.slow
async def test_a_burst_of_posts_over_two_redis_shards_reaches_every_subscriber_in_order(
    django_db_setup: None,
    redis_server: RedisServer,
    second_redis: RedisServer,
    postgres_server: PostgresServer,
    alice: factories.Member,
) -> None:
    # Publishes queued together go out in one pipeline per shard (chat.events).
    shards = [redis_server, second_redis]
    env = daphne_env(
        redis_server,
        postgres_server,
        connection.settings_dict["NAME"],
        REDIS_URL=",".join(server.url for server in shards),
        CHAT_RATE_LIMIT="0",
        # Eight rooms on one socket before their first post creates them.
        CHAT_MAX_UNKNOWN_ROOM_SUBSCRIPTIONS="0",
    )
    # Four rooms whose groups live on each shard.
    by_shard: dict[int, list[str]] = {0: [], 1: []}
    for n in range(1000):
        shard = by_shard[_consistent_hash(f"chat__group__chat.room.r{n}", 2)]
        if len(shard) < 4:
            shard.append(f"r{n}")
    rooms = by_shard[0] + by_shard[1]
    assert len(rooms) == 8
    listener, poster = start_daphne(env), start_daphne(env)
    protocols = [Subprotocol("graphql-transport-ws")]
    try:
        async with (
            websockets.connect(listener.ws_url, subprotocols=protocols) as listening,
            websockets.connect(poster.ws_url, subprotocols=protocols) as posting,
        ):
            for ws, payload in ((listening, {}), (posting, {"authToken": alice.token})):
                await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
                assert json.loads(await ws.recv()) == {"type": "connection_ack"}
            for n, room in enumerate(rooms):
                await listening.send(
                    json.dumps(
                        {"id": str(n), "type": "subscribe",
                         "payload": {"query": SUBSCRIPTION, "variables": {"room": room}}}
                    )
                )  # fmt: skip
            for room in rooms:
                await wait_for(lambda room=room: shard_subscribers(shards, room) == 1)
            # Sent without waiting for replies: they reach the server together.
            for n in range(40):
                await posting.send(
                    json.dumps(
                        {"id": f"p{n}", "type": "subscribe",
                         "payload": {"query": SEND, "variables": {"room": rooms[n % 8],
                                                                  "text": f"post {n}"}}}
                    )
                )  # fmt: skip
            replies = [json.loads(await asyncio.wait_for(posting.recv(), 10)) for _ in range(80)]
            sent = {
                r["id"]: r["payload"]["data"]["sendMessage"] for r in replies if r["type"] == "next"
            }
            received: dict[str, list[dict[str, Any]]] = {str(n): [] for n in range(8)}
            for _ in range(40):
                frame = json.loads(await asyncio.wait_for(listening.recv(), 10))
                assert frame["type"] == "next"
                received[frame["id"]].append(frame["payload"]["data"]["messageAdded"])
        published = await asyncio.to_thread(publish_counts, poster)
    finally:
        listener.stop()
        poster.stop()
    for n in range(8):
        posts = [f"p{m}" for m in range(n, 40, 8)]
        # Each room's messages, whole and in order, as their posters were answered.
        assert received[str(n)] == [sent[p] for p in posts]
        assert [m["seq"] for m in received[str(n)]] == [1, 2, 3, 4, 5]
        assert [m["text"] for m in received[str(n)]] == [f"post {m}" for m in range(n, 40, 8)]
    # Every event went out on its first publish (a lost one is caught up by the resync,
    # which would hide a broken publish from the assertions above).
    assert published == {"chat_messages_published_total": 40.0, "chat_publish_failures_total": 0.0}
