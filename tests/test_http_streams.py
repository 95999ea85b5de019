"""Subscriptions over HTTP streaming at /graphql/ (internals/httpstream.py), through
project.asgi.application: GraphQL over SSE (graphql-sse PROTOCOL.md, distinct connections
mode) and Apollo's multipart HTTP subscriptions. Whole responses: status, headers, bytes."""

from __future__ import annotations

import asyncio
import json
from contextlib import nullcontext
from typing import Any
from urllib.parse import urlencode

import pytest
from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.test import override_settings
from prometheus_client import REGISTRY

from chat.db import in_thread
from chat.posting import message_create
from chat.services import room_create, room_invite, room_member_remove
from realtime.hub import get_hub
from tests import factories
from tests.conftest import fast_paths_taken, wait_for
from tests.schema.test_subscriptions import SUBSCRIPTION, message_json
from tests.servers import RedisServer
from tests.test_leaks import POINTS, SUBSCRIPTION_STRAWBERRY, active, gate_at
from tests.test_scale_out import group_subscribers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.contract]

# Vary: origin, as django-cors-headers adds to every /graphql/ response.
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
    (b"vary", b"origin"),
]
MULTIPART_HEADERS = [
    (b"content-type", b'multipart/mixed; boundary="graphql"; subscriptionSpec=1.0'),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
    (b"vary", b"origin"),
]
DELIMITER = b"\r\n--graphql"
PART = b"\r\ncontent-type: application/json; charset=utf-8\r\n\r\n"
# Apollo's multipart subscription spec: the heartbeat, an empty object.
HEARTBEAT = PART + b"{}" + DELIMITER
SSE_ACCEPT = b"text/event-stream"
# What Apollo Client's HttpLink sends for a subscription.
MULTIPART_ACCEPT = (
    b"multipart/mixed;boundary=graphql;subscriptionSpec=1.0,"
    b"application/graphql-response+json,application/json;q=0.9"
)


class Stream:
    """One HTTP request to /graphql/ through project.asgi.application."""

    def __init__(
        self,
        accept: bytes,
        body: dict[str, Any] | bytes | None = None,
        *,
        method: str = "POST",
        query_string: str = "",
        token: str | None = None,
        headers: list[tuple[bytes, bytes]] = (),  # type: ignore[assignment]
        client: str = "127.0.0.1",
    ) -> None:
        from project.asgi import application

        all_headers = [(b"host", b"localhost"), (b"accept", accept)]
        if method == "POST":
            all_headers.append((b"content-type", b"application/json"))
        if token is not None:
            all_headers.append((b"authorization", f"Bearer {token}".encode()))
        all_headers += headers
        scope = {
            "type": "http",
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": "/graphql/",
            "raw_path": b"/graphql/",
            "root_path": "",
            "query_string": query_string.encode(),
            "headers": all_headers,
            "client": (client, 40000),
            "server": ("localhost", 80),
        }
        self.communicator = ApplicationCommunicator(application, scope)
        self.body = json.dumps(body).encode() if isinstance(body, dict) else (body or b"")

    async def start(self) -> tuple[int, list[tuple[bytes, bytes]]]:
        await self.communicator.send_input({"type": "http.request", "body": self.body})
        message = await self.communicator.receive_output(10)
        assert message["type"] == "http.response.start", message
        return message["status"], message["headers"]

    async def chunk(self) -> tuple[bytes, bool]:
        message = await self.communicator.receive_output(10)
        assert message["type"] == "http.response.body", message
        return message["body"], message.get("more_body", False)

    async def rest(self) -> bytes:
        """Every chunk up to the end of the response."""
        body = b""
        more = True
        while more:
            chunk, more = await self.chunk()
            body += chunk
        await self.communicator.wait(10)
        return body

    async def disconnect(self) -> None:
        await self.communicator.send_input({"type": "http.disconnect"})
        await self.communicator.wait(10)


def streams_open() -> float:
    value = REGISTRY.get_sample_value("chat_http_streams_open", {"transport": "sse"})
    assert value is not None
    return value


def sse_next(payload: dict[str, Any]) -> bytes:
    return b"event: next\ndata: " + json.dumps(payload).encode() + b"\n\n"


