"""POST /graphql/ before Django (internals/fastpaths/http.py): what it serves answers byte
for byte as the standard path (Django, Strawberry's view) answers with the fast paths
off, and everything else reaches the standard path unchanged."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from django.conf import settings

from chat.models import Message
from tests import factories
from tests.conftest import fast_path_counts, fast_path_delta

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.contract]

Response = tuple[int, list[tuple[str, str]], bytes]

SEND = (
    "mutation($room: String!, $text: String!) "
    "{ sendMessage(room: $room, text: $text) { text author { username } room { name } } }"
)
SEND_INLINE = 'mutation { sendMessage(room: "inline", text: "hi") { text } }'
ME = "query { me { username } }"
JSON = (b"content-type", b"application/json")
HOST = (b"host", b"localhost")


async def request(
    body: bytes | list[bytes],
    headers: list[tuple[bytes, bytes]],
    *,
    method: str = "POST",
    path: str = "/graphql/",
    application: Any = None,
) -> Response:
    """One request through ``application`` (project.asgi's by default), the body in these
    chunks; the response: status, headers (lowercase names, sorted), body."""
    if application is None:
        from project.asgi import application

    chunks = [body] if isinstance(body, bytes) else body
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
    }
    communicator = ApplicationCommunicator(application, scope)
    for n, chunk in enumerate(chunks):
        more = n < len(chunks) - 1
        await communicator.send_input({"type": "http.request", "body": chunk, "more_body": more})
    start = await communicator.receive_output(timeout=10)
    assert start["type"] == "http.response.start"
    content = b""
    while True:
        message = await communicator.receive_output(timeout=10)
        content += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(timeout=10)
    names = sorted((k.decode().lower(), v.decode()) for k, v in start["headers"])
    return start["status"], names, content


def body(query: str, variables: dict[str, Any] | None = None, **more: Any) -> bytes:
    return json.dumps({"query": query, "variables": variables, **more}).encode()


def bearer(token: str) -> tuple[bytes, bytes]:
    return (b"authorization", f"Bearer {token}".encode())


async def both(
    fast_path_switch: Callable[[bool], None],
    content: bytes | list[bytes],
    headers: list[tuple[bytes, bytes]],
    **options: Any,
) -> tuple[Response, Response, dict[tuple[str, str], float]]:
    """The response with the fast paths on (and what they counted), then off."""
    fast_path_switch(True)
    before = fast_path_counts("http")
    fast = await request(content, headers, **options)
    counted = fast_path_delta(before, "http")
    fast_path_switch(False)
    standard = await request(content, headers, **options)
    return fast, standard, counted


def served(field: str) -> dict[tuple[str, str], float]:
    return {(field, "fast"): 1}


async def test_a_post_is_served_as_the_standard_path_serves_it(
    alice: factories.Member, fast_path_switch: Callable[[bool], None]
) -> None:
    content = body(SEND, {"room": "lobby", "text": "hello"})
    fast, standard, counted = await both(
        fast_path_switch, content, [JSON, HOST, bearer(alice.token)]
    )
    assert counted == served("sendMessage")
    expected = {
        "data": {
            "sendMessage": {
                "text": "hello",
                "author": {"username": "alice"},
                "room": {"name": "lobby"},
            }
        }
    }
    assert json.loads(fast[2]) == expected
    assert fast == standard
    assert fast[:2] == (
        200,
        [
            ("content-length", str(len(fast[2]))),
            ("content-type", "application/json"),
            ("cross-origin-opener-policy", "same-origin"),
            ("referrer-policy", "same-origin"),
            ("vary", "origin"),
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
        ],
    )
    # Both posted.
    assert await Message.objects.filter(room__name="lobby").acount() == 2


@pytest.mark.parametrize(
    ("name", "query", "variables"),
    [
        ("empty text", SEND, {"room": "lobby", "text": "  "}),
        (
            "unknown reply",
            'mutation { sendMessage(room: "r", text: "x", replyTo: "TWVzc2FnZTo5OTk=") { text } }',
            None,
        ),
        ("bad room name", SEND, {"room": "no spaces allowed", "text": "x"}),
        ("inline arguments", SEND_INLINE, None),
        ("non-ascii text", SEND, {"room": "lobby", "text": "h\u00e9 \u2028 \ud83d\ude00"}),
    ],
)
async def test_post_outcomes_match(
    alice: factories.Member,
    fast_path_switch: Callable[[bool], None],
    name: str,
    query: str,
    variables: dict[str, Any] | None,
) -> None:
    fast, standard, counted = await both(
        fast_path_switch, body(query, variables), [JSON, HOST, bearer(alice.token)]
    )
    assert counted == served("sendMessage"), name
    assert fast == standard, name


@pytest.mark.parametrize(
    ("query", "variables", "operation"),
    [
        ("{ __typename }", None, None),
        (ME, None, None),
        ("query Me { me { username } } query T { __typename }", None, "Me"),
        ("query($n: String!) { room(name: $n) { name } }", {"n": "nowhere"}, None),
    ],
)
@pytest.mark.parametrize("who", ["anonymous", "alice"])
async def test_queries_match(
    alice: factories.Member,
    fast_path_switch: Callable[[bool], None],
    query: str,
    variables: dict[str, Any] | None,
    operation: str | None,
    who: str,
) -> None:
    headers = [JSON, HOST] + ([bearer(alice.token)] if who == "alice" else [])
    content = body(query, variables, operationName=operation)
    fast, standard, counted = await both(fast_path_switch, content, headers)
    assert counted == served("*")
    assert fast == standard
    assert fast[0] == 200
    # The anonymous view reads the session for a user: Vary: Cookie, on both paths.
    vary = "Cookie, origin" if who == "anonymous" else "origin"
    assert ("vary", vary) in fast[1]


async def test_a_body_in_several_chunks_and_a_charset(
    alice: factories.Member, fast_path_switch: Callable[[bool], None]
) -> None:
    content = body(ME)
    chunks = [content[:5], content[5:20], content[20:]]
    headers = [(b"content-type", b"application/json; charset=utf-8"), HOST, bearer(alice.token)]
    fast, standard, counted = await both(fast_path_switch, chunks, headers)
    assert counted == served("*")
    assert fast == standard == (fast[0], fast[1], b'{"data":{"me":{"username":"alice"}}}')


@pytest.mark.parametrize(
    ("case", "headers", "content", "method"),
    [
        ("session cookie", [(b"cookie", b"sessionid=abc")], body(ME), "POST"),
        ("other origin", [(b"origin", b"http://elsewhere.example")], body(ME), "POST"),
        ("not acceptable", [(b"accept", b"text/html")], body(ME), "POST"),
        ("own origin", [(b"origin", b"http://localhost")], body(ME), "POST"),
        (
            "persisted query",
            [],
            body(ME, extensions={"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}),
            "POST",
        ),
        ("batch", [], b"[" + body(ME) + b"]", "POST"),
        ("not json", [], b"{nope", "POST"),
        (
            "variables not an object",
            [],
            body(ME, None).replace(b'"variables": null', b'"variables": [1]'),
            "POST",
        ),
        ("invalid token", [bearer("no-such-token")], body(ME), "POST"),
        ("not bearer", [(b"authorization", b"Basic YTpi")], body(ME), "POST"),
        (
            "login",
            [],
            body('mutation { login(username: "alice", password: "wrong password!") { token } }'),
            "POST",
        ),
        ("logout", "alice", body("mutation { logout }"), "POST"),
        (
            "subscription",
            "alice",
            body('subscription { messageAdded(room: "r") { text } }'),
            "POST",
        ),
        ("syntax error", [], body("{ me { "), "POST"),
        ("invalid document", [], body("{ nope }"), "POST"),
        (
            "two operations, no name",
            [],
            body("query A { me { username } } query B { __typename }"),
            "POST",
        ),
        (
            "form content type",
            [(b"content-type", b"application/x-www-form-urlencoded")],
            b"query=%7Bme%7D",
            "POST",
        ),
        ("GET", [], b"", "GET"),
        ("query too large", [], body("{ me { username } }" + " " * (70 * 1024)), "POST"),
    ],
)
async def test_everything_else_reaches_the_standard_path(
    alice: factories.Member,
    fast_path_switch: Callable[[bool], None],
    case: str,
    headers: list[tuple[bytes, bytes]] | str,
    content: bytes,
    method: str,
) -> None:
    extra: list[tuple[bytes, bytes]] = (
        [bearer(alice.token)] if isinstance(headers, str) else list(headers)
    )
    names = {name for name, _ in extra}
    base = [h for h in (JSON, HOST) if h[0] not in names]
    fast, standard, counted = await both(fast_path_switch, content, base + extra, method=method)
    assert not any(path == "fast" for _, path in counted), case
    if case != "logout":  # the token is revoked by the first
        assert fast == standard, case


async def test_a_host_not_allowed_and_a_foreign_origin_get_djangos_answer(
    fast_path_switch: Callable[[bool], None],
) -> None:
    fast, standard, counted = await both(
        fast_path_switch, body(ME), [JSON, (b"host", b"evil.example")]
    )
    assert counted == {}
    assert fast == standard and fast[0] == 400


async def test_secure_requests_get_hsts_as_from_django(
    fast_path_switch: Callable[[bool], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "SECURE_PROXY_SSL_HEADER", ("HTTP_X_FORWARDED_PROTO", "https"))
    monkeypatch.setattr(settings, "SECURE_HSTS_SECONDS", 3600)
    monkeypatch.setattr(settings, "SECURE_HSTS_PRELOAD", True)
    from internals.asgihandler import ChatASGIHandler
    from internals.fastpaths.http import GraphQLHTTPFront
    from schema import schema

    # Django's middleware reads these settings when the handler loads it.
    application = GraphQLHTTPFront(ChatASGIHandler(), schema=schema)
    headers = [JSON, HOST, (b"x-forwarded-proto", b"https, http")]
    fast, standard, counted = await both(
        fast_path_switch, body(ME), headers, application=application
    )
    assert counted == served("*")
    assert fast == standard
    assert ("strict-transport-security", "max-age=3600; preload") in fast[1]


async def test_another_middleware_turns_the_front_off(
    fast_path_switch: Callable[[bool], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_path_switch(True)
    monkeypatch.setattr(settings, "MIDDLEWARE", [*settings.MIDDLEWARE, "some.OtherMiddleware"])
    before = fast_path_counts("http")
    from internals.fastpaths import http

    assert not http._eligible(
        {"type": "http"}, {b"content-type": b"application/json", b"host": b"localhost"}, False
    )
    assert fast_path_delta(before, "http") == {}


async def test_an_anonymous_post_is_refused_as_the_standard_path_refuses_it(
    fast_path_switch: Callable[[bool], None],
) -> None:
    content = body(SEND, {"room": "lobby", "text": "hello"})
    fast, standard, counted = await both(fast_path_switch, content, [JSON, HOST])
    assert counted == served("sendMessage")
    assert fast == standard
    assert json.loads(fast[2])["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    assert await Message.objects.acount() == 0


@pytest.mark.parametrize(
    "accept",
    [
        b"application/graphql-response+json",
        b"application/graphql-response+json, application/json;q=0.9",
        b"*/*",
    ],
)
async def test_each_media_type_is_served_as_the_standard_path_serves_it(
    alice: factories.Member, fast_path_switch: Callable[[bool], None], accept: bytes
) -> None:
    headers = [JSON, HOST, bearer(alice.token), (b"accept", accept)]
    for query, variables, field in [
        (ME, None, "*"),
        (SEND, {"room": "lobby", "text": "hi"}, "sendMessage"),
        # A field error that nulls data: executed, 200 in both media types.
        (SEND, {"room": "lobby", "text": " "}, "sendMessage"),
    ]:
        fast, standard, counted = await both(fast_path_switch, body(query, variables), headers)
        assert counted == served(field)
        assert fast == standard
        assert fast[0] == 200


async def test_allow_list_mode_is_left_to_the_standard_path(
    alice: factories.Member,
    fast_path_switch: Callable[[bool], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(settings.CHAT, "PERSISTED_QUERIES_ONLY", True)
    fast, standard, counted = await both(fast_path_switch, body(ME), [JSON, HOST])
    assert counted == {}
    assert fast == standard
    assert json.loads(fast[2])["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"


MARK_READ = "mutation($room: String!, $seq: Int!) { markRead(room: $room, seq: $seq) { name lastReadSeq unreadCount } }"  # noqa: E501
SET_TYPING = "mutation($room: String!) { setTyping(room: $room, typing: true) }"


@pytest.mark.parametrize(
    ("field", "query", "variables"),
    [
        ("markRead", MARK_READ, {"room": "lobby", "seq": 1}),
        ("markRead", MARK_READ, {"room": "nowhere", "seq": 1}),
        ("setTyping", SET_TYPING, {"room": "lobby"}),
        ("setTyping", SET_TYPING, {"room": "no spaces allowed"}),
    ],
)
@pytest.mark.parametrize("who", ["anonymous", "alice"])
async def test_read_markers_and_typing_are_served_as_the_standard_path_serves_them(
    alice: factories.Member,
    fast_path_switch: Callable[[bool], None],
    field: str,
    query: str,
    variables: dict[str, Any],
    who: str,
) -> None:
    # Each client marks rooms read and says it is typing over HTTP, many times per post:
    # the front serves them as it serves sendMessage (they use only the context's user).
    await request(
        body(SEND, {"room": "lobby", "text": "to read"}), [JSON, HOST, bearer(alice.token)]
    )
    headers = [JSON, HOST] + ([bearer(alice.token)] if who == "alice" else [])
    fast, standard, counted = await both(fast_path_switch, body(query, variables), headers)
    assert counted == served(field)
    assert fast == standard
