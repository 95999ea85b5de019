"""Poisoned input: lone surrogates, odd cursors, deep JSON, look-alike usernames, invisible text.

Each is refused with BAD_USER_INPUT (HTTP 400 for a body that does not parse, 4400 for
such a frame), nothing is stored, and nothing is logged at ERROR.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator
from django.contrib.auth.models import User

import project.asgi  # noqa: F401  (its django.setup reconfigures logging: before caplog)
from chat import posting, services
from chat.models import Message
from tests import factories
from tests.conftest import GraphQLHttp, GraphQLSocket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.contract]

SEND = "mutation($r: String!, $t: String!) { sendMessage(room: $r, text: $t) { seq text } }"
REGISTER = (
    "mutation($u: String!, $p: String!) "
    "{ register(username: $u, password: $p) { user { username } } }"
)
LOGIN = (
    "mutation($u: String!, $p: String!) "
    "{ login(username: $u, password: $p) { user { id username } } }"
)
INVITE = 'mutation($u: String!) { inviteToRoom(room: "lobby", username: $u) { name } }'
REMOVE = 'mutation($u: String!) { removeFromRoom(room: "lobby", username: $u) { name } }'
CREATE_ROOM = "mutation($n: String!) { createRoom(name: $n) { name } }"
MESSAGES = 'query($after: String) { messages(room: "lobby", after: $after) { edges { cursor } } }'

POISON = "poisoned \ud800 text"


@pytest.fixture(autouse=True)
def _no_error_logs(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.INFO)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [(r.name, r.getMessage()) for r in errors]


def refused(field: str, message: str, query: str) -> dict[str, Any]:
    return {
        "data": None,
        "errors": [
            {
                "message": message,
                "locations": [{"line": 1, "column": query.index(field) + 1}],
                "path": [field],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }


async def _socket(token: str, sockets: list[GraphQLSocket]) -> GraphQLSocket:
    socket = GraphQLSocket()
    sockets.append(socket)
    assert await socket.connect({"authToken": token}) == {"type": "connection_ack"}
    return socket


async def _socket_post(socket: GraphQLSocket, op_id: str, text: str) -> dict[str, Any]:
    await socket.subscribe(op_id, SEND, {"r": "lobby", "t": text})
    reply = await socket.receive()
    assert reply["id"] == op_id and reply["type"] == "next", reply
    assert await socket.receive() == {"id": op_id, "type": "complete"}
    return dict(reply["payload"])


async def test_poisoned_posts_fail_alone_among_concurrent_good_ones(
    sockets: list[GraphQLSocket],
) -> None:
    members = [await sync_to_async(factories.member)(f"user{n}") for n in range(6)]
    await sync_to_async(services.room_get_or_create)(name="lobby")
    socks = [await _socket(m.token, sockets) for m in members[:3]]
    posts: list[tuple[str, Any]] = []
    for round_ in range(3):
        for n, socket in enumerate(socks):
            text = POISON if (round_ + n) % 2 else f"good ws {n}.{round_}"
            posts.append((text, _socket_post(socket, f"{round_}", text)))
        for n, member in enumerate(members[3:]):
            text = POISON if (round_ + n) % 2 == 0 else f"good http {n}.{round_}"
            posts.append((text, GraphQLHttp(member.token)(SEND, {"r": "lobby", "t": text})))
    results = await asyncio.gather(*(call for _, call in posts))
    good = []
    for (text, _), result in zip(posts, results, strict=True):
        if text == POISON:
            assert result == refused(
                "sendMessage", "Message text must be valid Unicode text.", SEND
            )
        else:
            assert result["data"]["sendMessage"]["text"] == text, result
            good.append(text)
    stored = await sync_to_async(lambda: sorted(Message.objects.values_list("text", flat=True)))()
    assert stored == sorted(good)
    seqs = sorted(
        await sync_to_async(lambda: list(Message.objects.values_list("seq", flat=True)))()
    )
    assert seqs == list(range(1, len(good) + 1))


def test_a_batch_survives_a_post_failing_in_any_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the batch insert raises, each post is retried alone: only the bad one fails."""
    alice = factories.member("alice").user
    services.room_get_or_create(name="lobby")
    real_insert = posting._messages_insert

    def insert(posts: list[posting.Post]) -> Any:
        if any(post.text == "boom" for post in posts):
            raise RuntimeError("driver failure")
        return real_insert(posts)

    monkeypatch.setattr(posting, "_messages_insert", insert)
    posts = [posting.Post(room_name="lobby", author=alice, text=t) for t in ("one", "boom", "two")]
    results = posting.messages_create(posts)
    assert isinstance(results[1], RuntimeError)
    assert [(m.seq, m.text) for m in (results[0], results[2])] == [(1, "one"), (2, "two")]  # type: ignore[union-attr]
    assert list(Message.objects.values_list("text", flat=True)) == ["one", "two"]


