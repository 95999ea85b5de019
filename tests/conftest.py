from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import HttpCommunicator, WebsocketCommunicator

from tests import factories


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    # SQLite reuses user ids after a flush; start each test with no posts counted.
    from chat import ratelimit

    ratelimit._local.clear()
    # Sign-in attempts are counted by client IP and username, which tests share: start
    # each test with none counted in Redis either.
    client = ratelimit._redis()
    if client is not None:
        from django.conf import settings

        prefix = settings.CHAT["REDIS_PREFIX"]
        patterns = ("rate:login", "rate:register", "rate:typing", "presence", "typing")
        for pattern in (f"{prefix}:{name}:*" for name in patterns):
            keys = list(client.scan_iter(pattern))
            if keys:
                client.delete(*keys)


@pytest.fixture(autouse=True)
def _fresh_channel_layer() -> Iterator[None]:
    # Layer backends cache per-loop connections; every test has its own loop.
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(scope="session", autouse=True)
def _internals_hooks() -> None:
    """Verify and install the hooks into library internals, as the service's start-up does."""
    import project.asgi  # noqa: F401


@pytest.fixture(scope="session", autouse=True)
def _disconnect_stray_sessions(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Let the test database be dropped: worker threads of the ASGI app keep connections."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


class GraphQLHttp:
    """GraphQL over HTTP, end to end through project.asgi.application."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        from project.asgi import application

        all_headers = [(b"content-type", b"application/json"), (b"host", b"localhost")]
        token = token or self.token
        if token:
            all_headers.append((b"authorization", f"Bearer {token}".encode()))
        all_headers += headers or []
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        communicator = HttpCommunicator(
            application, "POST", "/graphql/", body=body, headers=all_headers
        )
        response = await communicator.get_response(timeout=10)
        await communicator.send_input({"type": "http.disconnect"})
        await communicator.wait(timeout=10)
        return response["status"], json.loads(response["body"])

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        status, body = await self.post(query, variables, **kwargs)
        assert status == 200, body
        return body


class GraphQLSocket:
    """A graphql-transport-ws (or graphql-ws) client over a Channels communicator."""

    def __init__(
        self, protocol: str = "graphql-transport-ws", headers: Any = None, application: Any = None
    ) -> None:
        from project.asgi import application as default

        self.protocol = protocol
        self.communicator = WebsocketCommunicator(
            application or default,
            "/graphql/",
            subprotocols=[protocol],
            headers=headers or [(b"host", b"localhost")],
        )

    async def connect(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        connected, subprotocol = await self.communicator.connect(timeout=10)
        assert connected
        assert subprotocol == self.protocol
        await self.send({"type": "connection_init", "payload": payload or {}})
        return await self.receive()

    async def send(self, message: dict[str, Any]) -> None:
        await self.communicator.send_json_to(message)

    async def receive(self, timeout: float = 10) -> dict[str, Any]:
        return await self.communicator.receive_json_from(timeout=timeout)

    async def subscribe(
        self, op_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        kind = "subscribe" if self.protocol == "graphql-transport-ws" else "start"
        await self.send(
            {"id": op_id, "type": kind, "payload": {"query": query, "variables": variables or {}}}
        )

    async def receive_close(self, timeout: float = 10) -> dict[str, Any]:
        return await self.communicator.receive_output(timeout=timeout)

    async def assert_silent(self) -> None:
        assert await self.communicator.receive_nothing(timeout=0.2)

    async def close(self) -> None:
        await self.communicator.disconnect()


@pytest.fixture
def notices(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What chat.notify publishes after commit (user notices and room signals), in
    order; every other event goes on to the sink as usual."""
    from chat import events, signalling

    seen: list[dict[str, Any]] = []
    forward = events._event_send

    def spy(event: Any) -> None:
        if event["type"] in (signalling.USER_EVENT_TYPE, signalling.SIGNAL_EVENT_TYPE):
            seen.append(event)
        else:
            forward(event)

    monkeypatch.setattr(events, "_event_send", spy)
    return seen


@pytest.fixture
def gql() -> GraphQLHttp:
    return GraphQLHttp()


@pytest.fixture
async def sockets() -> AsyncIterator[list[GraphQLSocket]]:
    """Open sockets registered here are disconnected after the test."""
    opened: list[GraphQLSocket] = []
    yield opened
    for socket in opened:
        await socket.close()


@pytest.fixture
async def alice() -> factories.Member:
    return await sync_to_async(factories.member)("alice")


@pytest.fixture
async def bob() -> factories.Member:
    return await sync_to_async(factories.member)("bob")


async def wait_for(predicate: Any, timeout: float = 5) -> None:
    """Poll a cheap state check; used only where no event exists to wait on."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@pytest.fixture(scope="module")
def quiet_daphnes(
    django_db_setup: None, redis_server: Any, postgres_server: Any
) -> Iterator[tuple[Any, ...]]:
    """Two daphne processes on the session's Redis and PostgreSQL, with no periodic resync
    and no keepalive pings: what reaches a client came from the event under test."""
    from tests.daphne import daphnes_running

    with daphnes_running(
        2, redis_server, postgres_server, CHAT_RESYNC_SECONDS="3600", CHAT_KEEPALIVE_SECONDS="0"
    ) as pair:
        yield pair


def fast_path_counts(transport: str = "ws") -> dict[tuple[str, str], float]:
    """chat_fast_path_operations_total by (field, path), of one transport."""
    from prometheus_client import REGISTRY

    return {
        (sample.labels["field"], sample.labels["path"]): sample.value
        for metric in REGISTRY.collect()
        if metric.name == "chat_fast_path_operations"
        for sample in metric.samples
        if sample.name == "chat_fast_path_operations_total"
        and sample.labels["transport"] == transport
    }


def fast_path_results() -> dict[tuple[str, str], float]:
    """chat_fast_path_results_total by (field, how): rendered or executed."""
    from prometheus_client import REGISTRY

    return {
        (sample.labels["field"], sample.labels["how"]): sample.value
        for metric in REGISTRY.collect()
        if metric.name == "chat_fast_path_results"
        for sample in metric.samples
        if sample.name == "chat_fast_path_results_total"
    }


def fast_path_delta(
    before: dict[tuple[str, str], float], transport: str = "ws"
) -> dict[tuple[str, str], float]:
    """What was counted since ``before`` (of ``transport``), by (field, path)."""
    return {
        key: value - before.get(key, 0)
        for key, value in fast_path_counts(transport).items()
        if value != before.get(key, 0)
    }


@contextmanager
def fast_paths_taken(expected: dict[str, int]) -> Iterator[None]:
    """Assert the graphql-transport-ws operations inside, by root field ("*": any other
    query or mutation), took their fast path; with CHAT_FAST_PATHS=0, the standard one."""
    from django.conf import settings

    before = fast_path_counts()
    yield
    if settings.CHAT["FAST_PATHS"]:
        assert fast_path_delta(before) == {(field, "fast"): n for field, n in expected.items()}
    else:
        # Switched off, operations are not even parsed for their root field.
        assert fast_path_delta(before) == {("*", "standard"): sum(expected.values())}


@pytest.fixture
def fast_path_switch(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Turn the fast paths on or off for the rest of the test (as CHAT_FAST_PATHS does)."""
    from django.conf import settings

    def switch(on: bool) -> None:
        monkeypatch.setitem(settings.CHAT, "FAST_PATHS", on)

    return switch


@pytest.fixture(autouse=True)
def _fast_paths_off_means_off(request: pytest.FixtureRequest) -> Iterator[None]:
    """A contract test run with CHAT_FAST_PATHS=0 takes no fast path (unless it switches
    them itself)."""
    from django.conf import settings

    checked = (
        request.node.get_closest_marker("contract") is not None
        and "fast_path_switch" not in request.fixturenames
        and not settings.CHAT["FAST_PATHS"]
    )
    before = {t: fast_path_counts(t) for t in ("ws", "http")} if checked else {}
    yield
    if checked:
        for transport, counts in before.items():
            delta = fast_path_delta(counts, transport)
            assert {key: n for key, n in delta.items() if key[1] == "fast"} == {}, transport
