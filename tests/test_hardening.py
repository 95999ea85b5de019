"""Production hardening (issue 11, item 9): TLS cookies and HSTS, proxy settings, CSP,
the websocket Origin check, /metrics, and the developer aids off in production."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings
from websockets.typing import Subprotocol

from tests import factories
from tests.conftest import GraphQLHttp, GraphQLSocket
from tests.daphne import ROOT, Daphne, daphne_env, start_daphne
from tests.servers import PostgresServer, RedisServer

pytestmark = pytest.mark.django_db(transaction=True)

ACK = {"type": "connection_ack"}
REGISTER = "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { user { username } } }"  # noqa: E501
PASSWORD = "correct horse battery staple"
INTROSPECTION = "{ __schema { queryType { name } } }"
INTROSPECTION_REFUSED = [
    {
        "message": "GraphQL introspection has been disabled, but the requested query "
        f"contained the field '{field}'.",
        "locations": [{"line": 1, "column": column}],
        "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
    }
    for field, column in (("__schema", 3), ("queryType", 14))
]
TYPO = '{ mee { username } room(nam: "x") { name } }'


def typo_errors(suggestions: bool) -> list[dict[str, Any]]:
    field, argument = (
        "Cannot query field 'mee' on type 'Query'.",
        ("Unknown argument 'nam' on field 'Query.room'."),
    )
    if suggestions:
        field += " Did you mean 'me'?"
        argument += " Did you mean 'name'?"
    return [
        {
            "message": field,
            "locations": [{"line": 1, "column": 3}],
            "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
        },
        {
            "message": argument,
            "locations": [{"line": 1, "column": 25}],
            "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
        },
        {
            "message": "Argument 'Query.room(name:)' of type 'String!' is required, but it "
            "was not provided.",
            "locations": [{"line": 1, "column": 20}],
            "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
        },
    ]


# --- Settings from the environment -------------------------------------------------------

DUMP = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "session_secure": s.SESSION_COOKIE_SECURE, "csrf_secure": s.CSRF_COOKIE_SECURE,
    "hsts": s.SECURE_HSTS_SECONDS, "proxy": s.SECURE_PROXY_SSL_HEADER,
    "trusted": s.CSRF_TRUSTED_ORIGINS,
    **{k.lower(): s.CHAT[k] for k in
       ("METRICS_ENABLED", "METRICS_TOKEN", "GRAPHIQL", "INTROSPECTION", "SUGGESTIONS")},
}))
"""


def settings_with(**env: str) -> dict[str, Any]:
    base = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DJANGO_SECRET_KEY": "test-secret",
    }
    result = subprocess.run(
        [sys.executable, "-c", DUMP],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.mark.slow
@pytest.mark.embedded
def test_production_defaults_and_their_settings() -> None:
    assert settings_with(DJANGO_DEBUG="0") == {
        "session_secure": True,
        "csrf_secure": True,
        "hsts": 31536000,
        "proxy": None,
        "trusted": [],
        "metrics_enabled": False,
        "metrics_token": "",
        "graphiql": False,
        "introspection": False,
        "suggestions": False,
    }
    assert settings_with(
        DJANGO_DEBUG="0",
        DJANGO_SECURE_COOKIES="0",
        DJANGO_HSTS_SECONDS="0",
        DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://app.example.com, https://*.example.org",
        CHAT_METRICS_TOKEN="s3cret",
        CHAT_GRAPHIQL="1",
        CHAT_INTROSPECTION="1",
        CHAT_SUGGESTIONS="1",
    ) == {
        "session_secure": False,
        "csrf_secure": False,
        "hsts": 0,
        "proxy": ["HTTP_X_FORWARDED_PROTO", "https"],
        "trusted": ["https://app.example.com", "https://*.example.org"],
        "metrics_enabled": True,
        "metrics_token": "s3cret",
        "graphiql": True,
        "introspection": True,
        "suggestions": True,
    }
    assert settings_with(DJANGO_DEBUG="1") == {
        "session_secure": False,
        "csrf_secure": False,
        "hsts": 0,
        "proxy": None,
        "trusted": [],
        "metrics_enabled": True,
        "metrics_token": "",
        "graphiql": True,
        "introspection": True,
        "suggestions": True,
    }


# --- A production-like daphne: DJANGO_DEBUG=0 behind a TLS-terminating proxy -------------


@pytest.fixture(scope="module")
def production(
    django_db_setup: None, redis_server: RedisServer, postgres_server: PostgresServer
) -> Iterator[Daphne]:
    env = daphne_env(
        redis_server,
        postgres_server,
        connection.settings_dict["NAME"],
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="test-secret",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,chat.example.com",
        DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
    )
    for name in ("CHAT_METRICS_TOKEN", "CHAT_METRICS_ENABLED"):
        env.pop(name, None)
    daphne = start_daphne(env)
    yield daphne
    daphne.stop()


def request(
    daphne: Daphne, method: str, path: str, body: Any = None, **headers: str
) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", daphne.port, timeout=30)
    try:
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"Host": "chat.example.com", **headers}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        connection.request(method, path, body=data, headers=all_headers)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


