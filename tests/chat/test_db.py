"""Database connections: a process keeps a fixed few, however many requests it serves."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.backends.signals import connection_created

from tests import factories
from tests.conftest import GraphQLHttp

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded]


async def test_http_requests_reuse_the_orm_threads_connections(alice: factories.Member) -> None:
    """Django's ASGI handler ran each request's sync code in a thread of its own, and each
    request opened a database connection there (a PostgreSQL backend fork per request)."""
    http = GraphQLHttp(alice.token)
    send = 'mutation($t: String!) { sendMessage(room: "pool", text: $t) { seq } }'
    # Warm up: the ORM thread and Django's sync thread each connect once.
    assert await http(send, {"t": "first"}) == {"data": {"sendMessage": {"seq": 1}}}
    await GraphQLHttp()("{ me { username } }")

    opened: list[Any] = []

    def count(sender: Any, connection: Any, **kwargs: Any) -> None:
        opened.append(connection)

    connection_created.connect(count)
    try:
        for n in range(2, 27):
            assert await http(send, {"t": f"post {n}"}) == {"data": {"sendMessage": {"seq": n}}}
            assert await GraphQLHttp()("{ me { username } }") == {"data": {"me": None}}
    finally:
        connection_created.disconnect(count)
    assert opened == []
