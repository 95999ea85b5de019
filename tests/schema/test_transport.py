"""The websocket transport: authentication, protocol violations, group cleanup."""

from __future__ import annotations

import pytest
from django.test import override_settings

from chat.hub import get_hub
from tests import factories
from tests.conftest import GraphQLSocket, wait_for
from tests.schema.test_subscriptions import SUBSCRIPTION

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded]

ME = "query { me { username } }"


def close(code: int, reason: str) -> dict[str, object]:
    return {"type": "websocket.close", "code": code, "reason": reason}


async def open_socket(sockets: list[GraphQLSocket], protocol: str = "graphql-transport-ws"):
    socket = GraphQLSocket(protocol)
    sockets.append(socket)
    connected, _ = await socket.communicator.connect(timeout=10)
    assert connected
    return socket


async def test_token_in_connection_init_authenticates(
    sockets: list[GraphQLSocket], alice: factories.Member
) -> None:
    socket = GraphQLSocket()
    sockets.append(socket)
    assert await socket.connect({"authToken": alice.token}) == {"type": "connection_ack"}
    await socket.subscribe("q", ME)
    assert await socket.receive() == {
        "id": "q",
        "type": "next",
        "payload": {"data": {"me": {"username": "alice"}}},
    }
    assert await socket.receive() == {"id": "q", "type": "complete"}


async def test_anonymous_socket_is_accepted(sockets: list[GraphQLSocket]) -> None:
    socket = GraphQLSocket()
    sockets.append(socket)
    assert await socket.connect() == {"type": "connection_ack"}
    await socket.subscribe("q", ME)
    assert await socket.receive() == {
        "id": "q",
        "type": "next",
        "payload": {"data": {"me": None}},
    }


@pytest.mark.parametrize("token", ["not-a-token", "", 42, None])
async def test_bad_token_closes_with_4403(sockets: list[GraphQLSocket], token: object) -> None:
    socket = await open_socket(sockets)
    await socket.send({"type": "connection_init", "payload": {"authToken": token}})
    if token is None:
        # authToken: null is "no token": an anonymous connection.
        assert await socket.receive() == {"type": "connection_ack"}
        return
    assert await socket.receive_close() == close(4403, "Forbidden")


async def test_bad_token_on_legacy_graphql_ws_closes_with_4403(
    sockets: list[GraphQLSocket],
) -> None:
    socket = await open_socket(sockets, "graphql-ws")
    await socket.send({"type": "connection_init", "payload": {"authToken": "nope"}})
    assert await socket.receive() == {
        "type": "connection_error",
        "payload": {"message": "Invalid or expired token."},
    }
    assert await socket.receive_close() == close(4403, "Forbidden")


async def test_revoked_token_is_refused(
    sockets: list[GraphQLSocket], alice: factories.Member
) -> None:
    from tests.conftest import GraphQLHttp

    assert await GraphQLHttp(alice.token)("mutation { logout }") == {"data": {"logout": True}}
    socket = await open_socket(sockets)
    await socket.send({"type": "connection_init", "payload": {"authToken": alice.token}})
    assert await socket.receive_close() == close(4403, "Forbidden")


async def test_subscribe_before_init_closes_with_4401(sockets: list[GraphQLSocket]) -> None:
    socket = await open_socket(sockets)
    await socket.subscribe("1", SUBSCRIPTION, {"room": "lobby"})
    assert await socket.receive_close() == close(4401, "Unauthorized")


async def test_second_init_closes_with_4429(sockets: list[GraphQLSocket]) -> None:
    socket = GraphQLSocket()
    sockets.append(socket)
    await socket.connect()
    await socket.send({"type": "connection_init", "payload": {}})
    assert await socket.receive_close() == close(4429, "Too many initialisation requests")


async def test_duplicate_operation_id_closes_with_4409(sockets: list[GraphQLSocket]) -> None:
    socket = GraphQLSocket()
    sockets.append(socket)
    await socket.connect()
    await socket.subscribe("1", SUBSCRIPTION, {"room": "lobby"})
    await socket.subscribe("1", SUBSCRIPTION, {"room": "lobby"})
    assert await socket.receive_close() == close(4409, "Subscriber for 1 already exists")


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("{not json", "WebSocket message must be valid JSON"),
        ('{"type": "wat"}', "Unknown message type: wat"),
        ('{"payload": {}}', "Failed to parse message"),
        ('{"type": "subscribe", "id": "1", "payload": {"query": "subscription {"}}',
         "Syntax Error: Expected Name, found <EOF>."),
    ],
)  # fmt: skip
async def test_protocol_violations_close_with_4400(
    sockets: list[GraphQLSocket], frame: str, reason: str
) -> None:
    socket = GraphQLSocket()
    sockets.append(socket)
    await socket.connect()
    await socket.communicator.send_to(text_data=frame)
    assert await socket.receive_close() == close(4400, reason)


async def test_missing_connection_init_closes_with_4408(sockets: list[GraphQLSocket]) -> None:
    chat = {**__import__("django.conf").conf.settings.CHAT, "CONNECTION_INIT_TIMEOUT_SECONDS": 0.05}
    with override_settings(CHAT=chat):
        socket = await open_socket(sockets)
    assert await socket.receive_close() == close(4408, "Connection initialisation timeout")


async def test_unknown_subprotocol_closes_with_4406(sockets: list[GraphQLSocket]) -> None:
    socket = GraphQLSocket("mqtt")
    sockets.append(socket)
    connected, _ = await socket.communicator.connect(timeout=10)
    assert connected
    assert await socket.receive_close() == close(4406, "Subprotocol not acceptable")


async def test_foreign_origin_is_refused(sockets: list[GraphQLSocket]) -> None:
    socket = GraphQLSocket(headers=[(b"host", b"localhost"), (b"origin", b"https://evil.test")])
    sockets.append(socket)
    connected, code = await socket.communicator.connect(timeout=10)
    assert (connected, code) == (False, 1000)


async def test_allowed_origin_is_accepted(sockets: list[GraphQLSocket]) -> None:
    socket = GraphQLSocket(headers=[(b"host", b"localhost"), (b"origin", b"http://localhost:8000")])
    sockets.append(socket)
    assert await socket.connect() == {"type": "connection_ack"}


async def test_disconnect_leaves_every_room(sockets: list[GraphQLSocket]) -> None:
    socket = GraphQLSocket()
    sockets.append(socket)
    await socket.connect()
    await socket.subscribe("1", SUBSCRIPTION, {"room": "lobby"})
    await socket.subscribe("2", SUBSCRIPTION, {"room": "lobby"})
    await socket.subscribe("3", SUBSCRIPTION, {"room": "other"})
    await wait_for(lambda: get_hub().rooms == {"lobby": 2, "other": 1})
    await socket.close()
    assert get_hub().rooms == {}


async def test_websocket_on_another_path_is_refused() -> None:
    from channels.testing import WebsocketCommunicator

    from project.asgi import application

    communicator = WebsocketCommunicator(application, "/elsewhere/")
    assert await communicator.connect() == (False, 1000)
