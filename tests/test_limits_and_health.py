"""Document limits, server keep-alive pings and /healthz, end to end."""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.testing import HttpCommunicator
from django.test import override_settings

from tests.conftest import GraphQLHttp, GraphQLSocket
from tests.servers import RedisServer

pytestmark = pytest.mark.django_db(transaction=True)


async def test_documents_deeper_than_the_limit_are_refused() -> None:
    # Our schema has no cycles (at most 5 levels deep), so the default limit of 10 only
    # matters for schemas that grow; check the rule and its error code at a lower limit.
    import strawberry
    from strawberry.extensions import QueryDepthLimiter

    from schema import Mutation, Query, Subscription
    from schema.context import ChatContext
    from schema.errors import ErrorCodes

    shallow = strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[lambda: QueryDepthLimiter(max_depth=3), ErrorCodes],
    )
    query = '{ messages(room: "x") { edges { node { room { name } } } } }'
    result = await shallow.execute(query, context_value=ChatContext())
    assert [(e.message, e.extensions) for e in result.errors or []] == [
        ("'anonymous' exceeds maximum operation depth of 3", {"code": "GRAPHQL_VALIDATION_FAILED"})
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


async def test_healthz_reports_database_and_redis(redis_server: RedisServer) -> None:
    assert await get_health() == (200, {"database": "ok", "redis": ["ok"]})
    redis_server.kill()
    try:
        status, body = await get_health()
        assert status == 503
        assert body["database"] == "ok"
        assert body["redis"][0].startswith("error: ")
    finally:
        redis_server.start()
    assert await get_health() == (200, {"database": "ok", "redis": ["ok"]})


def test_settings_the_inline_middleware_cannot_honour_are_refused() -> None:
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    with override_settings(CSRF_USE_SESSIONS=True), pytest.raises(SystemCheckError) as refused:
        call_command("check")
    assert "chat.E001" in str(refused.value)
    call_command("check")
