"""Credentials on open sockets: logout, revocation, expiry and deactivation close them."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any
from unittest.mock import ANY

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from websockets.typing import Subprotocol

from chat import services
from chat.models import AuthToken, Message
from tests import factories
from tests.conftest import GraphQLHttp, GraphQLSocket
from tests.daphne import Daphne
from tests.schema.test_auth import LOGIN, ME, post

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.contract]

SUB = 'subscription { messageAdded(room: "lobby") { seq text } }'
SEND = 'mutation($t: String!) { sendMessage(room: "lobby", text: $t) { seq text } }'
CLOSED = {"type": "websocket.close", "code": 4403, "reason": "Forbidden"}
ENDED = {"message": "Your session has ended.", "extensions": {"code": "UNAUTHENTICATED"}}
# A GraphQL request error: 200 under application/json (schema/httpspec.py).
TOKEN_REFUSED = (
    200,
    {
        "errors": [
            {"message": "Invalid or expired token.", "extensions": {"code": "UNAUTHENTICATED"}}
        ]
    },
)


async def subscribed(
    sockets: list[GraphQLSocket],
    protocol: str = "graphql-transport-ws",
    payload: dict[str, Any] | None = None,
    headers: Any = None,
) -> GraphQLSocket:
    socket = GraphQLSocket(protocol, headers=headers)
    sockets.append(socket)
    ack = await socket.connect(payload)
    assert ack == {"type": "connection_ack"}
    await socket.subscribe("1", SUB)
    return socket


async def assert_cut_off(socket: GraphQLSocket) -> None:
    """Closed with 4403; on legacy graphql-ws, its operation ends with UNAUTHENTICATED first."""
    if socket.protocol == "graphql-ws":
        assert await socket.receive() == {
            "id": "1",
            "type": "data",
            "payload": {"data": None, "errors": [ENDED]},
        }
        assert await socket.receive() == {"id": "1", "type": "complete"}
    assert await socket.receive_close() == CLOSED


async def assert_dead(socket: GraphQLSocket) -> None:
    """Nothing sent on it is executed any more."""
    await socket.send(
        {
            "id": "2",
            "type": "subscribe" if socket.protocol == "graphql-transport-ws" else "start",
            "payload": {"query": SEND, "variables": {"t": "after"}},
        }
    )
    await socket.assert_silent()
    assert not await sync_to_async(Message.objects.filter(text="after").exists)()


async def logout_on(socket: GraphQLSocket) -> None:
    """Send `logout` on the socket itself and assert its answer."""
    await socket.subscribe("out", "mutation { logout }")
    assert await socket.receive() == {
        "id": "out",
        "type": "next",
        "payload": {"data": {"logout": True}},
    }
    assert await socket.receive() == {"id": "out", "type": "complete"}


@pytest.fixture
def credential_notices_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every credential notice is lost, as when the channel layer drops a publish."""
    monkeypatch.setattr(
        services, "_credential_notice_publish", lambda **kwargs: None, raising=False
    )


@pytest.mark.parametrize("notices", ["delivered", "lost"])
async def test_token_revoked_over_http_closes_every_socket_it_authenticated(
    request: pytest.FixtureRequest,
    notices: str,
    sockets: list[GraphQLSocket],
    alice: factories.Member,
    bob: factories.Member,
) -> None:
    resync = 3600.0
    if notices == "lost":
        request.getfixturevalue("credential_notices_lost")
        resync = 0.2
    with override_settings(
        CHAT={**settings.CHAT, "RESYNC_SECONDS": resync, "KEEPALIVE_SECONDS": 0}
    ):
        token = {"authToken": alice.token}
        revoked = [
            await subscribed(sockets, protocol, token)
            for protocol in ("graphql-transport-ws", "graphql-ws")
        ]
        other = await subscribed(sockets, payload={"authToken": bob.token})
        assert await GraphQLHttp(alice.token)("mutation { logout }") == {"data": {"logout": True}}
        for socket in revoked:
            await assert_cut_off(socket)
            await assert_dead(socket)
        assert await GraphQLHttp(alice.token).post(ME) == TOKEN_REFUSED
        # Bob's socket is untouched.
        assert await GraphQLHttp(bob.token)(SEND, {"t": "still here"}) == {
            "data": {"sendMessage": {"seq": 1, "text": "still here"}}
        }
        assert await other.receive() == {
            "id": "1",
            "type": "next",
            "payload": {"data": {"messageAdded": {"seq": 1, "text": "still here"}}},
        }