def part(payload: dict[str, Any] | None) -> bytes:
    return PART + json.dumps({"payload": payload}).encode() + DELIMITER


def subscribe_body(room: str, query: str = SUBSCRIPTION) -> dict[str, Any]:
    return {"query": query, "variables": {"room": room}}


@pytest.mark.parametrize("query", [SUBSCRIPTION, SUBSCRIPTION_STRAWBERRY], ids=["fast", "std"])
async def test_sse_streams_next_events_and_disconnect_leaves_nothing(
    query: str, alice: factories.Member, redis_server: RedisServer
) -> None:
    """PROTOCOL.md: "The `Content-Type` MUST always be `text/event-stream`"; results are
    `next` events; "Streaming operations ... are terminated/completed by having the client
    simply close the SSE connection"."""
    before = active()
    stream = Stream(SSE_ACCEPT, subscribe_body("sse", query), token=alice.token)
    # The websocket's fast path serves the stream too (the standard path with a fragment
    # at the root, or with CHAT_FAST_PATHS=0).
    taken = fast_paths_taken({"messageAdded": 1}) if query == SUBSCRIPTION else nullcontext()
    with taken:
        assert await stream.start() == (200, SSE_HEADERS)
        assert await stream.chunk() == (b":\n\n", True)
        await wait_for(lambda: get_hub().rooms == {"sse": 1})
    assert streams_open() == 1
    message = await in_thread(message_create)(room_name="sse", author=alice.user, text="hi")
    selected = message_json(message) if query == SUBSCRIPTION else {"seq": message.seq}
    assert await stream.chunk() == (sse_next({"data": {"messageAdded": selected}}), True)
    await stream.disconnect()
    assert get_hub().rooms == {}
    assert active() == before
    assert streams_open() == 0
    await wait_for(lambda: group_subscribers(redis_server, "sse") == 0)


async def test_multipart_parts_as_apollo_reads_them(alice: factories.Member) -> None:
    """Apollo's multipart subscription spec: boundary "graphql", each result wrapped in
    `payload`, heartbeats `{}`."""
    stream = Stream(MULTIPART_ACCEPT, subscribe_body("mp"), token=alice.token)
    assert await stream.start() == (200, MULTIPART_HEADERS)
    assert await stream.chunk() == (DELIMITER + HEARTBEAT, True)
    await wait_for(lambda: get_hub().rooms == {"mp": 1})
    message = await in_thread(message_create)(room_name="mp", author=alice.user, text="hi")
    assert await stream.chunk() == (part({"data": {"messageAdded": message_json(message)}}), True)
    await stream.disconnect()
    assert get_hub().rooms == {}


@pytest.mark.parametrize("accept", [SSE_ACCEPT, MULTIPART_ACCEPT], ids=["sse", "multipart"])
async def test_a_query_is_one_result_then_complete(accept: bytes) -> None:
    stream = Stream(accept, {"query": "{ __typename }"})
    assert (await stream.start())[0] == 200
    if accept == SSE_ACCEPT:
        expected = b":\n\n" + sse_next({"data": {"__typename": "Query"}})
        expected += b"event: complete\ndata:\n\n"
    else:
        expected = DELIMITER + HEARTBEAT + part({"data": {"__typename": "Query"}}) + b"--\r\n"
    assert await stream.rest() == expected


async def test_sse_validation_errors_are_next_events_on_an_accepted_stream() -> None:
    """PROTOCOL.md: "Validation steps that run before execution of the GraphQL operation
    MUST report errors through an accepted SSE connection by emitting `next` events that
    contain the errors in the data field"."""
    stream = Stream(SSE_ACCEPT, {"query": "subscription { nope }"})
    assert await stream.start() == (200, SSE_HEADERS)
    error = {
        "message": "Cannot query field 'nope' on type 'Subscription'.",
        "locations": [{"line": 1, "column": 16}],
        "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
    }
    assert await stream.rest() == (
        b":\n\n" + sse_next({"errors": [error]}) + b"event: complete\ndata:\n\n"
    )


