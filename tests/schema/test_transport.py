"""The websocket transport: authentication, protocol violations, group cleanup."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings

from chat import services
from chat.models import Message
from realtime.hub import get_hub
from tests import factories
from tests.conftest import (
    GraphQLSocket,
    fast_path_counts,
    fast_path_delta,
    fast_paths_taken,
    wait_for,
)
from tests.schema.test_subscriptions import SUBSCRIPTION

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded, pytest.mark.contract]

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
    with fast_paths_taken({"*": 1}):
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
        # (A syntax error is an error for its operation: tests/schema/test_ws_conformance.py.)
        ('{"type": "subscribe", "id": "1", "payload": {"query": 5}}',
         "Invalid subscribe message: payload.query must be a string, not a number."),
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
    socket = GraphQLSocket(
        headers=[(b"host", b"localhost:8000"), (b"origin", b"http://localhost:8000")]
    )
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


POST = "mutation($room: String!, $text: String!) { sendMessage(room: $room, text: $text) { text } }"
# Documents that parse and validate take internals/fastpaths/execution.py's direct path; each case
# runs there and through Strawberry's own pipeline, and must come out the same.
SINGLE_OPERATIONS: list[tuple[str, dict[str, object] | None, str | None, bool]] = [
    # query, variables, operationName, authenticated
    (POST, {"room": "a", "text": "hi"}, None, True),
    (POST, {"room": "a", "text": "  "}, None, True),
    (POST, {"room": "no spaces", "text": "hi"}, None, True),
    (POST, {"room": "a", "text": "hi"}, None, False),
    (POST, {"room": 5, "text": "hi"}, None, True),
    (POST, {"room": "a"}, None, True),
    (POST, {"room": "a", "text": "hi", "extra": 1}, None, True),
    (
        POST.replace("$room: String!", '$room: String! = "b"'),
        {"text": "defaulted room"},
        None,
        True,
    ),
    (POST.replace("$text: String!", "$text: String"), {"room": "a", "text": "hi"}, None, True),
    (f"{POST} query Me {{ me {{ username }} }}", None, "Me", True),
    (
        f"{POST.replace('mutation', 'mutation Post')} query Me {{ me {{ username }} }}",
        None,
        "Me",
        True,
    ),
    ('{ a: me { username } b: __typename room(name: "zz") { name } }', None, None, True),
    ('query { messages(room: "a", first: -1) { edges { node { seq } } } }', None, None, True),
    (
        'mutation { p: sendMessage(room: "a", text: "lit") { ...F } } '
        "fragment F on Message { __typename text author { username } room { name private } }",
        None,
        None,
        True,
    ),
    (
        'mutation { sendMessage(room: "a", text: "x") { room { createdBy { id } members { id } } } }',  # noqa: E501
        None,
        None,
        True,
    ),
    (
        'mutation { sendMessage(room: "a", text: "y") @include(if: true) { text } }',
        None,
        None,
        True,
    ),
    ('mutation { sendMessage(room: "secret", text: "no") { text } }', None, None, True),
]


async def run_single(socket: GraphQLSocket, n: int, case: tuple[Any, ...]) -> list[dict[str, Any]]:
    query, variables, operation_name, _ = case
    payload: dict[str, object] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    if operation_name is not None:
        payload["operationName"] = operation_name
    await socket.send({"id": f"op{n}", "type": "subscribe", "payload": payload})
    frames = [await socket.receive()]
    if frames[0]["type"] != "error":
        frames.append(await socket.receive())
    return frames


async def test_queries_and_mutations_match_strawberrys_path(
    sockets: list[GraphQLSocket],
    alice: factories.Member,
    bob: factories.Member,
    fast_path_switch: Any,
) -> None:
    await sync_to_async(services.room_create)(name="secret", private=True, creator=bob.user)

    results: dict[str, list[list[dict[str, Any]]]] = {}
    counted: dict[str, dict[tuple[str, str], float]] = {}
    for path in ("direct", "strawberry"):
        fast_path_switch(path == "direct")
        signed_in, anonymous = GraphQLSocket(), GraphQLSocket()
        sockets.extend((signed_in, anonymous))
        assert await signed_in.connect({"authToken": alice.token}) == {"type": "connection_ack"}
        assert await anonymous.connect() == {"type": "connection_ack"}
        before = fast_path_counts()
        results[path] = [
            await run_single(signed_in if case[3] else anonymous, n, case)
            for n, case in enumerate(SINGLE_OPERATIONS)
        ]
        counted[path] = fast_path_delta(before)
    assert results["direct"] == results["strawberry"]
    # What the comparison covers: the fast paths served most cases (the others, invalid
    # or not plain enough for them, took Strawberry's path both times).
    assert counted == {
        "direct": {
            ("sendMessage", "fast"): 8,
            ("sendMessage", "standard"): 4,
            ("*", "fast"): 3,
            ("*", "standard"): 2,
        },
        "strawberry": {("*", "standard"): 17},
    }
    direct = results["direct"]
    assert direct[0] == [
        {"id": "op0", "type": "next", "payload": {"data": {"sendMessage": {"text": "hi"}}}},
        {"id": "op0", "type": "complete"},
    ]

    def codes(frames: list[dict[str, Any]]) -> list[str]:
        first = frames[0]
        errors = (
            first["payload"] if first["type"] == "error" else first["payload"].get("errors", [])
        )
        return [error["extensions"]["code"] for error in errors]

    assert [codes(frames) for frames in direct] == [
        [],
        ["BAD_USER_INPUT"],
        ["BAD_USER_INPUT"],
        ["UNAUTHENTICATED"],
        ["GRAPHQL_VALIDATION_FAILED"],
        ["GRAPHQL_VALIDATION_FAILED"],
        [],
        [],  # the room's default
        ["GRAPHQL_VALIDATION_FAILED"],  # a nullable variable where String! is expected
        ["GRAPHQL_VALIDATION_FAILED"],  # an anonymous operation beside another: an error frame
        [],
        [],
        ["BAD_USER_INPUT"],
        [],
        [],
        [],
        ["FORBIDDEN"],
    ]
    assert direct[13][0]["payload"] == {
        "data": {
            "p": {
                "__typename": "Message",
                "text": "lit",
                "author": {"username": "alice"},
                "room": {"name": "a", "private": False},
            }
        }
    }
    assert direct[9][0]["type"] == "error"
    assert direct[10][0]["payload"] == {"data": {"me": {"username": "alice"}}}
    # Each path persisted its six good posts (an unused variable is ignored), nothing else.
    texts = await sync_to_async(lambda: list(Message.objects.values_list("text", flat=True)))()
    assert texts == ["hi", "hi", "lit", "x", "y"] * 2 + ["defaulted room"] * 2
