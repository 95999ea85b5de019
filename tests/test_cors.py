"""CORS for browser apps served from other origins (issue 15, item 4): django-cors-headers on
/graphql/ only, preflights cached, no credentials unless configured; the websocket accepts
those origins without their cookies. (Chromium from a second origin:
tests/frontend/test_cors.py.)"""

from __future__ import annotations

from typing import Any

import pytest
from channels.testing import HttpCommunicator
from django.conf import settings
from django.test import override_settings

from tests.conftest import GraphQLSocket
from tests.test_hardening import me, socket_as, victim_cookie  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)

APP = "http://localhost:5173"
PREFLIGHT = [
    (b"origin", APP.encode()),
    (b"access-control-request-method", b"POST"),
    (b"access-control-request-headers", b"authorization,content-type"),
]


async def request(
    method: str, path: str, headers: list[tuple[bytes, bytes]]
) -> tuple[int, dict[str, str]]:
    from project.asgi import application

    communicator = HttpCommunicator(
        application, method, path, headers=[(b"host", b"localhost"), *headers]
    )
    response = await communicator.get_response(timeout=10)
    await communicator.wait(timeout=10)
    return response["status"], {k.decode().lower(): v.decode() for k, v in response["headers"]}


def cors_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.startswith("access-control-")}


@pytest.mark.embedded
@override_settings(CORS_ALLOWED_ORIGINS=[APP])
async def test_preflight_from_an_allowed_origin_is_answered_and_cached() -> None:
    status, headers = await request("OPTIONS", "/graphql/", PREFLIGHT)
    assert status == 200
    assert cors_headers(headers) == {
        "access-control-allow-origin": APP,
        "access-control-allow-headers": "accept, authorization, content-type, user-agent, "
        "x-csrftoken, x-requested-with",
        "access-control-allow-methods": "DELETE, GET, OPTIONS, PATCH, POST, PUT",
        "access-control-max-age": "7200",
    }
    assert headers["vary"] == "origin"


@pytest.mark.embedded
@override_settings(CORS_ALLOWED_ORIGINS=[APP])
async def test_other_origins_and_other_paths_get_no_cors_headers() -> None:
    other = [(b"origin", b"http://evil.test:5173"), *PREFLIGHT[1:]]
    status, headers = await request("OPTIONS", "/graphql/", other)
    # Not a preflight answered by CORS: the view's own answer, which grants nothing.
    assert cors_headers(headers) == {}
    status, headers = await request("OPTIONS", "/chat/", PREFLIGHT)
    assert cors_headers(headers) == {}
    status, headers = await request("GET", "/healthz", [(b"origin", APP.encode())])
    assert (status, cors_headers(headers)) == (200, {})


@pytest.mark.embedded
@override_settings(CORS_ALLOWED_ORIGINS=[APP])
async def test_an_allowed_origins_request_without_credentials() -> None:
    status, headers = await request(
        "GET", "/graphql/?query=%7B__typename%7D", [(b"origin", APP.encode())]
    )
    assert status == 200
    assert cors_headers(headers) == {"access-control-allow-origin": APP}


@pytest.mark.embedded
@override_settings(CORS_ALLOWED_ORIGINS=[APP], CORS_ALLOW_CREDENTIALS=True)
async def test_credentials_only_when_configured() -> None:
    status, headers = await request("OPTIONS", "/graphql/", PREFLIGHT)
    assert (status, cors_headers(headers)["access-control-allow-credentials"]) == (200, "true")


@pytest.mark.embedded
async def test_websocket_from_a_cors_origin_is_accepted_without_its_cookie(
    sockets: list[GraphQLSocket],
    victim_cookie: bytes,  # noqa: F811
) -> None:
    host, origin = b"localhost:8000", APP.encode()
    assert await socket_as(sockets, victim_cookie, host, origin) is None
    with override_settings(CORS_ALLOWED_ORIGINS=[APP]):
        socket = await socket_as(sockets, victim_cookie, host, origin)
        assert socket is not None
        # The page's cookie is not its own to use: anonymous.
        assert await me(socket) == {"data": {"me": None}}
        assert await socket_as(sockets, victim_cookie, host, b"http://localhost:5174") is None
    # Trusted with credentials (what CHAT_CORS_ALLOW_CREDENTIALS adds in settings).
    with override_settings(CORS_ALLOWED_ORIGINS=[APP], CSRF_TRUSTED_ORIGINS=[APP]):
        socket = await socket_as(sockets, victim_cookie, host, origin)
        assert socket is not None
        assert await me(socket) == {"data": {"me": {"username": "alice"}}}


class SyncOnly:
    """A middleware Django must run in a thread: the check below sees it."""

    sync_capable, async_capable = True, False

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        return self.get_response(request)


def adapted_middleware(caplog: pytest.LogCaptureFixture, stack: list[str]) -> list[str]:
    """What Django logs (with DEBUG on) of each thread hop it adds loading ``stack``."""
    from internals.asgihandler import ChatASGIHandler

    caplog.clear()
    with override_settings(DEBUG=True, MIDDLEWARE=stack):
        with caplog.at_level("DEBUG", logger="django.request"):
            ChatASGIHandler()
    return [r.getMessage() for r in caplog.records if "adapted" in r.getMessage()]


@pytest.mark.embedded
def test_the_cors_middleware_runs_on_the_event_loop(caplog: pytest.LogCaptureFixture) -> None:
    # django-cors-headers is async-native: no thread hop, as project/middleware.py's hooks.
    stack = settings.MIDDLEWARE
    assert stack[1] == "corsheaders.middleware.CorsMiddleware"
    assert adapted_middleware(caplog, stack) == []
    # What a middleware that is not would cost.
    assert adapted_middleware(caplog, [*stack, "tests.test_cors.SyncOnly"]) == [
        "Asynchronous handler adapted for middleware tests.test_cors.SyncOnly.",
        "Synchronous handler adapted for middleware project.middleware.XFrameOptionsMiddleware.",
    ]
