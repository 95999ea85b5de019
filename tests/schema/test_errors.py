"""Every bad input: the exact error code, and nothing persisted or published."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User

from chat.models import AuthToken, Message, Room
from tests import factories
from tests.conftest import GraphQLHttp, GraphQLSocket
from tests.schema.test_subscriptions import SEND, SUBSCRIPTION

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded, pytest.mark.contract]

BAD_ROOMS = ["", "a b", "x" * 65, "caf\u00e9", "../etc", "lobby;drop", "a.b", "\x00"]


def counts() -> tuple[int, int, int, int]:
    return (
        Room.objects.count(),
        Message.objects.count(),
        User.objects.count(),
        AuthToken.objects.count(),
    )


def error(message: str, code: str, path: str) -> dict[str, Any]:
    return {"message": message, "path": [path], "code": code}


def errors_of(result: dict[str, Any], data: Any = None) -> list[dict[str, Any]]:
    assert result["data"] == data
    return [
        {"message": e["message"], "path": e.get("path"), "code": e["extensions"]["code"]}
        for e in result["errors"]
    ]


ROOM_ERROR = "Room name must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'."


@pytest.mark.parametrize("room", BAD_ROOMS)
async def test_send_message_to_invalid_room_name(alice: factories.Member, room: str) -> None:
    before = await sync_to_async(counts)()
    result = await GraphQLHttp(alice.token)(SEND, {"room": room, "text": "hi"})
    assert errors_of(result) == [error(ROOM_ERROR, "BAD_USER_INPUT", "sendMessage")]
    assert await sync_to_async(counts)() == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Message text must not be empty."),
        (" \n\t ", "Message text must not be empty."),
        ("x" * 4001, "Message text must be at most 4000 characters."),
        ("  " + "x" * 4001 + "  ", "Message text must be at most 4000 characters."),
        ("a\x00b", "Message text must not contain NUL characters."),
    ],
)
async def test_send_message_with_invalid_text(
    alice: factories.Member, text: str, message: str
) -> None:
    before = await sync_to_async(counts)()
    result = await GraphQLHttp(alice.token)(SEND, {"room": "lobby", "text": text})
    assert errors_of(result) == [error(message, "BAD_USER_INPUT", "sendMessage")]
    assert await sync_to_async(counts)() == before


async def test_text_of_4000_characters_after_trimming_is_accepted(
    alice: factories.Member,
) -> None:
    text = "  " + "y" * 4000 + "\n"
    result = await GraphQLHttp(alice.token)(
        'mutation($t: String!) { sendMessage(room: "lobby", text: $t) { seq text } }',
        {"t": text},
    )
    assert result == {"data": {"sendMessage": {"seq": 1, "text": "y" * 4000}}}


async def test_anonymous_send_message_is_unauthenticated() -> None:
    result = await GraphQLHttp()(SEND, {"room": "lobby", "text": "hi"})
    assert errors_of(result) == [
        error("Sign in to send messages.", "UNAUTHENTICATED", "sendMessage")
    ]
    assert await sync_to_async(counts)() == (0, 0, 0, 0)


@pytest.mark.parametrize(
    "authorization",
    [b"Bearer not-a-token", b"Bearer ", b"Basic YWxpY2U6cHc=", b"Token abc"],
)
async def test_bad_authorization_header_is_unauthenticated(
    alice: factories.Member, authorization: bytes
) -> None:
    before = await sync_to_async(counts)()
    status, body = await GraphQLHttp().post(
        SEND, {"room": "lobby", "text": "hi"}, headers=[(b"authorization", authorization)]
    )
    # A GraphQL response, 200 under application/json (401 under
    # application/graphql-response+json: tests/schema/test_http_conformance.py).
    assert status == 200
    message = (
        "Invalid or expired token."
        if authorization.startswith(b"Bearer") and authorization != b"Bearer "
        else "Authorization header must be `Bearer <token>`."
    )
    assert body == {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]}
    assert await sync_to_async(counts)() == before


async def test_wrong_credentials_are_unauthenticated(alice: factories.Member) -> None:
    login = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"
    before = await sync_to_async(counts)()
    for username, password in [
        ("alice", "wrong password"),
        ("nobody", factories.PASSWORD),
        # NUL cannot be stored in PostgreSQL text: found by tests/test_hostile.py.
        ("ali\x00ce", factories.PASSWORD),
    ]:
        result = await GraphQLHttp()(login, {"u": username, "p": password})
        assert errors_of(result) == [
            error("Invalid username or password.", "UNAUTHENTICATED", "login")
        ]
    assert await sync_to_async(counts)() == before


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("carol", "short", "This password is too short. It must contain at least 8 characters."),
        ("carol", "password", "This password is too common."),
        ("carol", "12345678901", "This password is too common. This password is entirely numeric."),
        ("alice", factories.PASSWORD, "That username is taken."),
        ("ALICE", factories.PASSWORD, "That username is taken."),
        ("", factories.PASSWORD, "Username must be 1 to 150 characters."),
        ("bad name!", factories.PASSWORD, "Enter a valid username. This value may contain only "
         "letters, numbers, and @/./+/-/_ characters."),
    ],
)  # fmt: skip
async def test_register_rejects_bad_input(
    alice: factories.Member, username: str, password: str, message: str
) -> None:
    register = (
        "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { token } }"
    )
    before = await sync_to_async(counts)()
    result = await GraphQLHttp()(register, {"u": username, "p": password})
    assert errors_of(result) == [error(message, "BAD_USER_INPUT", "register")]
    assert await sync_to_async(counts)() == before


async def test_logout_when_anonymous_is_unauthenticated() -> None:
    result = await GraphQLHttp()("mutation { logout }")
    assert errors_of(result) == [error("Not signed in.", "UNAUTHENTICATED", "logout")]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ('room: "lobby", first: 101', "`first` must be between 0 and 100."),
        ('room: "lobby", first: -1', "`first` must be between 0 and 100."),
        ('room: "lobby", last: 1000', "`last` must be between 0 and 100."),
        ('room: "lobby", after: "bm9wZQ=="', "Invalid cursor."),
        ('room: "lobby", before: "%%%"', "Invalid cursor."),
        ('room: "lobby", after: "cm9vbToxfDI="', "Invalid cursor."),
        ('room: "no spaces"', ROOM_ERROR),
    ],
)
async def test_messages_rejects_bad_arguments(arguments: str, message: str) -> None:
    result = await GraphQLHttp()(f"{{ messages({arguments}) {{ edges {{ cursor }} }} }}")
    assert errors_of(result) == [error(message, "BAD_USER_INPUT", "messages")]


async def test_rooms_and_room_reject_bad_arguments() -> None:
    result = await GraphQLHttp()('{ rooms(after: "garbage") { edges { cursor } } }')
    assert errors_of(result) == [error("Invalid cursor.", "BAD_USER_INPUT", "rooms")]
    result = await GraphQLHttp()('{ room(name: "a b") { id } }')
    assert errors_of(result, data={"room": None}) == [error(ROOM_ERROR, "BAD_USER_INPUT", "room")]


async def test_invalid_documents_are_graphql_errors_not_500() -> None:
    status, body = await GraphQLHttp().post("{ nope }")
    assert status == 200
    assert body == {
        "data": None,
        "errors": [
            {
                "message": "Cannot query field 'nope' on type 'Query'.",
                "locations": [{"line": 1, "column": 3}],
                "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
            }
        ],
    }
    status, body = await GraphQLHttp().post("{ rooms { ")
    assert (status, body) == (
        200,
        {
            "data": None,
            "errors": [
                {
                    "message": "Syntax Error: Expected Name, found <EOF>.",
                    "locations": [{"line": 1, "column": 11}],
                    "extensions": {"code": "GRAPHQL_PARSE_FAILED"},
                }
            ],
        },
    )


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"room": "a b", "afterSeq": None}, ROOM_ERROR),
        ({"room": "lobby", "afterSeq": -1}, "`afterSeq` must be 0 or more."),
    ],
)
async def test_subscription_with_bad_arguments_errors(
    sockets: list[GraphQLSocket], variables: dict[str, Any], message: str
) -> None:
    socket = GraphQLSocket()
    sockets.append(socket)
    await socket.connect()
    await socket.subscribe("1", SUBSCRIPTION, variables)
    # As graphql-ws's reference server does for a failed subscribe: a result, then complete.
    assert await socket.receive() == {
        "id": "1",
        "type": "next",
        "payload": {
            "data": None,
            "errors": [{"message": message, "extensions": {"code": "BAD_USER_INPUT"}}],
        },
    }
    assert await socket.receive() == {"id": "1", "type": "complete"}
    assert await sync_to_async(Room.objects.count)() == 0


async def test_send_message_past_the_rate_limit_is_rate_limited(alice: factories.Member) -> None:
    from django.conf import settings
    from django.test import override_settings

    http = GraphQLHttp(alice.token)
    send = 'mutation($t: String!) { sendMessage(room: "lobby", text: $t) { seq } }'
    with override_settings(CHAT={**settings.CHAT, "RATE_LIMIT": (3, 86400)}):
        for n in range(1, 4):
            assert await http(send, {"t": f"m{n}"}) == {"data": {"sendMessage": {"seq": n}}}
        before = await sync_to_async(counts)()
        result = await http(send, {"t": "one too many"})
    assert errors_of(result) == [
        error("Too many messages: at most 3 every 86400 seconds.", "RATE_LIMITED", "sendMessage")
    ]
    assert await sync_to_async(counts)() == before


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"query": "{ me { username } }"}, "queries are not allowed"),
        ({"query": 'mutation { sendMessage(room: "lobby", text: "x") { seq } }'}, None),
        ({"query": "query A { me { id } } query B { me { id } }"}, None),
    ],
)
async def test_legacy_graphql_ws_refuses_non_subscriptions_as_bad_requests(
    sockets: list[GraphQLSocket],
    caplog: pytest.LogCaptureFixture,
    payload: dict[str, Any],
    message: str | None,
) -> None:
    # Strawberry's legacy graphql-ws handler runs subscriptions only: anything else is the
    # client's mistake, answered with BAD_REQUEST and never logged as a server error.
    socket = GraphQLSocket("graphql-ws")
    sockets.append(socket)
    assert await socket.connect() == {"type": "connection_ack"}
    before = await sync_to_async(counts)()
    await socket.send({"id": "1", "type": "start", "payload": payload})
    frame = await socket.receive()
    assert frame["id"] == "1"
    assert frame["type"] == "error"
    assert frame["payload"]["extensions"] == {"code": "BAD_REQUEST"}
    if message is not None:
        assert frame["payload"]["message"] == message
    assert await sync_to_async(counts)() == before
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
