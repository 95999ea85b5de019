"""Login and register under abuse: hashing off the shared threads, attempts throttled in Redis."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from django.test import override_settings

import project.asgi  # noqa: F401  (its django.setup reconfigures logging: before caplog)
from chat.models import Message
from tests import factories
from tests.conftest import GraphQLHttp, GraphQLSocket, wait_for
from tests.daphne import Daphne, daphne_env, start_daphne
from tests.servers import PostgresServer, RedisServer

pytestmark = pytest.mark.django_db(transaction=True)

LOGIN = (
    "mutation($u: String!, $p: String!) "
    "{ login(username: $u, password: $p) { user { id username } } }"
)
REGISTER = (
    "mutation($u: String!, $p: String!) "
    "{ register(username: $u, password: $p) { user { username } } }"
)
SEND = 'mutation($t: String!) { sendMessage(room: "lobby", text: $t) { seq text } }'
WRONG = "not the password at all"


def throttled(**limits: Any) -> Any:
    """Settings with the given CHAT limits, others at their defaults; the client IP from
    X-Forwarded-For."""
    return override_settings(
        CHAT={**settings.CHAT, "CLIENT_IP_HEADER": "X-Forwarded-For", **limits}
    )


def forwarded(ip: str) -> list[tuple[bytes, bytes]]:
    return [(b"x-forwarded-for", f"203.0.113.9, {ip}".encode())]


def unauthenticated(field: str = "login") -> dict[str, Any]:
    return {
        "data": None,
        "errors": [
            {
                "message": "Invalid username or password.",
                "locations": [{"line": 1, "column": LOGIN.index(field) + 1}],
                "path": [field],
                "extensions": {"code": "UNAUTHENTICATED"},
            }
        ],
    }


# Limits count in fixed windows: an hour-long one makes a test crossing a window's end
# (and so starting its count over) unlikely.
WINDOW = 3600


def assert_rate_limited(body: dict[str, Any], field: str, query: str) -> int:
    """Assert the whole RATE_LIMITED answer; return its retryAfter."""
    retry = body["errors"][0]["extensions"].get("retryAfter")
    assert isinstance(retry, int) and 1 <= retry <= WINDOW, body
    assert body == {
        "data": None,
        "errors": [
            {
                "message": f"Too many attempts; try again in {retry} seconds.",
                "locations": [{"line": 1, "column": query.index(field) + 1}],
                "path": [field],
                "extensions": {"code": "RATE_LIMITED", "retryAfter": retry},
            }
        ],
    }
    return retry


async def login(username: str, password: str, ip: str = "198.51.100.1") -> dict[str, Any]:
    return await GraphQLHttp()(LOGIN, {"u": username, "p": password}, headers=forwarded(ip))


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URLS[0])


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[threading.Event, threading.Event]]:
    """Hold every password check at its start until released."""
    entered, release = threading.Event(), threading.Event()
    verify = PBKDF2PasswordHasher.verify

    def gated(self: PBKDF2PasswordHasher, password: str, encoded: str) -> bool:
        entered.set()
        assert release.wait(30)
        return verify(self, password, encoded)

    monkeypatch.setattr(PBKDF2PasswordHasher, "verify", gated)
    yield entered, release
    release.set()


async def test_a_login_being_hashed_holds_up_no_one_else(
    alice: factories.Member, bob: factories.Member, gate: tuple[threading.Event, threading.Event]
) -> None:
    entered, release = gate
    signing_in = asyncio.create_task(GraphQLHttp()(LOGIN, {"u": "alice", "p": factories.PASSWORD}))
    await wait_for(entered.is_set)
    # The hash is held; neither the ORM thread nor the event loop is.
    sent = await asyncio.wait_for(GraphQLHttp(bob.token)(SEND, {"t": "meanwhile"}), 10)
    assert sent == {"data": {"sendMessage": {"seq": 1, "text": "meanwhile"}}}
    assert not signing_in.done()
    release.set()
    assert await signing_in == {
        "data": {"login": {"user": {"id": str(alice.user.pk), "username": "alice"}}}
    }


async def test_a_full_hash_queue_refuses_at_once(
    alice: factories.Member, gate: tuple[threading.Event, threading.Event]
) -> None:
    entered, release = gate
    with throttled(PASSWORD_HASH_THREADS=1, PASSWORD_HASH_QUEUE=0):
        from chat import signin

        signin._pool_reset()
        try:
            first = asyncio.create_task(login("alice", factories.PASSWORD))
            await wait_for(entered.is_set)
            body = await asyncio.wait_for(login("bob", WRONG), 10)
            assert body == {
                "data": None,
                "errors": [
                    {
                        "message": "Too many sign-ins in progress; try again in a second.",
                        "locations": [{"line": 1, "column": LOGIN.index("login") + 1}],
                        "path": ["login"],
                        "extensions": {"code": "RATE_LIMITED", "retryAfter": 1},
                    }
                ],
            }
            release.set()
            assert (await first)["data"]["login"]["user"]["username"] == "alice"
        finally:
            signin._pool_reset()


async def test_wrong_logins_over_http_are_throttled_per_ip_then_per_username(
    alice: factories.Member, bob: factories.Member
) -> None:
    with throttled(LOGIN_RATE_LIMIT_IP=(3, WINDOW), LOGIN_RATE_LIMIT_USER=(4, WINDOW)):
        for _ in range(3):
            assert await login("alice", WRONG, "198.51.100.1") == unauthenticated()
        assert_rate_limited(await login("alice", WRONG, "198.51.100.1"), "login", LOGIN)
        # Refused even with the right password: the limit is on attempts.
        assert_rate_limited(
            await login("alice", factories.PASSWORD, "198.51.100.1"), "login", LOGIN
        )
        # Another client is served (its own per-IP count) ...
        assert await login("bob", WRONG, "198.51.100.2") == unauthenticated()
        # ... but not for alice, who has had 5 attempts.
        assert_rate_limited(
            await login("alice", factories.PASSWORD, "198.51.100.2"), "login", LOGIN
        )
        # Counted in Redis, which every process shares.
        client = _redis()
        prefix = settings.CHAT["REDIS_PREFIX"]
        keys = sorted(key.decode() for key in client.scan_iter(f"{prefix}:rate:login:*"))
        assert [re.sub(r"[0-9a-f]{32}", "<user>", re.sub(r":\d+$", "", k)) for k in keys] == [
            f"{prefix}:rate:login:ip:198.51.100.1",
            f"{prefix}:rate:login:ip:198.51.100.2",
            f"{prefix}:rate:login:user:<user>",
            f"{prefix}:rate:login:user:<user>",
        ]
        assert sorted(int(client.get(k) or 0) for k in keys) == [1, 2, 5, 6]


async def test_an_unknown_username_is_answered_and_counted_like_a_wrong_password(
    alice: factories.Member,
) -> None:
    with throttled(LOGIN_RATE_LIMIT_IP=(0, WINDOW), LOGIN_RATE_LIMIT_USER=(2, WINDOW)):
        for name in ("alice", "nobody"):
            assert await login(name, WRONG) == unauthenticated()
            assert await login(name, WRONG) == unauthenticated()
            assert_rate_limited(await login(name, WRONG), "login", LOGIN)


async def test_wrong_logins_over_a_websocket_are_throttled(
    alice: factories.Member, sockets: list[GraphQLSocket]
) -> None:
    with throttled(LOGIN_RATE_LIMIT_IP=(2, WINDOW)):
        socket = GraphQLSocket(headers=[(b"host", b"localhost"), *forwarded("198.51.100.7")])
        sockets.append(socket)
        assert await socket.connect() == {"type": "connection_ack"}
        replies = []
        for n in range(3):
            await socket.subscribe(str(n), LOGIN, {"u": "alice", "p": WRONG})
            replies.append((await socket.receive())["payload"])
            assert await socket.receive() == {"id": str(n), "type": "complete"}
        assert replies[:2] == [unauthenticated(), unauthenticated()]
        assert_rate_limited(replies[2], "login", LOGIN)


async def test_registrations_are_throttled_per_ip() -> None:
    with throttled(REGISTER_RATE_LIMIT_IP=(2, WINDOW)):
        http = GraphQLHttp()
        for name in ("carol", "dave"):
            body = await http(
                REGISTER, {"u": name, "p": factories.PASSWORD}, headers=forwarded("198.51.100.3")
            )
            assert body == {"data": {"register": {"user": {"username": name}}}}
        body = await http(
            REGISTER, {"u": "erin", "p": factories.PASSWORD}, headers=forwarded("198.51.100.3")
        )
        assert_rate_limited(body, "register", REGISTER)
        body = await http(
            REGISTER, {"u": "erin", "p": factories.PASSWORD}, headers=forwarded("198.51.100.4")
        )
        assert body == {"data": {"register": {"user": {"username": "erin"}}}}


async def _admin(
    method: str, body: bytes = b"", cookie: str = "", ip: str = "198.51.100.5"
) -> tuple[int, dict[bytes, bytes], bytes]:
    from project.asgi import application

    headers = [(b"host", b"localhost"), *forwarded(ip)]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    if body:
        headers.append((b"content-type", b"application/x-www-form-urlencoded"))
    communicator = HttpCommunicator(
        application, method, "/admin/login/", body=body, headers=headers
    )
    response = await communicator.get_response(timeout=10)
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(timeout=10)
    return response["status"], dict(response["headers"]), response["body"]


async def test_admin_login_is_throttled(alice: factories.Member) -> None:
    with throttled(LOGIN_RATE_LIMIT_IP=(2, WINDOW)):
        status, headers, page = await _admin("GET")
        assert status == 200
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()  # type: ignore[union-attr]
        cookie = re.search(rb"csrftoken=([^;]+)", headers[b"Set-Cookie"]).group(1).decode()  # type: ignore[union-attr]
        form = urlencode({"username": "alice", "password": WRONG, "csrfmiddlewaretoken": token})
        for _ in range(2):
            status, _, page = await _admin("POST", form.encode(), f"csrftoken={cookie}")
            assert status == 200 and b"Please enter the correct username" in page
        status, headers, page = await _admin("POST", form.encode(), f"csrftoken={cookie}")
        assert status == 429
        assert 1 <= int(headers[b"Retry-After"]) <= WINDOW
        assert page.startswith(b"Too many attempts; try again in ")
        # The chat's login counts the same attempts.
        assert_rate_limited(
            await login("alice", factories.PASSWORD, "198.51.100.5"), "login", LOGIN
        )
    assert await sync_to_async(Message.objects.count)() == 0


async def test_a_hash_made_with_outdated_settings_is_upgraded_at_login(
    alice: factories.Member,
) -> None:
    old = PBKDF2PasswordHasher().encode(factories.PASSWORD, "salt1234", iterations=1000)
    await sync_to_async(type(alice.user).objects.filter(pk=alice.user.pk).update)(password=old)
    body = await login("alice", factories.PASSWORD)
    assert body == {"data": {"login": {"user": {"id": str(alice.user.pk), "username": "alice"}}}}
    await sync_to_async(alice.user.refresh_from_db)()
    algorithm, iterations, _, _ = alice.user.password.split("$")
    assert (algorithm, int(iterations)) == ("pbkdf2_sha256", PBKDF2PasswordHasher.iterations)
    assert await sync_to_async(alice.user.check_password)(factories.PASSWORD)


@pytest.mark.slow  # kills Redis
async def test_without_redis_logins_are_served_unthrottled(
    alice: factories.Member, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="chat.ratelimit")
    with throttled(LOGIN_RATE_LIMIT_IP=(1, WINDOW), LOGIN_RATE_LIMIT_USER=(1, WINDOW)):
        with redis_server.killed():
            assert await login("alice", WRONG) == unauthenticated()
            assert await login("alice", WRONG) == unauthenticated()
            body = await login("alice", factories.PASSWORD)
            assert body["data"]["login"]["user"]["username"] == "alice"
    warnings = {r.getMessage() for r in caplog.records if r.levelname == "WARNING"}
    assert "login rate limit check skipped: Redis unavailable" in warnings


def _wrong_login(daphne: Daphne) -> dict[str, Any]:
    data = json.dumps({"query": LOGIN, "variables": {"u": "alice", "p": WRONG}}).encode()
    request = urllib.request.Request(
        daphne.http_url, data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


@pytest.mark.slow
async def test_the_per_username_limit_holds_across_processes(
    alice: factories.Member, redis_server: RedisServer, postgres_server: PostgresServer
) -> None:
    env = daphne_env(
        redis_server,
        postgres_server,
        connection.settings_dict["NAME"],
        CHAT_LOGIN_RATE_LIMIT_USER=f"3/{WINDOW}",
    )
    pair = (start_daphne(env), start_daphne(env))
    try:
        bodies = [await asyncio.to_thread(_wrong_login, pair[n % 2]) for n in range(4)]
    finally:
        for daphne in pair:
            daphne.stop()
    assert bodies[:3] == [unauthenticated()] * 3
    assert_rate_limited(bodies[3], "login", LOGIN)
