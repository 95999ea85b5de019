"""Document limits, server keep-alive pings and /healthz, end to end."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator
from django.test import override_settings
from websockets.typing import Subprotocol

from tests import factories
from tests.conftest import GraphQLHttp, GraphQLSocket
from tests.daphne import Daphne, daphne_env, start_daphne
from tests.servers import PostgresServer, RedisServer

pytestmark = pytest.mark.django_db(transaction=True)


# Our schema has no cycles: its deepest document (below) is 5 levels deep, so the default
# limit of 10 only matters once it grows. A daphne with CHAT_MAX_QUERY_DEPTH=4 serves our
# schema with the limit just under that document, over both transports.
DEPTH_4 = '{ messages(room: "deep") { edges { node { room { name } } } } }'
DEPTH_5 = '{ messages(room: "deep") { edges { node { room { createdBy { id } } } } } }'
TOO_DEEP = [
    {
        "message": "'anonymous' exceeds maximum operation depth of 4",
        "locations": [{"line": 1, "column": 62}],  # the field at depth 5: `id`
        "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
    }
]
DEPTH_4_DATA = {"messages": {"edges": [{"node": {"room": {"name": "deep"}}}]}}


@pytest.fixture
def depth_4_daphne(redis_server: RedisServer, postgres_server: PostgresServer) -> Iterator[Daphne]:
    from django.db import connection

    env = daphne_env(
        redis_server,
        postgres_server,
        connection.settings_dict["NAME"],
        CHAT_MAX_QUERY_DEPTH="4",
        CHAT_KEEPALIVE_SECONDS="0",
    )
    daphne = start_daphne(env)
    try:
        yield daphne
    finally:
        daphne.stop()


def post_anonymously(daphne: Daphne, query: str) -> dict[str, Any]:
    request = urllib.request.Request(
        daphne.http_url,
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


@pytest.mark.slow
async def test_our_schema_refuses_documents_deeper_than_its_limit(
    depth_4_daphne: Daphne, alice: factories.Member
) -> None:
    await sync_to_async(factories.messages)(room="deep", author=alice.user, count=1)
    over_http = [
        await asyncio.to_thread(post_anonymously, depth_4_daphne, query)
        for query in (DEPTH_4, DEPTH_5)
    ]
    assert over_http == [{"data": DEPTH_4_DATA}, {"data": None, "errors": TOO_DEEP}]

    async with websockets.connect(
        depth_4_daphne.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv()) == {"type": "connection_ack"}
        replies = []
        for op_id, query, count in (("1", DEPTH_4, 2), ("2", DEPTH_5, 1)):
            payload = {"query": query}
            await ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))
            replies += [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(count)]
    assert replies == [
        {"id": "1", "type": "next", "payload": {"data": DEPTH_4_DATA}},
        {"id": "1", "type": "complete"},
        {"id": "2", "type": "error", "payload": TOO_DEEP},
    ]


async def test_documents_over_the_token_limit_are_refused() -> None:
    aliases = " ".join(f"a{n}: me {{ id }}" for n in range(1000))
    result = await GraphQLHttp()("{ " + aliases + " }")
    assert result["data"] is None
    assert result["errors"][0]["message"] == (
        "Syntax Error: Document contains more than 2000 tokens. Parsing aborted."
    )
    assert result["errors"][0]["extensions"] == {"code": "GRAPHQL_PARSE_FAILED"}


async def test_server_sends_graphql_transport_ws_pings(sockets: list[GraphQLSocket]) -> None:
    from django.conf import settings

    with override_settings(CHAT={**settings.CHAT, "KEEPALIVE_SECONDS": 0.05}):
        socket = GraphQLSocket()
        sockets.append(socket)
        assert await socket.connect() == {"type": "connection_ack"}
        assert await socket.receive() == {"type": "ping"}
        await socket.send({"type": "pong"})
        assert await socket.receive() == {"type": "ping"}


async def get_health() -> tuple[int, dict[str, Any]]:
    from project.asgi import application

    communicator = HttpCommunicator(
        application, "GET", "/healthz", headers=[(b"host", b"localhost")]
    )
    response = await communicator.get_response(timeout=10)
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(timeout=10)
    return response["status"], json.loads(response["body"])


@pytest.mark.slow  # kills Redis
async def test_healthz_reports_database_and_redis(redis_server: RedisServer) -> None:
    assert await get_health() == (200, {"database": "ok", "redis": ["ok"]})
    with redis_server.killed():
        status, body = await get_health()
        assert status == 503
        assert body["database"] == "ok"
        assert body["redis"][0].startswith("error: ")
    assert await get_health() == (200, {"database": "ok", "redis": ["ok"]})


def test_settings_the_inline_middleware_cannot_honour_are_refused() -> None:
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    with override_settings(CSRF_USE_SESSIONS=True), pytest.raises(SystemCheckError) as refused:
        call_command("check")
    assert "chat.E001" in str(refused.value)
    call_command("check")