@pytest.mark.parametrize(
    ("query", "variables", "field", "message"),
    [
        (REGISTER, {"u": "eve\ud800", "p": factories.PASSWORD}, "register",
         "Username must be valid Unicode text."),
        (REGISTER, {"u": "eve", "p": "pass\ud800word-long-enough"}, "register",
         "Password must be valid Unicode text."),
        (LOGIN, {"u": "alice", "p": "x\udfff"}, "login", "Password must be valid Unicode text."),
        (LOGIN, {"u": "al\udfffice", "p": "x"}, "login", "Username must be valid Unicode text."),
        (CREATE_ROOM, {"n": "room\ud800"}, "createRoom",
         "Room name must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'."),
        (SEND, {"r": "lobby\ud800", "t": "hello"}, "sendMessage",
         "Room name must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'."),
        (INVITE, {"u": "bob\ud800"}, "inviteToRoom", "Username must be valid Unicode text."),
        (REMOVE, {"u": "bob\ud800"}, "removeFromRoom", "Username must be valid Unicode text."),
    ],
)  # fmt: skip
async def test_lone_surrogates_in_any_text_input_are_refused(
    alice: factories.Member, query: str, variables: dict[str, str], field: str, message: str
) -> None:
    await sync_to_async(services.room_create)(name="lobby", private=True, creator=alice.user)
    body = await GraphQLHttp(alice.token)(query, variables)
    assert body == refused(field, message, query)
    assert await sync_to_async(User.objects.count)() == 1
    assert await sync_to_async(Message.objects.count)() == 0


def _cursor(value: str) -> str:
    return base64.urlsafe_b64encode(f"seq:{value}".encode()).decode()


@pytest.mark.parametrize("value", ["²", "1" * 5000, "9" * 20, "٣"])
async def test_odd_cursors_are_bad_input(value: str) -> None:
    body = await GraphQLHttp()(MESSAGES, {"after": _cursor(value)})
    assert body == refused("messages", "Invalid cursor.", MESSAGES)


async def _raw_post(body: bytes) -> tuple[int, bytes, dict[bytes, bytes]]:
    from project.asgi import application

    communicator = HttpCommunicator(
        application,
        "POST",
        "/graphql/",
        body=body,
        headers=[(b"content-type", b"application/json"), (b"host", b"localhost")],
    )
    response = await communicator.get_response(timeout=10)
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(timeout=10)
    return response["status"], response["body"], dict(response["headers"])


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    "body",
    [
        DEEP,
        json.dumps({"query": "{ me { id } }", "variables": {"x": 1}})[:-1] + ', "y": ' + DEEP + "}",
        "{not json",
    ],
)
async def test_an_unparseable_body_is_a_400_with_a_graphql_error(body: str) -> None:
    status, content, headers = await _raw_post(body.encode())
    assert status == 400
    assert headers[b"Content-Type"] == b"application/json"
    assert json.loads(content) == {
        "errors": [
            {"message": "The body is not valid JSON.", "extensions": {"code": "BAD_USER_INPUT"}}
        ]
    }


async def test_a_deeply_nested_frame_closes_the_socket_with_4400(
    sockets: list[GraphQLSocket],
) -> None:
    socket = GraphQLSocket()
    sockets.append(socket)
    assert await socket.connect() == {"type": "connection_ack"}
    await socket.communicator.send_to(text_data=DEEP)
    assert await socket.receive_close() == {
        "type": "websocket.close",
        "code": 4400,
        "reason": "WebSocket message must be valid JSON",
    }


async def test_a_deeply_nested_frame_is_ignored_on_the_legacy_protocol(
    sockets: list[GraphQLSocket],
) -> None:
    # graphql-ws ignores frames that are not JSON; this one too, and the socket lives on.
    socket = GraphQLSocket("graphql-ws")
    sockets.append(socket)
    connected, _ = await socket.communicator.connect(timeout=10)
    assert connected
    await socket.communicator.send_to(text_data=DEEP)
    await socket.send({"type": "connection_init", "payload": {}})
    assert await socket.receive() == {"type": "connection_ack"}


