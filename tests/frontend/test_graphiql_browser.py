"""GraphiQL in headless Chromium (issue 15, item 6): the example it opens with, and
subscriptions always over the websocket, even when Run follows the edit at once."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, WebSocket, expect

from tests.daphne import Daphne
from tests.frontend.pages import PASSWORD, watch_csp

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SUBSCRIPTION = 'subscription Live { messageAdded(room: "lobby", afterSeq: 0) { seq text } }'


def graphql(server: Daphne, query: str, variables: dict[str, Any], token: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(server.http_url, data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def open_graphiql(page: Page, server: Daphne) -> None:
    page.goto(f"http://127.0.0.1:{server.port}/graphql/")
    expect(page.locator(".graphiql-query-editor .monaco-editor").first).to_be_visible(
        timeout=20_000
    )


def editor_text(page: Page, selector: str) -> str:
    # Monaco renders each line in its own element, spaces as no-break spaces.
    lines = page.locator(f"{selector} .view-line").all_inner_texts()
    return "\n".join(line.replace("\xa0", " ") for line in lines)


def test_graphiql_opens_with_an_example_and_a_line_on_the_authorization_header(
    browser: Browser, daphne: Daphne
) -> None:
    page = browser.new_context(viewport={"width": 1400, "height": 1200}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    csp = watch_csp(page)
    open_graphiql(page, daphne)
    document = editor_text(page, ".graphiql-query-editor")
    assert document.splitlines()[:4] == [
        "# Queries and mutations go over HTTP, subscriptions over the websocket.",
        "# Sign in with the register or login mutation: this page then uses its session cookie.",
        "# Or put the token they return in the Headers tab below (the websocket gets it too):",
        '#   {"Authorization": "Bearer <token>"}',
    ]
    for operation in ("query Room {", "mutation SendMessage {", "subscription MessageAdded {"):
        assert operation in document.splitlines(), document
    page.get_by_role("button", name="Headers").click()
    # (The variables editor, hidden, has an empty line.)
    assert editor_text(page, ".graphiql-editor-tool").strip() == (
        '{\n  // "Authorization": "Bearer <token from register or login>"\n}'
    )
    assert (errors, csp) == ([], [])


def test_a_subscription_run_right_after_the_edit_goes_over_the_websocket(
    browser: Browser, daphne: Daphne
) -> None:
    token = graphql(
        daphne,
        "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { token } }",
        {"u": "ada", "p": PASSWORD},
        None,
    )["data"]["register"]["token"]
    graphql(
        daphne,
        'mutation($t: String!) { sendMessage(room: "lobby", text: $t) { seq } }',
        {"t": "over the socket"},
        token,
    )
    page = browser.new_context().new_page()
    posted: list[str] = []
    subscribed: list[str] = []

    def on_request(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/graphql/"):
            body = json.loads(request.post_data or "{}")
            if body.get("operationName") != "IntrospectionQuery":
                posted.append(body.get("query"))

    def on_websocket(socket: WebSocket) -> None:
        def on_frame(payload: str | bytes) -> None:
            message = json.loads(payload)
            if message["type"] == "subscribe":
                subscribed.append(message["payload"]["query"])

        socket.on("framesent", on_frame)

    page.on("request", on_request)
    page.on("websocket", on_websocket)
    open_graphiql(page, daphne)
    editor = page.locator(".graphiql-query-editor .monaco-editor").first
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    # Run within GraphiQL's 100 ms debounce of the edit: its own idea of the document is
    # still the example (three operations, none selected).
    page.keyboard.insert_text(SUBSCRIPTION)
    page.keyboard.press("Control+Enter")
    # The message posted before: the subscription replays it (afterSeq: 0).
    result = page.locator(".graphiql-response")
    expect(result).to_contain_text('"text": "over the socket"', timeout=10_000)
    assert (posted, subscribed) == ([], [SUBSCRIPTION])