HTTPS = {"X-Forwarded-Proto": "https"}


@pytest.mark.slow
def test_https_gets_hsts_and_secure_cookies_plain_http_no_hsts(production: Daphne) -> None:
    status, headers, _ = request(production, "GET", "/chat/", **HTTPS)
    assert (status, headers["Strict-Transport-Security"]) == (200, "max-age=31536000")
    status, headers, _ = request(production, "GET", "/chat/")
    assert (status, headers["Strict-Transport-Security"]) == (200, None)

    body = {"query": REGISTER, "variables": {"u": "carol", "p": PASSWORD}}
    status, headers, content = request(production, "POST", "/graphql/", body, **HTTPS)
    assert (status, json.loads(content)) == (
        200,
        {"data": {"register": {"user": {"username": "carol"}}}},
    )
    cookies = {c.split("=", 1)[0]: c for c in headers.get_all("Set-Cookie") or []}
    assert "; Secure" in cookies["sessionid"]
    assert "; HttpOnly" in cookies["sessionid"]


@pytest.mark.slow
def test_production_turns_off_metrics_graphiql_introspection_and_suggestions(
    production: Daphne,
) -> None:
    assert request(production, "GET", "/metrics")[0] == 404
    assert request(production, "GET", "/graphql/", Accept="text/html")[0] == 404

    status, _, content = request(production, "POST", "/graphql/", {"query": INTROSPECTION})
    assert (status, json.loads(content)) == (200, {"data": None, "errors": INTROSPECTION_REFUSED})
    status, _, content = request(production, "POST", "/graphql/", {"query": TYPO})
    assert (status, json.loads(content)) == (
        200,
        {"data": None, "errors": typo_errors(suggestions=False)},
    )