async def login_session() -> tuple[str, str]:
    _, cookies = await post(LOGIN, {"u": "alice", "p": factories.PASSWORD})
    csrf = cookies["csrftoken"]
    return f"sessionid={cookies['sessionid']}; csrftoken={csrf}", csrf


async def test_http_logout_closes_the_cookie_sockets_of_that_session(
    sockets: list[GraphQLSocket], alice: factories.Member
) -> None:
    session, csrf = await login_session()
    headers = [(b"host", b"localhost"), (b"cookie", session.encode())]
    cut = [
        await subscribed(sockets, protocol, headers=headers)
        for protocol in ("graphql-transport-ws", "graphql-ws")
    ]
    # A token socket of the same user is another credential: it stays.
    token_socket = await subscribed(sockets, payload={"authToken": alice.token})
    assert (await post("mutation { logout }", cookie=session, csrf=csrf))[0] == {
        "data": {"logout": True}
    }
    for socket in cut:
        await assert_cut_off(socket)
        await assert_dead(socket)
    await token_socket.assert_silent()


@pytest.mark.parametrize("credential", ["token", "session"])
async def test_logout_over_a_websocket_revokes_what_authenticated_it_and_closes_it(
    credential: str, sockets: list[GraphQLSocket], alice: factories.Member
) -> None:
    if credential == "token":
        socket = await subscribed(sockets, payload={"authToken": alice.token})
    else:
        session, csrf = await login_session()
        headers = [(b"host", b"localhost"), (b"cookie", session.encode())]
        socket = await subscribed(sockets, headers=headers)
    await logout_on(socket)
    assert await socket.receive_close() == CLOSED
    await assert_dead(socket)
    if credential == "token":
        assert await GraphQLHttp(alice.token).post(ME) == TOKEN_REFUSED
    else:
        assert (await post(ME, cookie=session, csrf=csrf))[0] == {"data": {"me": None}}


async def test_deactivated_user_sockets_close(
    sockets: list[GraphQLSocket], alice: factories.Member
) -> None:
    socket = await subscribed(sockets, payload={"authToken": alice.token})
    legacy = await subscribed(sockets, "graphql-ws", payload={"authToken": alice.token})

    def deactivate() -> None:
        # As the admin does.
        alice.user.is_active = False
        alice.user.save()

    await sync_to_async(deactivate)()
    await assert_cut_off(socket)
    await assert_cut_off(legacy)
    await assert_dead(socket)


async def test_token_expiring_while_open_closes_the_socket(
    sockets: list[GraphQLSocket], alice: factories.Member
) -> None:
    with override_settings(CHAT={**settings.CHAT, "RESYNC_SECONDS": 3600, "KEEPALIVE_SECONDS": 0}):
        await sync_to_async(AuthToken.objects.filter(user=alice.user).update)(
            expires_at=timezone.now() + timedelta(seconds=1)
        )
        socket = await subscribed(sockets, payload={"authToken": alice.token})
        assert await socket.receive_close(timeout=5) == CLOSED
        await assert_dead(socket)


# Two daphne processes on one Redis and PostgreSQL (tests/conftest.py `quiet_daphnes`).


def http(daphne: Daphne, query: str, headers: dict[str, str]) -> tuple[int, Any, Any]:
    """POST to a daphne process: status, body and response headers."""
    request = urllib.request.Request(
        daphne.http_url,
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json", "Host": "localhost", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read()), response.headers
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers


async def ws_open(daphne: Daphne, payload: dict[str, Any], cookie: str | None = None) -> Any:
    headers = {"Cookie": cookie} if cookie else None
    ws = await websockets.connect(
        daphne.ws_url,
        subprotocols=[Subprotocol("graphql-transport-ws")],
        additional_headers=headers,
    )
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    assert json.loads(await ws.recv()) == {"type": "connection_ack"}
    return ws


async def assert_closed_4403(ws: Any) -> None:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None
    # daphne drops the ASGI reason; internals/writepath.close_with_reason carries it.
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4403, "Forbidden")