async def test_sse_get_with_query_params_and_mutation_by_get_is_405() -> None:
    """GraphQL over HTTP, which PROTOCOL.md's distinct connections mode follows: GET
    carries the parameters in the query string; a mutation by GET is 405."""
    query = urlencode({"query": "query Q($n: Boolean!) { __typename @include(if: $n) }"})
    variables = urlencode({"variables": json.dumps({"n": True})})
    stream = Stream(SSE_ACCEPT, method="GET", query_string=f"{query}&{variables}")
    assert (await stream.start())[0] == 200
    assert await stream.rest() == (
        b":\n\n" + sse_next({"data": {"__typename": "Query"}}) + b"event: complete\ndata:\n\n"
    )
    mutation = urlencode({"query": 'mutation { sendMessage(room: "r", text: "x") { seq } }'})
    refused = Stream(SSE_ACCEPT, method="GET", query_string=mutation)
    assert await refused.start() == (
        405,
        [(b"content-type", b"application/json"), (b"allow", b"POST"), (b"vary", b"origin")],
    )
    assert json.loads(await refused.rest()) == {
        "errors": [
            {"message": "Send mutations by POST.", "extensions": {"code": "METHOD_NOT_ALLOWED"}}
        ]
    }


@pytest.mark.parametrize(
    ("kwargs", "status", "message", "code"),
    [
        ({"token": "nope"}, 401, "Invalid or expired token.", "UNAUTHENTICATED"),
        (
            {"headers": [(b"authorization", b"Basic eA==")]},
            401,
            "Authorization header must be `Bearer <token>`.",
            "UNAUTHENTICATED",
        ),
        ({"method": "PUT"}, 405, "Use GET or POST.", "METHOD_NOT_ALLOWED"),
        ({"body": b"{"}, 400, "The body is not valid JSON.", "BAD_USER_INPUT"),
        ({"body": b"[]"}, 400, "The body must be a JSON object.", "BAD_USER_INPUT"),
        ({"body": {"variables": {}}}, 400, "Missing query.", "BAD_USER_INPUT"),
        ({"body": {"query": 1}}, 400, "`query` must be a string.", "BAD_USER_INPUT"),
        (
            {"body": {"query": "{a}", "variables": []}},
            400,
            "`variables` must be an object.",
            "BAD_USER_INPUT",
        ),
        (
            {"headers": [(b"cookie", b"sessionid=abc")]},
            403,
            "CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken "
            "header, or authenticate with a bearer token.",
            "FORBIDDEN",
        ),
    ],
    ids=["token", "scheme", "method", "json", "array", "query", "type", "variables", "csrf"],
)
@pytest.mark.parametrize("accept", [SSE_ACCEPT, MULTIPART_ACCEPT], ids=["sse", "multipart"])
async def test_request_errors_are_json_with_their_status_and_start_nothing(
    accept: bytes, kwargs: dict[str, Any], status: int, message: str, code: str
) -> None:
    kwargs = {"body": subscribe_body("never"), **kwargs}
    stream = Stream(accept, kwargs.pop("body"), **kwargs)
    assert (await stream.start())[0] == status
    assert json.loads(await stream.rest()) == {
        "errors": [{"message": message, "extensions": {"code": code}}]
    }
    assert get_hub().rooms == {}


async def test_other_requests_pass_through_to_django() -> None:
    stream = Stream(b"application/json", {"query": "{ __typename }"})
    status, headers = await stream.start()
    assert (status, dict(headers)[b"Content-Type"]) == (200, b"application/json")
    assert json.loads(await stream.rest()) == {"data": {"__typename": "Query"}}


@override_settings(CHAT={**settings.CHAT, "MAX_SOCKETS_PER_IP": 2})
async def test_streams_count_against_the_per_address_cap(alice: factories.Member) -> None:
    streams = [Stream(SSE_ACCEPT, subscribe_body("cap"), token=alice.token) for _ in range(2)]
    for stream in streams:
        assert (await stream.start())[0] == 200
    # Refused before its token is even looked up.
    refused = Stream(SSE_ACCEPT, subscribe_body("cap"), token="not looked up")
    assert (await refused.start())[0] == 429
    assert json.loads(await refused.rest()) == {
        "errors": [
            {
                "message": "Too many connections from this address.",
                "extensions": {"code": "RATE_LIMITED"},
            }
        ]
    }
    other = Stream(SSE_ACCEPT, subscribe_body("cap"), token=alice.token, client="10.0.0.9")
    assert (await other.start())[0] == 200
    for stream in [*streams, other]:
        await stream.disconnect()