@pytest.mark.slow
async def test_production_turns_off_introspection_and_suggestions_over_websockets(
    production: Daphne,
) -> None:
    typo = 'subscription { messageAdded(rom: "x") { seq } }'
    typo_refused = [
        {
            "message": "Unknown argument 'rom' on field 'Subscription.messageAdded'.",
            "locations": [{"line": 1, "column": 29}],
            "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
        },
        {
            "message": "Argument 'Subscription.messageAdded(room:)' of type 'String!' is "
            "required, but it was not provided.",
            "locations": [{"line": 1, "column": 16}],
            "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
        },
    ]
    # Legacy graphql-ws runs subscriptions only.
    cases = {
        "graphql-transport-ws": [
            ("1", INTROSPECTION, INTROSPECTION_REFUSED),
            ("2", TYPO, typo_errors(suggestions=False)),
            ("3", typo, typo_refused),
        ],
        "graphql-ws": [("3", typo, typo_refused)],
    }
    for protocol, operations in cases.items():
        async with websockets.connect(
            production.ws_url, subprotocols=[Subprotocol(protocol)]
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            assert json.loads(await ws.recv()) == ACK
            kind = "subscribe" if protocol == "graphql-transport-ws" else "start"
            for op_id, query, errors in operations:
                await ws.send(json.dumps({"id": op_id, "type": kind, "payload": {"query": query}}))
                reply = json.loads(await ws.recv())
                if protocol == "graphql-transport-ws":
                    assert reply == {"id": op_id, "type": "error", "payload": errors}
                else:  # graphql-ws sends the first error only
                    assert reply == {"id": op_id, "type": "error", "payload": errors[0]}


@pytest.mark.embedded
async def test_developer_aids_follow_their_settings(gql: GraphQLHttp) -> None:
    # Distinct documents per setting: validation results are cached per document.
    chat = settings.CHAT
    with override_settings(CHAT={**chat, "INTROSPECTION": True, "SUGGESTIONS": True}):
        assert await gql("{ __schema { queryType { name } } }") == {
            "data": {"__schema": {"queryType": {"name": "Query"}}}
        }
        assert await gql(TYPO) == {"data": None, "errors": typo_errors(suggestions=True)}
    with override_settings(CHAT={**chat, "INTROSPECTION": False, "SUGGESTIONS": False}):
        assert await gql(INTROSPECTION + " ") == {"data": None, "errors": INTROSPECTION_REFUSED}
        assert await gql(TYPO + " ") == {"data": None, "errors": typo_errors(suggestions=False)}
        # __typename is not introspection: clients (Apollo) add it everywhere.
        assert await gql("{ __typename }") == {"data": {"__typename": "Query"}}


# --- Content-Security-Policy ----------------------------------------------------------------


async def get(path: str, host: bytes = b"localhost") -> dict[str, Any]:
    from project.asgi import application

    headers = [(b"host", host), (b"accept", b"text/html")]
    communicator = HttpCommunicator(application, "GET", path, headers=headers)
    response = await communicator.get_response(timeout=10)
    await communicator.wait(timeout=10)
    return {
        "status": response["status"],
        **{k.decode(): v.decode() for k, v in response["headers"]},
    }


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self' ws://localhost; worker-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@pytest.mark.embedded
async def test_pages_carry_a_content_security_policy() -> None:
    for path in ("/chat/", "/chat/lobby/", "/admin/login/"):
        response = await get(path)
        assert (response["status"], response["Content-Security-Policy"]) == (200, CSP), path
    # GraphiQL's editor (Monaco) injects style elements: inline styles there, nowhere else.
    with override_settings(CHAT={**settings.CHAT, "GRAPHIQL": True}):
        response = await get("/graphql/")
    assert response["status"] == 200
    assert response["Content-Security-Policy"] == CSP.replace(
        "style-src 'self'", "style-src 'self' 'unsafe-inline'"
    )
    with override_settings(CHAT={**settings.CHAT, "GRAPHIQL": False}):
        assert (await get("/graphql/"))["status"] == 404
    # Error pages too, except Django's DEBUG ones, which are inline styles and scripts.
    response = await get("/chat/no/such/page/")
    assert (response["status"], response["Content-Security-Policy"]) == (404, CSP)
    with override_settings(DEBUG=True):
        response = await get("/chat/no/such/page/")
    assert (response["status"], "Content-Security-Policy" in response) == (404, False)


# --- Websocket Origin: scheme, host and port ------------------------------------------------


@pytest.fixture
async def victim_cookie(alice: factories.Member) -> bytes:
    client = Client()
    await sync_to_async(client.force_login)(alice.user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def socket_as(
    sockets: list[GraphQLSocket], cookie: bytes, host: bytes, origin: bytes | None, **extra: bytes
) -> GraphQLSocket | None:
    headers = [(b"host", host), (b"cookie", cookie)]
    if origin is not None:
        headers.append((b"origin", origin))
    headers += [(name.replace("_", "-").encode(), value) for name, value in extra.items()]
    socket = GraphQLSocket(headers=headers)
    sockets.append(socket)
    connected, code = await socket.communicator.connect(timeout=10)
    if not connected:
        assert code == 1000  # the handshake refused: 403
        return None
    return socket


async def me(socket: GraphQLSocket) -> Any:
    # The handshake is done (socket_as): initialise the protocol only.
    await socket.send({"type": "connection_init", "payload": {}})
    assert await socket.receive() == ACK
    await socket.subscribe("me", "{ me { username } }")
    return (await socket.receive())["payload"]


@pytest.mark.embedded
async def test_websocket_origin_must_match_scheme_host_and_port(
    sockets: list[GraphQLSocket], victim_cookie: bytes
) -> None:
    alice = {"data": {"me": {"username": "alice"}}}
    refused = [
        (b"127.0.0.1:8000", b"http://127.0.0.1:9999"),
        (b"localhost:8000", b"https://localhost:4444"),
        (b"localhost:8000", b"https://localhost:8000"),
        (b"localhost:8000", b"http://localhost"),
        (b"localhost", b"http://localhost:8000"),
        (b"localhost:8000", b"http://evil.test:8000"),
        (b"localhost:8000", b"null"),
        # A host outside ALLOWED_HOSTS is not "our own" origin, even when both agree.
        (b"evil.test:8000", b"http://evil.test:8000"),
    ]
    for host, origin in refused:
        assert await socket_as(sockets, victim_cookie, host, origin) is None, (host, origin)

    accepted: list[tuple[bytes, bytes | None]] = [
        (b"127.0.0.1:8000", b"http://127.0.0.1:8000"),
        (b"localhost:8000", b"http://localhost:8000"),
        (b"localhost", b"http://localhost"),
        (b"localhost:80", b"http://localhost"),
        (b"localhost:8000", None),  # not a browser
    ]
    for host, maybe_origin in accepted:
        socket = await socket_as(sockets, victim_cookie, host, maybe_origin)
        assert socket is not None, (host, maybe_origin)
        assert await me(socket) == alice


@pytest.mark.embedded
async def test_websocket_origin_behind_a_tls_proxy_and_trusted_origins(
    sockets: list[GraphQLSocket], victim_cookie: bytes
) -> None:
    host = b"localhost"
    # Without SECURE_PROXY_SSL_HEADER the connection is plain HTTP: an https page differs.
    assert await socket_as(sockets, victim_cookie, host, b"https://localhost") is None
    with override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")):
        socket = await socket_as(
            sockets, victim_cookie, host, b"https://localhost", x_forwarded_proto=b"https"
        )
        assert socket is not None
        assert await socket_as(sockets, victim_cookie, host, b"http://localhost") is not None
        assert (
            await socket_as(
                sockets, victim_cookie, host, b"http://localhost", x_forwarded_proto=b"https"
            )
            is None
        )

    trusted = ["https://app.example.com", "https://*.example.org"]
    with override_settings(CSRF_TRUSTED_ORIGINS=trusted):
        for origin in (b"https://app.example.com", b"https://eu.example.org"):
            socket = await socket_as(sockets, victim_cookie, host, origin)
            assert socket is not None, origin
            assert await me(socket) == {"data": {"me": {"username": "alice"}}}
        for origin in (b"http://app.example.com", b"https://app.example.com:8443"):
            assert await socket_as(sockets, victim_cookie, host, origin) is None, origin


# --- /metrics ---------------------------------------------------------------------------


async def get_metrics(authorization: bytes | None = None) -> tuple[int, dict[str, str]]:
    from project.asgi import application

    headers = [(b"host", b"localhost")]
    if authorization is not None:
        headers.append((b"authorization", authorization))
    communicator = HttpCommunicator(application, "GET", "/metrics", headers=headers)
    response = await communicator.get_response(timeout=10)
    await communicator.wait(timeout=10)
    return response["status"], {k.decode(): v.decode() for k, v in response["headers"]}


@pytest.mark.embedded
async def test_metrics_behind_a_bearer_token() -> None:
    chat = {**settings.CHAT, "METRICS_ENABLED": True, "METRICS_TOKEN": "s3cret"}
    with override_settings(CHAT=chat):
        status, headers = await get_metrics()
        assert (status, headers["WWW-Authenticate"]) == (401, 'Bearer realm="metrics"')
        assert (await get_metrics(b"Bearer wrong"))[0] == 401
        assert (await get_metrics(b"Basic czNjcmV0"))[0] == 401
        status, headers = await get_metrics(b"Bearer s3cret")
        assert (status, headers["Content-Type"].split(";")[0]) == (200, "text/plain")
    with override_settings(CHAT={**chat, "METRICS_ENABLED": False}):
        assert (await get_metrics(b"Bearer s3cret"))[0] == 404
    with override_settings(CHAT={**chat, "METRICS_TOKEN": ""}):
        assert (await get_metrics())[0] == 200
