from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator

from chat.models import AuthToken
from tests import factories
from tests.conftest import GraphQLHttp, GraphQLSocket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded, pytest.mark.contract]

REGISTER = """
mutation($u: String!, $p: String!) {
  register(username: $u, password: $p) { token user { id username } }
}
"""
LOGIN = """
mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) { token user { id username } }
}
"""
ME = "{ me { id username } }"


async def post(
    query: str,
    variables: dict[str, Any] | None = None,
    cookie: str | None = None,
    csrf: str | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """POST through the ASGI app; return the body and the cookies the response sets."""
    from project.asgi import application

    headers = [(b"content-type", b"application/json"), (b"host", b"localhost")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    if csrf:
        headers.append((b"x-csrftoken", csrf.encode()))
    communicator = HttpCommunicator(
        application,
        "POST",
        "/graphql/",
        body=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers=headers,
    )
    response = await communicator.get_response(timeout=10)
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(timeout=10)
    cookies = {}
    for name, value in response["headers"]:
        if name.lower() == b"set-cookie":
            key, _, rest = value.decode().partition("=")
            cookies[key] = rest.split(";", 1)[0]
    return json.loads(response["body"]), cookies


async def test_register_returns_user_and_working_token() -> None:
    body, cookies = await post(REGISTER, {"u": "carol", "p": factories.PASSWORD})
    payload = body["data"]["register"]
    token = await sync_to_async(AuthToken.objects.select_related("user").get)()
    assert payload["user"] == {"id": str(token.user.pk), "username": "carol"}
    assert len(payload["token"]) >= 40
    # Only a digest is stored.
    assert token.digest != payload["token"]
    assert set(cookies) >= {"sessionid"}
    assert await GraphQLHttp(payload["token"])(ME) == {"data": {"me": payload["user"]}}


async def test_login_logs_the_browser_session_in_for_http_and_websocket(
    alice: factories.Member, sockets: list[GraphQLSocket]
) -> None:
    body, cookies = await post(LOGIN, {"u": "alice", "p": factories.PASSWORD})
    me = {"id": str(alice.user.pk), "username": "alice"}
    assert body["data"]["login"]["user"] == me
    csrf = cookies["csrftoken"]
    session = f"sessionid={cookies['sessionid']}; csrftoken={csrf}"

    assert (await post(ME, cookie=session, csrf=csrf))[0] == {"data": {"me": me}}

    socket = GraphQLSocket(headers=[(b"host", b"localhost"), (b"cookie", session.encode())])
    sockets.append(socket)
    assert await socket.connect() == {"type": "connection_ack"}
    await socket.subscribe("q", ME)
    assert await socket.receive() == {"id": "q", "type": "next", "payload": {"data": {"me": me}}}

    assert (await post("mutation { logout }", cookie=session, csrf=csrf))[0] == {
        "data": {"logout": True}
    }
    assert (await post(ME, cookie=session, csrf=csrf))[0] == {"data": {"me": None}}


async def test_cookie_authenticated_post_without_csrf_token_is_refused(
    alice: factories.Member,
) -> None:
    from chat.models import Message

    _, cookies = await post(LOGIN, {"u": "alice", "p": factories.PASSWORD})
    session = f"sessionid={cookies['sessionid']}; csrftoken={cookies['csrftoken']}"
    send = 'mutation { sendMessage(room: "lobby", text: "forged") { seq } }'
    for csrf in (None, "wrong-token-wrong-token-wrong-token-wrong-token-wrong-token-12"):
        refused, _ = await post(send, cookie=session, csrf=csrf)
        assert refused == {
            "errors": [
                {
                    "message": "CSRF check failed: send the csrftoken cookie's value in the "
                    "X-CSRFToken header, or authenticate with a bearer token.",
                    "extensions": {"code": "FORBIDDEN"},
                }
            ]
        }
    assert await sync_to_async(Message.objects.count)() == 0
    accepted, _ = await post(send, cookie=session, csrf=cookies["csrftoken"])
    assert accepted == {"data": {"sendMessage": {"seq": 1}}}


async def test_logout_revokes_the_bearer_token(alice: factories.Member) -> None:
    http = GraphQLHttp(alice.token)
    assert await http(ME) == {"data": {"me": {"id": str(alice.user.pk), "username": "alice"}}}
    assert await http("mutation { logout }") == {"data": {"logout": True}}
    status, body = await http.post(ME)
    error = {"message": "Invalid or expired token.", "extensions": {"code": "UNAUTHENTICATED"}}
    # 200 under application/json: see tests/schema/test_http_conformance.py.
    assert (status, body) == (200, {"errors": [error]})
    assert await sync_to_async(AuthToken.objects.filter(revoked_at__isnull=False).count)() == 1


async def test_expired_token_is_refused(alice: factories.Member) -> None:
    from django.utils import timezone

    await sync_to_async(AuthToken.objects.update)(expires_at=timezone.now())
    status, body = await GraphQLHttp(alice.token).post(ME)
    error = {"message": "Invalid or expired token.", "extensions": {"code": "UNAUTHENTICATED"}}
    assert (status, body) == (200, {"errors": [error]})


async def test_me_is_null_when_anonymous() -> None:
    assert await GraphQLHttp()(ME) == {"data": {"me": None}}
