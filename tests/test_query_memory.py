"""Documents are limited in bytes, and what is cached of them is bounded in bytes: a
stream of distinct large documents does not grow the server's memory."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import psutil
import pytest
import websockets
from websockets.typing import Subprotocol

from realtime.hub import get_hub
from tests.conftest import GraphQLHttp, GraphQLSocket, wait_for
from tests.daphne import Daphne, daphnes_running
from tests.servers import PostgresServer, RedisServer

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 64 * 1024
MiB = 1024 * 1024


def padded(size: int) -> str:
    """A valid document of exactly ``size`` bytes."""
    document = "{ __typename }"
    return document + " " * (size - len(document))


def too_large(size: int) -> dict[str, Any]:
    return {
        "message": f"Document too large: {size} bytes, the limit is {LIMIT}.",
        "extensions": {"code": "QUERY_TOO_LARGE", "bytes": size, "limit": LIMIT},
    }


async def test_a_document_over_the_byte_limit_is_refused_on_http() -> None:
    assert await GraphQLHttp()(padded(LIMIT)) == {"data": {"__typename": "Query"}}
    assert await GraphQLHttp()(padded(LIMIT + 1)) == {
        "data": None,
        "errors": [too_large(LIMIT + 1)],
    }
    # Counted in bytes, not characters.
    multibyte = padded(LIMIT - 10) + "# " + "é" * 5
    assert await GraphQLHttp()(multibyte) == {"data": None, "errors": [too_large(LIMIT + 2)]}


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_a_document_over_the_byte_limit_is_refused_on_websockets(
    protocol: str, sockets: list[GraphQLSocket]
) -> None:
    socket = GraphQLSocket(protocol)
    sockets.append(socket)
    assert await socket.connect() == {"type": "connection_ack"}
    # Queries and mutations (the fast paths) and subscriptions alike.
    subscription = 'subscription { messageAdded(room: "lobby") { seq } }'
    for n, document in enumerate([padded(LIMIT + 1), subscription + " " * LIMIT]):
        await socket.subscribe(str(n), document)
        size = len(document)
        payload = [too_large(size)] if protocol == "graphql-transport-ws" else too_large(size)
        assert await socket.receive() == {"id": str(n), "type": "error", "payload": payload}
    # The socket carries on.
    await socket.subscribe("ok", subscription)
    await wait_for(lambda: get_hub().rooms == {"lobby": 1})


async def test_document_caches_stay_within_their_byte_budget(
    sockets: list[GraphQLSocket],
) -> None:
    from django.conf import settings

    from internals.fastpaths import execution
    from internals.fastpaths import post as posting
    from internals.fastpaths import subscription as fanout
    from schema import caches

    budget = settings.CHAT["QUERY_CACHE_BYTES"]
    socket = GraphQLSocket()
    sockets.append(socket)
    assert await socket.connect() == {"type": "connection_ack"}
    # Distinct documents just under the limit, each of the most tokens allowed: what a
    # cache entry costs most.
    for n in range(12):
        aliases = " ".join(f"a{n}_{k}: __typename" for k in range(660))
        document = "{ " + aliases + " }"
        document += " " * (LIMIT - len(document))
        await socket.subscribe(str(n), document)
        next_ = await socket.receive()
        assert next_["type"] == "next" and len(next_["payload"]["data"]) == 660
        assert await socket.receive() == {"id": str(n), "type": "complete"}
        assert await GraphQLHttp()(document) == next_["payload"]
    for cache in (execution._prepared, fanout._renderers, posting._shapes, caches._validations):
        assert cache.size_bytes <= budget
    # Each of them cost more than a ninth of the budget.
    assert 0 < len(execution._prepared) < 9


# Each document just under the limit: a string literal is a handful of tokens.
BIG_LIMIT = MiB
BIG_SIZE = 1_000_000


def big_document(n: int, kind: str) -> tuple[str, str]:
    """A distinct valid document of BIG_SIZE bytes, and the operation to run."""
    if kind == "subscription":
        head = 'subscription S { messageAdded(room: "big") { seq } } '
        head += f'query Pad{n} {{ __type(name: "'
        operation = "S"
    else:
        head = f'query Q{n} {{ __type(name: "'
        operation = f"Q{n}"
    tail = '") { name } }'
    return head + "x" * (BIG_SIZE - len(head) - len(tail)) + tail, operation


@pytest.fixture
def daphne(
    django_db_setup: None, redis_server: RedisServer, postgres_server: PostgresServer
) -> Iterator[Daphne]:
    # No keepalive pings: the test reads each answer as the socket's next frame, and 70
    # large documents can take longer than a ping's interval on a loaded machine.
    with daphnes_running(
        1,
        redis_server,
        postgres_server,
        CHAT_MAX_QUERY_BYTES=str(BIG_LIMIT),
        CHAT_KEEPALIVE_SECONDS="0",
    ) as (process,):
        yield process


@pytest.mark.slow
async def test_distinct_large_documents_do_not_grow_memory(daphne: Daphne) -> None:
    """After the first 40 (where the allocator and the garbage collector settle even in a
    service that caches nothing), 30 more grow RSS by less than 25 MiB. Before caches
    were bounded in bytes, these 70 grew it from 99 to 173 MiB after 40, and to 227."""
    process = psutil.Process(daphne.process.pid)

    def post(document: str, operation: str) -> dict[str, Any]:
        import urllib.request

        request = urllib.request.Request(
            daphne.http_url,
            data=json.dumps({"query": document, "operationName": operation}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]

    async with websockets.connect(
        daphne.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")], max_size=None
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv()) == {"type": "connection_ack"}

        async def send(n: int) -> None:
            kind = ("http", "websocket", "subscription")[n % 3]
            document, operation = big_document(n, kind)
            if kind == "http":
                result = await asyncio.to_thread(post, document, operation)
                assert result == {"data": {"__type": None}}
                return
            message = {"query": document, "operationName": operation}
            await ws.send(json.dumps({"id": str(n), "type": "subscribe", "payload": message}))
            if kind == "websocket":
                assert json.loads(await ws.recv()) == {
                    "id": str(n),
                    "type": "next",
                    "payload": {"data": {"__type": None}},
                }
                assert json.loads(await ws.recv()) == {"id": str(n), "type": "complete"}
            else:
                await ws.send(json.dumps({"id": str(n), "type": "complete"}))
                # A query after it: the subscription was handled once this answers.
                await ws.send(
                    json.dumps(
                        {"id": f"{n}q", "type": "subscribe",
                         "payload": {"query": "{ __typename }"}}
                    )
                )  # fmt: skip
                while json.loads(await ws.recv()).get("id") != f"{n}q":
                    pass
                assert json.loads(await ws.recv()) == {"id": f"{n}q", "type": "complete"}

        start = process.memory_info().rss
        for n in range(40):
            await send(n)
        settled = process.memory_info().rss
        for n in range(40, 70):
            await send(n)
        end = process.memory_info().rss
    rss = [round(value / MiB) for value in (start, settled, end)]
    print(f"RSS MiB at the start, after 40, after 70: {rss}")
    assert end - settled < 25 * MiB