@pytest.mark.parametrize(
    "name",
    [
        "\u0430lice",
        "\uff41\uff4c\uff49\uff43\uff45",
        "AL\u0130CE",
        "ALICE",
        "Alice",
        "a1ice",
        "alic\u0435",
    ],
)
async def test_usernames_that_fold_or_look_alike_are_taken(
    alice: factories.Member, name: str
) -> None:
    body = await GraphQLHttp()(REGISTER, {"u": name, "p": factories.PASSWORD})
    assert body == refused("register", "That username is taken.", REGISTER)
    assert await sync_to_async(lambda: list(User.objects.values_list("username", flat=True)))() == [
        "alice"
    ]


async def test_users_made_outside_register_are_keyed_too() -> None:
    # createsuperuser and the admin save users without register's key: it is added after
    # commit, and moved when the admin renames one.
    def superuser() -> User:
        return User.objects.create_superuser("admin", password=factories.PASSWORD)

    admin = await sync_to_async(superuser)()
    body = await GraphQLHttp()(REGISTER, {"u": "\u0430dmin", "p": factories.PASSWORD})
    assert body == refused("register", "That username is taken.", REGISTER)

    def rename() -> None:
        admin.username = "root"
        admin.save()

    await sync_to_async(rename)()
    body = await GraphQLHttp()(REGISTER, {"u": "\u0430dmin", "p": factories.PASSWORD})
    assert body == {"data": {"register": {"user": {"username": "\u0430dmin"}}}}
    body = await GraphQLHttp()(REGISTER, {"u": "ROOT", "p": factories.PASSWORD})
    assert body == refused("register", "That username is taken.", REGISTER)


async def test_usernames_are_stored_nfkc_and_login_folds_case(alice: factories.Member) -> None:
    body = await GraphQLHttp()(
        REGISTER, {"u": "\uff43\uff41\uff52\uff4f\uff4c", "p": factories.PASSWORD}
    )
    assert body == {"data": {"register": {"user": {"username": "carol"}}}}
    for typed in ("ALICE", "\uff41\uff4c\uff49\uff43\uff45", "Alice"):
        body = await GraphQLHttp()(LOGIN, {"u": typed, "p": factories.PASSWORD})
        assert body == {
            "data": {"login": {"user": {"id": str(alice.user.pk), "username": "alice"}}}
        }, typed
    # Look-alikes are refused at registration, and never log into the account they imitate.
    body = await GraphQLHttp()(LOGIN, {"u": "\u0430lice", "p": factories.PASSWORD})
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


@pytest.mark.parametrize(
    "text", ["\u200b", "\u200b\u200d\u2060\ufeff", " \u200b \t\u2060\n", "\u00ad\u200e"]
)
async def test_invisible_text_is_empty(alice: factories.Member, text: str) -> None:
    body = await GraphQLHttp(alice.token)(SEND, {"r": "lobby", "t": text})
    assert body == refused("sendMessage", "Message text must not be empty.", SEND)
    assert await sync_to_async(Message.objects.count)() == 0


async def test_a_lone_surrogate_token_is_refused_like_any_wrong_token(
    sockets: list[GraphQLSocket],
) -> None:
    socket = GraphQLSocket()
    sockets.append(socket)
    connected, _ = await socket.communicator.connect(timeout=10)
    assert connected
    await socket.send({"type": "connection_init", "payload": {"authToken": "tok\ud800en"}})
    assert await socket.receive_close() == {
        "type": "websocket.close",
        "code": 4403,
        "reason": "Forbidden",
    }


async def test_a_batch_whose_whole_call_fails_is_posted_post_by_post(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Even a failure outside the per-post handling (here the whole messages_create call)
    fails only the post that causes it."""
    from schema import mutations

    alice = (await sync_to_async(factories.member)("alice")).user
    await sync_to_async(services.room_get_or_create)(name="lobby")
    real = posting.messages_create
    calls: list[list[str]] = []

    def messages_create(posts: list[posting.Post]) -> Any:
        calls.append([post.text for post in posts])
        if any(post.text == "boom" for post in posts):
            raise RuntimeError("whole batch failed")
        return real(posts)

    monkeypatch.setattr(posting, "messages_create", messages_create)
    results = await asyncio.gather(
        *(
            mutations.message_post(room_name="lobby", author=alice, text=t)
            for t in ("a", "boom", "b")
        ),
        return_exceptions=True,
    )
    assert calls[0] == ["a", "boom", "b"]
    assert [getattr(r, "text", None) for r in results] == ["a", None, "b"]
    assert isinstance(results[1], RuntimeError)
    stored = await sync_to_async(lambda: list(Message.objects.values_list("text", flat=True)))()
    assert sorted(stored) == ["a", "b"]