@override_settings(CHAT={**settings.CHAT, "MAX_UNKNOWN_ROOM_SUBSCRIPTIONS": 2})
async def test_unknown_rooms_are_capped_per_client_address() -> None:
    """Each stream is a connection: the websocket's per-connection cap is per address here."""
    streams = [Stream(SSE_ACCEPT, subscribe_body(f"ghost-{n}")) for n in range(2)]
    for stream in streams:
        assert (await stream.start())[0] == 200
        assert await stream.chunk() == (b":\n\n", True)
    await wait_for(lambda: len(get_hub().rooms) == 2)
    refused = Stream(SSE_ACCEPT, subscribe_body("ghost-2"))
    assert (await refused.start())[0] == 200
    error = {
        "message": "Too many subscriptions to rooms that do not exist on this connection "
        "(at most 2).",
        "extensions": {"code": "TOO_MANY_UNKNOWN_ROOMS"},
    }
    assert await refused.rest() == (
        b":\n\n" + sse_next({"data": None, "errors": [error]}) + b"event: complete\ndata:\n\n"
    )
    await streams[0].disconnect()
    again = Stream(SSE_ACCEPT, subscribe_body("ghost-3"))
    assert (await again.start())[0] == 200
    assert await again.chunk() == (b":\n\n", True)
    await wait_for(lambda: len(get_hub().rooms) == 2)
    for stream in [streams[1], again]:
        await stream.disconnect()
    assert get_hub().rooms == {}


@pytest.mark.parametrize("accept", [SSE_ACCEPT, MULTIPART_ACCEPT], ids=["sse", "multipart"])
async def test_a_removed_member_s_stream_ends_with_forbidden(
    accept: bytes, alice: factories.Member, bob: factories.Member
) -> None:
    await in_thread(room_create)(name="secret", private=True, creator=alice.user)
    await in_thread(room_invite)(name="secret", username=bob.username, inviter=alice.user)
    stream = Stream(accept, subscribe_body("secret"), token=bob.token)
    assert (await stream.start())[0] == 200
    await stream.chunk()
    await wait_for(lambda: get_hub().rooms == {"secret": 1})
    await in_thread(room_member_remove)(name="secret", username=bob.username, remover=alice.user)
    forbidden = {
        "data": None,
        "errors": [
            {"message": "You are not a member of this room.", "extensions": {"code": "FORBIDDEN"}}
        ],
    }
    if accept == SSE_ACCEPT:
        expected = sse_next(forbidden) + b"event: complete\ndata:\n\n"
    else:
        expected = part(forbidden) + b"--\r\n"
    assert await stream.rest() == expected
    assert get_hub().rooms == {}


async def test_logout_ends_the_stream_with_unauthenticated(alice: factories.Member) -> None:
    from tests.conftest import GraphQLHttp

    stream = Stream(SSE_ACCEPT, subscribe_body("bye"), token=alice.token)
    assert (await stream.start())[0] == 200
    await stream.chunk()
    await wait_for(lambda: get_hub().rooms == {"bye": 1})
    assert await GraphQLHttp(alice.token)("mutation { logout }") == {"data": {"logout": True}}
    error = {"message": "Your session has ended.", "extensions": {"code": "UNAUTHENTICATED"}}
    ended = {"data": None, "errors": [error]}
    assert await stream.rest() == sse_next(ended) + b"event: complete\ndata:\n\n"
    assert get_hub().rooms == {}


@override_settings(CHAT={**settings.CHAT, "KEEPALIVE_SECONDS": 0.05})
@pytest.mark.parametrize("accept", [SSE_ACCEPT, MULTIPART_ACCEPT], ids=["sse", "multipart"])
async def test_heartbeats(accept: bytes) -> None:
    stream = Stream(accept, subscribe_body("quiet"))
    assert (await stream.start())[0] == 200
    # The first on opening, then the keepalive's.
    if accept == SSE_ACCEPT:
        beats = [b":\n\n"] * 3
    else:
        beats = [DELIMITER + HEARTBEAT, HEARTBEAT, HEARTBEAT]
    for beat in beats:
        assert await stream.chunk() == (beat, True)
    await stream.disconnect()
    await asyncio.sleep(0)