@pytest.mark.slow
async def test_logout_on_one_process_closes_its_sockets_on_every_process(
    quiet_daphnes: tuple[Daphne, ...], alice: factories.Member
) -> None:
    process_a, process_b = quiet_daphnes
    status, _, headers = await asyncio.to_thread(
        http,
        process_a,
        f'mutation {{ login(username: "alice", password: "{factories.PASSWORD}") {{ token }} }}',
        {},
    )
    assert status == 200
    cookies = dict(value.split(";", 1)[0].split("=", 1) for value in headers.get_all("Set-Cookie"))
    session = f"sessionid={cookies['sessionid']}; csrftoken={cookies['csrftoken']}"
    opened = []
    try:
        token_sockets = [
            await ws_open(daphne, {"authToken": alice.token}) for daphne in quiet_daphnes
        ]
        cookie_socket = await ws_open(process_b, {}, cookie=session)
        opened += [*token_sockets, cookie_socket]
        bearer = {"Authorization": f"Bearer {alice.token}"}
        assert await asyncio.to_thread(http, process_a, "mutation { logout }", bearer) == (
            200,
            {"data": {"logout": True}},
            ANY,
        )
        for ws in token_sockets:
            await assert_closed_4403(ws)
        assert (await asyncio.to_thread(http, process_b, ME, bearer))[:2] == TOKEN_REFUSED
        # The session is another credential: its socket stays until it logs out.
        await cookie_socket.send(
            json.dumps({"id": "q", "type": "subscribe", "payload": {"query": ME}})
        )
        assert json.loads(await asyncio.wait_for(cookie_socket.recv(), 5)) == {
            "id": "q",
            "type": "next",
            "payload": {"data": {"me": {"id": str(alice.user.pk), "username": "alice"}}},
        }
        assert json.loads(await asyncio.wait_for(cookie_socket.recv(), 5)) == {
            "id": "q",
            "type": "complete",
        }
        by_cookie = {"Cookie": session, "X-CSRFToken": cookies["csrftoken"]}
        assert (await asyncio.to_thread(http, process_a, "mutation { logout }", by_cookie))[:2] == (
            200,
            {"data": {"logout": True}},
        )
        await assert_closed_4403(cookie_socket)
        assert (await asyncio.to_thread(http, process_b, ME, by_cookie))[:2] == (
            200,
            {"data": {"me": None}},
        )
    finally:
        for ws in opened:
            await ws.close()


@pytest.mark.parametrize("how", ["revoked over HTTP", "deactivated", "logout on the socket"])
async def test_a_socket_that_signed_in_by_mutation_is_cut_off_like_any_other(
    how: str, sockets: list[GraphQLSocket], alice: factories.Member
) -> None:
    # An anonymous socket that runs `login` acts as that user from then on: the token the
    # login issued is what authenticates it, and revoking it (or banning the user) ends it.
    with override_settings(CHAT={**settings.CHAT, "RESYNC_SECONDS": 3600, "KEEPALIVE_SECONDS": 0}):
        socket = await subscribed(sockets)
        await socket.subscribe(
            "login",
            LOGIN,
            {"u": "alice", "p": factories.PASSWORD},
        )
        reply = await socket.receive()
        token = reply["payload"]["data"]["login"]["token"]
        assert await socket.receive() == {"id": "login", "type": "complete"}
        if how == "revoked over HTTP":
            assert await GraphQLHttp(token)("mutation { logout }") == {"data": {"logout": True}}
        elif how == "deactivated":
            alice.user.is_active = False
            await sync_to_async(alice.user.save)()
        else:
            await logout_on(socket)
        await assert_cut_off(socket)
        await assert_dead(socket)
        assert await GraphQLHttp(token).post(ME) == TOKEN_REFUSED
