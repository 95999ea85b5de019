"""Connection abuse: sockets per client address, subscriptions to made-up rooms, and
HTTP clients that trickle their request (issue 11, item 8)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import override_settings
from websockets.typing import Subprotocol

from chat.models import Room
from realtime.hub import get_hub
from tests.conftest import GraphQLSocket, wait_for
from tests.daphne import Daphne, daphnes_running
from tests.schema.test_subscriptions import SUBSCRIPTION
from tests.servers import PostgresServer, RedisServer

pytestmark = pytest.mark.django_db(transaction=True)

ACK = {"type": "connection_ack"}


def from_address(address: str) -> GraphQLSocket:
    return GraphQLSocket(
        headers=[(b"host", b"localhost"), (b"x-forwarded-for", f"10.0.0.1, {address}".encode())]
    )


@pytest.mark.embedded
async def test_sockets_per_client_address_are_capped(sockets: list[GraphQLSocket]) -> None:
    chat = {**settings.CHAT, "MAX_SOCKETS_PER_IP": 2, "CLIENT_IP_HEADER": "X-Forwarded-For"}
    with override_settings(CHAT=chat):
        first, second, third = (from_address("203.0.113.7") for _ in range(3))
        sockets += [first, second, third]
        assert await first.connect() == ACK
        assert await second.connect() == ACK

        # Accepted with the client's subprotocol, then closed with a code graphql-ws
        # clients treat as final: a refused handshake would look like a network error,
        # which they retry.
        connected, subprotocol = await third.communicator.connect(timeout=10)
        assert (connected, subprotocol) == (True, "graphql-transport-ws")
        assert await third.receive_close() == {
            "type": "websocket.close",
            "code": 4429,
            "reason": "Too many connections from this address",
        }

        # Another address (the last X-Forwarded-For entry, which our proxy wrote).
        elsewhere = from_address("198.51.100.1")
        sockets.append(elsewhere)
        assert await elsewhere.connect() == ACK

        # Closing one frees its slot.
        await first.close()
        again = from_address("203.0.113.7")
        sockets.append(again)
        assert await again.connect() == ACK

        # 0 turns the limit off.
        with override_settings(CHAT={**chat, "MAX_SOCKETS_PER_IP": 0}):
            more = from_address("203.0.113.7")
            sockets.append(more)
            assert await more.connect() == ACK


UNKNOWN_ROOMS_REFUSED = {
    "message": "Too many subscriptions to rooms that do not exist on this connection (at most 2).",
    "extensions": {"code": "TOO_MANY_UNKNOWN_ROOMS"},
}


@pytest.mark.embedded
@pytest.mark.parametrize(
    ("protocol", "done"), [("graphql-transport-ws", "next"), ("graphql-ws", "data")]
)
async def test_subscriptions_to_rooms_that_do_not_exist_are_capped_per_socket(
    sockets: list[GraphQLSocket], protocol: str, done: str
) -> None:
    await sync_to_async(Room.objects.get_or_create)(name="real")
    with override_settings(
        CHAT={**settings.CHAT, "MAX_UNKNOWN_ROOM_SUBSCRIPTIONS": 2, "KEEPALIVE_SECONDS": 0}
    ):
        socket = GraphQLSocket(protocol)
        sockets.append(socket)
        await socket.connect()
        await socket.subscribe("1", SUBSCRIPTION, {"room": "made-up-1"})
        await socket.subscribe("2", SUBSCRIPTION, {"room": "made-up-2"})
        await wait_for(lambda: get_hub().rooms == {"made-up-1": 1, "made-up-2": 1})

        await socket.subscribe("3", SUBSCRIPTION, {"room": "made-up-3"})
        assert await socket.receive() == {
            "id": "3",
            "type": done,
            "payload": {"data": None, "errors": [UNKNOWN_ROOMS_REFUSED]},
        }
        assert await socket.receive() == {"id": "3", "type": "complete"}

        # Rooms that exist are not counted; the other subscriptions are unaffected.
        await socket.subscribe("4", SUBSCRIPTION, {"room": "real"})
        await wait_for(lambda: get_hub().rooms == {"made-up-1": 1, "made-up-2": 1, "real": 1})

        # Ending one frees its slot.
        stop = "complete" if protocol == "graphql-transport-ws" else "stop"
        await socket.send({"id": "1", "type": stop})
        if protocol == "graphql-ws":
            assert await socket.receive() == {"type": "complete", "id": "1"}
        await wait_for(lambda: "made-up-1" not in get_hub().rooms)
        await socket.subscribe("5", SUBSCRIPTION, {"room": "made-up-5"})
        await wait_for(lambda: get_hub().rooms == {"made-up-2": 1, "made-up-5": 1, "real": 1})
        await socket.assert_silent()


@pytest.fixture(scope="module")
def trickle_daphne(
    django_db_setup: None, redis_server: RedisServer, postgres_server: PostgresServer
) -> Iterator[Daphne]:
    # Started as bin/serve starts it (no extra options): the deadline is the app's setting.
    # Its tests use at most one socket at a time but the cap's own.
    with daphnes_running(
        1,
        redis_server,
        postgres_server,
        CHAT_REQUEST_READ_TIMEOUT_SECONDS="1",
        CHAT_MAX_SOCKETS_PER_IP="2",
    ) as (daphne,):
        yield daphne


def closed_while_trickling(port: int, request: bytes, give_up_after: float) -> bytes | None:
    """Send ``request`` and then header bytes one at a time; return what the server sent
    before it closed, or None if it was still open after ``give_up_after`` seconds."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        sock.settimeout(0.1)
        received = b""
        deadline = time.monotonic() + give_up_after
        while time.monotonic() < deadline:
            try:
                sock.sendall(b"a")
            except OSError:
                return received
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return received
            if not chunk:
                return received
            received += chunk
    return None


TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


@pytest.mark.slow
def test_a_client_trickling_its_request_headers_is_closed(trickle_daphne: Daphne) -> None:
    # Twisted's own timeout is an idle one (60 s), reset by every byte. The margin here
    # is for a loaded machine; the server closes after CHAT_REQUEST_READ_TIMEOUT_SECONDS.
    sent = closed_while_trickling(
        trickle_daphne.port, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ", 20
    )
    assert sent == TIMED_OUT


@pytest.mark.slow
def test_a_client_trickling_a_websocket_handshake_is_closed(trickle_daphne: Daphne) -> None:
    handshake = (
        b"GET /graphql/ HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nX-Slow: "
    )
    sent = closed_while_trickling(trickle_daphne.port, handshake, 20)
    assert sent == TIMED_OUT


@pytest.mark.slow
def test_an_idle_keep_alive_connection_gets_the_full_deadline_for_its_next_request(
    trickle_daphne: Daphne,
) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
    with socket.create_connection(("127.0.0.1", trickle_daphne.port), timeout=10) as sock:
        for _ in range(2):
            sock.sendall(request)
            response = sock.recv(65536)
            assert response.startswith(b"HTTP/1.1 200 OK\r\n"), response
            # Idle longer than the read deadline: a load balancer's pooled connection
            # must not be closed for that (it times idle connections out itself).
            time.sleep(1.5)


@pytest.mark.slow
async def test_a_websocket_outlives_the_read_deadline(trickle_daphne: Daphne) -> None:
    async with websockets.connect(
        trickle_daphne.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv()) == ACK
        await asyncio.sleep(1.5)  # past the 1 s read deadline
        await ws.send(
            json.dumps(
                {"id": "1", "type": "subscribe", "payload": {"query": "{ me { username } }"}}
            )
        )
        assert json.loads(await ws.recv()) == {
            "id": "1",
            "type": "next",
            "payload": {"data": {"me": None}},
        }


@pytest.mark.slow
async def test_daphne_caps_sockets_by_peer_address(trickle_daphne: Daphne) -> None:
    protocols = [Subprotocol("graphql-transport-ws")]
    async with (
        websockets.connect(trickle_daphne.ws_url, subprotocols=protocols) as first,
        websockets.connect(trickle_daphne.ws_url, subprotocols=protocols) as second,
    ):
        for ws in (first, second):
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            assert json.loads(await ws.recv()) == ACK
        async with websockets.connect(trickle_daphne.ws_url, subprotocols=protocols) as third:
            assert third.subprotocol == "graphql-transport-ws"
            with pytest.raises(websockets.ConnectionClosedError) as closed:
                await third.recv()
            # daphne 4.2 drops ASGI's "reason"; internals/writepath.close_with_reason sends it.
            assert closed.value.rcvd is not None
            assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
                4429,
                "Too many connections from this address",
            )


@pytest.mark.embedded
def test_the_read_deadline_hook_is_active_on_the_pinned_twisted() -> None:
    from twisted.web.http import HTTPChannel

    import project.asgi  # noqa: F401  (installs it)

    assert HTTPChannel._chat_read_deadline is True  # type: ignore[attr-defined]


# Off when Twisted changed: tests/test_internals_hooks.py.