def streams_running() -> list[asyncio.Task[Any]]:
    """The operation tasks of HTTP streams (internals.httpstream) still running."""
    return [
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "") == "_Stream._run"
    ]


@pytest.mark.parametrize(
    "query", [SUBSCRIPTION, SUBSCRIPTION_STRAWBERRY], ids=["fast path", "strawberry"]
)
@pytest.mark.parametrize("point", POINTS)
async def test_a_stream_whose_client_goes_away_at_any_await_point_leaves_nothing(
    point: str, query: str, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """http.disconnect cancels the stream wherever it is (tests/test_leaks.py's points)."""
    room = f"gone-{abs(hash((point, query)))}"
    before = active()
    gate = None if point == "live" else gate_at(point, monkeypatch)
    after_seq = 0 if point == "replay" else None
    body = {"query": query, "variables": {"room": room, "afterSeq": after_seq}}
    stream = Stream(SSE_ACCEPT, body)
    assert (await stream.start())[0] == 200
    try:
        if gate is None:
            await wait_for(lambda: get_hub().rooms == {room: 1})
        else:
            await asyncio.wait_for(gate.reached.wait(), 10)
        (runner,) = streams_running()
        closing = asyncio.ensure_future(stream.disconnect())
        await wait_for(lambda: runner.cancelling() > 0)
    finally:
        if gate is not None:
            gate.open()
    await closing
    await wait_for(lambda: not streams_running())
    assert get_hub().rooms == {}
    assert active() == before
    await wait_for(lambda: group_subscribers(redis_server, room) == 0)


@override_settings(CHAT={**settings.CHAT, "PRESENCE_GRACE_SECONDS": 0.05})
async def test_inbox_and_signals_streams_release_groups_and_presence(
    redis_server: RedisServer, alice: factories.Member, bob: factories.Member
) -> None:
    from tests.conftest import GraphQLHttp
    from tests.schema.test_inbox import INBOX, activity, rooms_joined
    from tests.schema.test_signals import SEND, SIGNALS, presence

    await rooms_joined(alice, bob, rooms=("lobby", "hall"))
    before = active()
    inbox = Stream(SSE_ACCEPT, {"query": INBOX}, token=bob.token)
    signals = Stream(
        MULTIPART_ACCEPT, {"query": SIGNALS, "variables": {"room": "lobby"}}, token=bob.token
    )
    for stream in (inbox, signals):
        assert (await stream.start())[0] == 200
        await stream.chunk()
    assert await signals.chunk() == (part({"data": {"roomSignals": presence("bob", True)}}), True)
    groups = ["lobby", "hall", f"user.{bob.user.pk}"]
    await wait_for(lambda: [group_subscribers(redis_server, g) for g in groups] == [1, 1, 1])
    await GraphQLHttp(alice.token)(SEND, {"room": "hall", "text": "live"})
    assert await inbox.chunk() == (
        sse_next({"data": {"inbox": activity("hall", 1, "live", 1)}}),
        True,
    )
    # Alice watches the room: bob going offline is an event she gets.
    watcher = Stream(
        SSE_ACCEPT, {"query": SIGNALS, "variables": {"room": "lobby"}}, token=alice.token
    )
    assert (await watcher.start())[0] == 200
    assert await watcher.chunk() == (b":\n\n", True)
    assert await watcher.chunk() == (
        sse_next({"data": {"roomSignals": presence("alice", True)}}),
        True,
    )
    for stream in (inbox, signals):
        await stream.disconnect()
    assert await watcher.chunk() == (
        sse_next({"data": {"roomSignals": presence("bob", False)}}),
        True,
    )
    await watcher.disconnect()
    await wait_for(lambda: [group_subscribers(redis_server, g) for g in groups] == [0, 0, 0])
    assert get_hub().rooms == {}
    assert active() == before


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_session_cookie_authenticates_a_stream_until_logout(
    method: str, alice: factories.Member
) -> None:
    """As over HTTP: the session cookie, CSRF-checked on POST (GET is what a browser's
    EventSource sends, with no header of its own); logout ends the stream."""
    from tests.schema.test_auth import LOGIN, ME, post

    _, cookies = await post(LOGIN, {"u": "alice", "p": factories.PASSWORD})
    csrf = cookies["csrftoken"]
    cookie = [(b"cookie", f"sessionid={cookies['sessionid']}; csrftoken={csrf}".encode())]
    me = {"me": {"id": str(alice.user.pk), "username": "alice"}}
    room = subscribe_body("cookie")
    if method == "GET":
        query = urlencode({"query": room["query"], "variables": json.dumps(room["variables"])})
        stream = Stream(SSE_ACCEPT, method="GET", query_string=query, headers=cookie)
        asked = Stream(
            SSE_ACCEPT, method="GET", query_string=urlencode({"query": ME}), headers=cookie
        )
    else:
        with_csrf = [*cookie, (b"x-csrftoken", csrf.encode())]
        stream = Stream(SSE_ACCEPT, room, headers=with_csrf)
        asked = Stream(SSE_ACCEPT, {"query": ME}, headers=with_csrf)
    assert (await asked.start())[0] == 200
    assert await asked.rest() == b":\n\n" + sse_next({"data": me}) + b"event: complete\ndata:\n\n"
    assert (await stream.start())[0] == 200
    assert await stream.chunk() == (b":\n\n", True)
    await wait_for(lambda: get_hub().rooms == {"cookie": 1})
    logout = await post("mutation { logout }", cookie=cookie[0][1].decode(), csrf=csrf)
    assert logout[0] == {"data": {"logout": True}}
    error = {"message": "Your session has ended.", "extensions": {"code": "UNAUTHENTICATED"}}
    ended = sse_next({"data": None, "errors": [error]}) + b"event: complete\ndata:\n\n"
    assert await stream.rest() == ended
    assert get_hub().rooms == {}


@pytest.mark.parametrize("accept", [SSE_ACCEPT, MULTIPART_ACCEPT], ids=["sse", "multipart"])
async def test_cost_and_size_limits_refuse_before_execution(
    accept: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(settings.CHAT, "MAX_QUERY_COST", 1)
    query = 'subscription { costly: messageAdded(room: "limits") { seq text } }'
    stream = Stream(accept, {"query": query})
    assert (await stream.start())[0] == 200
    costly = {
        "message": "This operation would cost 3, more than the limit of 1: ask for fewer "
        "fields, aliases or smaller pages.",
        "locations": [{"line": 1, "column": 1}],
        "extensions": {"code": "QUERY_TOO_COMPLEX", "cost": 3, "maxCost": 1},
    }
    assert await stream.rest() == whole(accept, {"errors": [costly]})
    assert get_hub().rooms == {}
    large = Stream(accept, {"query": "{ __typename }" + " " * 70_000})
    assert (await large.start())[0] == 200
    too_large = {
        "message": "Document too large: 70014 bytes, the limit is 65536.",
        "extensions": {"code": "QUERY_TOO_LARGE", "bytes": 70014, "limit": 65536},
    }
    assert await large.rest() == whole(accept, {"errors": [too_large]})


def whole(accept: bytes, payload: dict[str, Any]) -> bytes:
    """A whole response of one result."""
    if accept == SSE_ACCEPT:
        return b":\n\n" + sse_next(payload) + b"event: complete\ndata:\n\n"
    return DELIMITER + HEARTBEAT + part(payload) + b"--\r\n"


@pytest.mark.parametrize("accept", [SSE_ACCEPT, MULTIPART_ACCEPT], ids=["sse", "multipart"])
async def test_an_operation_that_fails_ends_its_stream_with_an_internal_error(
    accept: bytes,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    fast_path_switch: Any,
) -> None:
    """The database gone under the fast path's access check: logged, the client told,
    nothing kept. Multipart: Apollo's transport error, `{"payload": null, "errors": [...]}`
    (Strawberry's path reports a resolver failure as a result instead)."""
    fast_path_switch(True)
    import internals.fastpaths.subscription
    import schema.subscriptions

    def down(**kwargs: Any) -> Any:
        raise RuntimeError("database gone")

    for module in (internals.fastpaths.subscription, schema.subscriptions):
        monkeypatch.setattr(module, "room_subscribe_check", down)
    stream = Stream(accept, subscribe_body("broken"))
    assert (await stream.start())[0] == 200
    error = {"message": "Internal server error.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
    if accept == SSE_ACCEPT:
        expected = whole(accept, {"data": None, "errors": [error]})
    else:
        failed = PART + json.dumps({"payload": None, "errors": [error]}).encode() + DELIMITER
        expected = DELIMITER + HEARTBEAT + failed + b"--\r\n"
    assert await stream.rest() == expected
    assert get_hub().rooms == {}
    assert [r.getMessage() for r in caplog.records if r.name == "internals.httpstream"][-2:] == [
        "stream operation failed",
        "stream closed",
    ]


APP = "http://localhost:5173"


@override_settings(CORS_ALLOWED_ORIGINS=[APP])
@pytest.mark.parametrize("accept", [SSE_ACCEPT, MULTIPART_ACCEPT], ids=["sse", "multipart"])
async def test_streams_carry_the_api_s_cors_headers(accept: bytes) -> None:
    """django-cors-headers' own decision (tests/test_cors.py), though streams bypass
    Django's middleware: an allowed origin reads the stream and its refusals, no other."""
    allowed = [(b"origin", APP.encode())]
    stream = Stream(accept, {"query": "{ __typename }"}, headers=allowed)
    status, headers = await stream.start()
    assert (status, headers[-2:]) == (
        200,
        [(b"vary", b"origin"), (b"access-control-allow-origin", APP.encode())],
    )
    await stream.rest()
    refused = Stream(accept, {"query": "{ __typename }"}, token="nope", headers=allowed)
    status, headers = await refused.start()
    assert (status, headers[-2:]) == (
        401,
        [(b"vary", b"origin"), (b"access-control-allow-origin", APP.encode())],
    )
    other = Stream(accept, {"query": "{ __typename }"}, headers=[(b"origin", b"http://evil.test")])
    status, headers = await other.start()
    assert (status, [h for h in headers if h[0].startswith(b"access-control-")]) == (200, [])
    await other.rest()


@pytest.mark.parametrize("accept", [SSE_ACCEPT, MULTIPART_ACCEPT], ids=["sse", "multipart"])
async def test_persisted_queries_and_the_allow_list_apply_to_streams(
    accept: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As over HTTP (tests/schema/test_persisted.py): a hash alone runs once its document
    is known; in allow-list mode a stream is no way around the list."""
    from schema.persisted import persisted_store_clear
    from tests.schema.test_persisted import APQ, NOT_ALLOWED, NOT_FOUND, QUERY, TYPENAME

    await persisted_store_clear()
    try:
        hash_only = Stream(accept, {"extensions": APQ})
        assert (await hash_only.start())[0] == 200
        assert await hash_only.rest() == whole(accept, NOT_FOUND)
        registered = Stream(accept, {"query": QUERY, "extensions": APQ})
        assert (await registered.start())[0] == 200
        assert await registered.rest() == whole(accept, TYPENAME)
        again = Stream(accept, {"extensions": APQ})
        assert (await again.start())[0] == 200
        assert await again.rest() == whole(accept, TYPENAME)

        monkeypatch.setitem(settings.CHAT, "PERSISTED_QUERIES_ONLY", True)
        other = Stream(accept, subscribe_body("listed"))
        assert (await other.start())[0] == 200
        assert await other.rest() == whole(accept, NOT_ALLOWED)
        assert get_hub().rooms == {}
    finally:
        await persisted_store_clear()


async def test_a_persisted_mutation_by_get_is_405() -> None:
    from schema.persisted import document_hash, persisted_store_clear

    mutation = 'mutation { sendMessage(room: "r", text: "x") { seq } }'
    apq = {"persistedQuery": {"version": 1, "sha256Hash": document_hash(mutation)}}
    await persisted_store_clear()
    try:
        known = Stream(SSE_ACCEPT, {"query": mutation, "extensions": apq})
        assert (await known.start())[0] == 200
        await known.rest()
        query = urlencode({"extensions": json.dumps(apq)})
        by_get = Stream(SSE_ACCEPT, method="GET", query_string=query)
        assert (await by_get.start())[0] == 405
        await by_get.rest()
    finally:
        await persisted_store_clear()
