"""CORS in headless Chromium (issue 15, item 4): a page served from a second origin calls
the API with fetch and opens its websocket; another origin is blocked; the session cookie
is used only when CHAT_CORS_ALLOW_CREDENTIALS says so."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.daphne import Daphne, start_daphne
from tests.frontend.pages import PASSWORD
from tests.servers import free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

REGISTER = "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { token } }"

# Called in the app's page: the API's answer, or the error a blocked request gives.
FETCH = """async ([url, init]) => {
  try {
    const response = await fetch(url, init);
    return { status: response.status, body: await response.json() };
  } catch (error) {
    return { error: String(error) };
  }
}"""

# A graphql-transport-ws exchange by hand: connection_init (with the token, if any), one
# query, its first answer; or how the socket ended.
WEBSOCKET = """([url, token]) => new Promise((resolve) => {
  const socket = new WebSocket(url, "graphql-transport-ws");
  socket.onopen = () => socket.send(JSON.stringify(
    { type: "connection_init", payload: token ? { authToken: token } : {} }));
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "connection_ack") {
      socket.send(JSON.stringify({ id: "1", type: "subscribe",
        payload: { query: "{ me { username } }" } }));
    } else if (message.type === "next") {
      socket.close(1000);
      resolve(message.payload);
    }
  };
  socket.onclose = (event) => resolve({ closed: event.code });
})"""

BLOCKED = {"error": "TypeError: Failed to fetch"}


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>app</title><p>another origin"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def app_server() -> Iterator[str]:
    """A static page on a port of its own: a browser app of another origin."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def graphql_post(page: Page, server: Daphne, query: str, **init: Any) -> Any:
    headers = {"Content-Type": "application/json", **init.pop("headers", {})}
    body = {"query": query, "variables": init.pop("variables", {})}
    return page.evaluate(
        FETCH,
        [server.http_url, {"method": "POST", "headers": headers, "body": json.dumps(body), **init}],
    )


def test_a_browser_app_on_another_origin(browser: Browser, server_env: dict[str, str]) -> None:
    with app_server() as app, app_server() as other:
        server = start_daphne({**server_env, "CHAT_CORS_ALLOWED_ORIGINS": app})
        trusting = start_daphne(
            {**server_env, "CHAT_CORS_ALLOWED_ORIGINS": app, "CHAT_CORS_ALLOW_CREDENTIALS": "1"}
        )
        try:
            context = browser.new_context()
            # Signed in on the API's own origin: the browser holds its session cookie,
            # which it would send to the API from any page.
            own = context.new_page()
            own.goto(f"http://127.0.0.1:{server.port}/chat/")
            signed_in = graphql_post(own, server, REGISTER, variables={"u": "alice", "p": PASSWORD})
            assert signed_in["status"] == 200, signed_in
            assert [cookie["name"] for cookie in context.cookies()] == ["csrftoken", "sessionid"]

            page = context.new_page()
            # Playwright does not report preflights; Chromium's DevTools protocol does.
            preflights: list[str] = []
            devtools = context.new_cdp_session(page)
            devtools.send("Network.enable")
            devtools.on(
                "Network.requestWillBeSent",
                lambda event: (
                    preflights.append(event["request"]["url"])
                    if event["request"]["method"] == "OPTIONS"
                    else None
                ),
            )
            page.goto(app)
            expect(page.locator("p")).to_have_text("another origin")

            # The allowed origin: a token client works (register, then an authenticated query).
            registered = graphql_post(page, server, REGISTER, variables={"u": "bob", "p": PASSWORD})
            assert registered["status"] == 200, registered
            token = registered["body"]["data"]["register"]["token"]
            me = graphql_post(
                page, server, "{ me { username } }", headers={"Authorization": f"Bearer {token}"}
            )
            assert me == {"status": 200, "body": {"data": {"me": {"username": "bob"}}}}

            # Without credentials configured, the cookie is not the app's to use: a
            # credentialed request fails (the preflight grants no credentials), and one
            # without credentials is anonymous.
            get_me = f"{server.http_url}?query=%7Bme%7Busername%7D%7D"
            assert page.evaluate(FETCH, [get_me, {"credentials": "include"}]) == BLOCKED
            assert page.evaluate(FETCH, [get_me, {"credentials": "omit"}]) == {
                "status": 200,
                "body": {"data": {"me": None}},
            }
            # Configured: the session cookie authenticates the app's requests.
            trusting_me = f"{trusting.http_url}?query=%7Bme%7Busername%7D%7D"
            assert page.evaluate(FETCH, [trusting_me, {"credentials": "include"}]) == {
                "status": 200,
                "body": {"data": {"me": {"username": "alice"}}},
            }

            # Its websocket: the token authenticates it; the cookie the browser sends with
            # it does not, unless trusted.
            assert page.evaluate(WEBSOCKET, [server.ws_url, token]) == {
                "data": {"me": {"username": "bob"}}
            }
            assert page.evaluate(WEBSOCKET, [server.ws_url, None]) == {"data": {"me": None}}
            assert page.evaluate(WEBSOCKET, [trusting.ws_url, None]) == {
                "data": {"me": {"username": "alice"}}
            }

            # Preflights are cached: the Authorization POSTs above sent one between them.
            assert preflights == [server.http_url], preflights

            # Any other origin is blocked, over HTTP and websocket.
            blocked = context.new_page()
            blocked.goto(other)
            assert graphql_post(blocked, server, "{ __typename }") == BLOCKED
            assert blocked.evaluate(WEBSOCKET, [server.ws_url, token]) == {"closed": 1006}
        finally:
            server.stop()
            trusting.stop()
