"""The chat UI in headless Chromium: two signed-up users, history, reconnect with
afterEventSeq; GraphiQL and the admin under their CSP."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Route, expect

from chat.models import Message, Room
from tests.daphne import Daphne, start_daphne
from tests.frontend.conftest import ROOT
from tests.frontend.pages import (
    PASSWORD,
    expect_log,
    record_subscriptions,
    send,
    sign_up,
    watch_csp,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SEND = "mutation($room: String!, $text: String!) { sendMessage(room: $room, text: $text) { seq } }"
# Reconnecting waits up to 8 s between attempts.
RECONNECT_TIMEOUT_MS = 30_000


def test_two_users_chat_reload_and_resume_after_the_server_restarts(
    browser: Browser, server_env: dict[str, str]
) -> None:
    server = start_daphne(server_env)
    other = None
    base = f"http://127.0.0.1:{server.port}"
    errors: list[str] = []
    try:
        alice = browser.new_context().new_page()
        bob = browser.new_context().new_page()
        for page in (alice, bob):
            page.on("pageerror", lambda error: errors.append(str(error)))
        csp = [watch_csp(alice), watch_csp(bob)]
        alice_subscribed = record_subscriptions(alice)

        # Alice signs up on the index page and enters the room by name.
        alice.goto(f"{base}/chat/")
        sign_up(alice, "alice")
        alice.fill("#room-name", "lobby")
        alice.press("#room-name", "Enter")
        expect(alice).to_have_url(f"{base}/chat/lobby/")
        expect(alice.locator("#status")).to_have_attribute("data-state", "live")
        expect(alice.locator("#message-input")).to_be_enabled()

        # Bob opens the room directly and signs up there.
        bob.goto(f"{base}/chat/lobby/")
        expect(bob.locator("#message-input")).to_be_disabled()
        sign_up(bob, "bob")
        expect(bob.locator("#status")).to_have_attribute("data-state", "live")

        send(alice, "hello bob")
        bob.fill("#message-input", "hi alice")
        bob.click("#send")
        send(alice, "<img src=x onerror=alert(1)> & <b>not bold</b>")
        log = [
            ["1", "alice", "hello bob"],
            ["2", "bob", "hi alice"],
            ["3", "alice", "<img src=x onerror=alert(1)> & <b>not bold</b>"],
        ]
        expect_log(alice, log)
        expect_log(bob, log)
        # User text is text, never markup.
        assert bob.locator("#log img, #log b").count() == 0

        # A reload shows the history, still signed in.
        bob.reload()
        expect_log(bob, log)
        expect(bob.locator("#me")).to_have_text("bob")
        expect(bob.locator("#status")).to_have_attribute("data-state", "live")

        # The server dies; a message is posted through another process meanwhile.
        server.process.kill()
        server.process.wait()
        for page in (alice, bob):
            expect(page.locator("#status")).to_have_attribute("data-state", "reconnecting")
        other = start_daphne(server_env)
        token = bob.evaluate("JSON.parse(localStorage.getItem('chat.auth')).token")
        posted = other.post(SEND, {"room": "lobby", "text": "while you were away"}, token)
        assert posted == {"data": {"sendMessage": {"seq": 4}}}

        # Back on the same port: both pages reconnect by themselves and resume after seq 3.
        server = start_daphne(server_env, port=server.port)
        log.append(["4", "bob", "while you were away"])
        for page in (alice, bob):
            expect(page.locator("#status")).to_have_attribute(
                "data-state", "live", timeout=RECONNECT_TIMEOUT_MS
            )
            expect_log(page, log)
        # Alice's page subscribed twice: on entering the empty room, and after the restart
        # resuming after the last event it had seen (the three posts).
        assert alice_subscribed == [
            {"room": "lobby", "afterEventSeq": 0},
            {"room": "lobby", "afterEventSeq": 3},
        ]
        send(alice, "welcome back")
        log.append(["5", "alice", "welcome back"])
        expect_log(alice, log)
        expect_log(bob, log)

        artifacts = ROOT / "artifacts"
        artifacts.mkdir(exist_ok=True)
        alice.screenshot(path=str(artifacts / "room.png"))
        assert errors == []
        assert csp == [[], []]
    finally:
        server.process.kill()
        server.process.wait()
        if other is not None:
            other.stop()


def test_graphiql_loads_offline_and_runs_a_query(
    browser: Browser, server_env: dict[str, str]
) -> None:
    server = start_daphne(server_env)
    base = f"http://127.0.0.1:{server.port}"
    errors: list[str] = []
    outside: list[str] = []
    try:
        page = browser.new_context().new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        csp = watch_csp(page)

        # Everything the page loads comes from the service itself.
        def route(request_route: Route) -> None:
            url = request_route.request.url
            if url.startswith((base, "ws://127.0.0.1")) or url.startswith("data:"):
                request_route.continue_()
            else:
                outside.append(url)
                request_route.abort()

        page.route("**/*", route)
        page.goto(f"{base}/graphql/")
        editor = page.locator(".graphiql-query-editor .monaco-editor").first
        expect(editor).to_be_visible(timeout=20_000)
        editor.click()
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        page.keyboard.insert_text('{ room(name: "nowhere") { name } me { username } }')
        # Until GraphiQL has parsed the edit, the button is the example's menu of operations.
        button = page.locator(".graphiql-execute-button")
        expect(button).not_to_have_attribute("aria-haspopup", "menu")
        button.click()
        result = page.locator(".graphiql-response")
        expect(result).to_contain_text('"room": null', timeout=10_000)
        expect(result).to_contain_text('"me": null')
        artifacts = ROOT / "artifacts"
        artifacts.mkdir(exist_ok=True)
        page.screenshot(path=str(artifacts / "graphiql.png"))
        assert (errors, outside, csp) == ([], [], [])
    finally:
        server.stop()


def test_admin_works_under_its_content_security_policy(browser: Browser, daphne: Daphne) -> None:
    def create() -> None:
        User.objects.create_superuser("admin", password=PASSWORD)
        Room.objects.create(name="lobby")

    # Sync Playwright runs an event loop in this thread, where the ORM refuses to.
    with ThreadPoolExecutor(1) as executor:
        executor.submit(create).result()
    base = f"http://127.0.0.1:{daphne.port}"
    page = browser.new_context().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    csp = watch_csp(page)

    page.goto(f"{base}/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()
    page.goto(f"{base}/admin/chat/room/")
    expect(page.locator("#result_list")).to_contain_text("lobby")
    # The change form: its widgets (the members selector, date pickers) are scripts.
    page.goto(f"{base}/admin/chat/room/add/")
    page.fill("#id_name", "planning")
    page.locator("input[name=_save]").click()
    expect(page.locator("#result_list")).to_contain_text("planning")
    # The sidebar's filter box is a script too.
    page.fill("#nav-filter", "room")
    assert (errors, csp) == ([], [])


def test_a_post_whose_answer_is_lost_is_retried_with_its_client_id_and_stored_once(
    browser: Browser, daphne: Daphne
) -> None:
    """The first sendMessage reaches the server (and is stored), but the page gets a
    proxy's 502 instead of the answer: it sends the post again with the same clientId and
    gets the message back; each new message has a new clientId."""
    base = f"http://127.0.0.1:{daphne.port}"
    page = browser.new_context().new_page()
    sent: list[dict[str, object]] = []

    def lose_first_answer(route: Route) -> None:
        body = route.request.post_data_json or {}
        if "sendMessage" not in body.get("query", ""):
            route.continue_()
            return
        sent.append(body["variables"])
        answer = route.fetch()
        if len(sent) == 1:
            route.fulfill(status=502, content_type="text/html", body="<h1>502 Bad Gateway</h1>")
        else:
            route.fulfill(response=answer)

    page.route("**/graphql/", lose_first_answer)
    page.goto(f"{base}/chat/retry/")
    sign_up(page, "rita")
    expect(page.locator("#status")).to_have_attribute("data-state", "live")
    send(page, "only once")
    send(page, "and again")
    expect_log(page, [["1", "rita", "only once"], ["2", "rita", "and again"]])
    keys = [variables["clientId"] for variables in sent]
    assert [variables["text"] for variables in sent] == ["only once", "only once", "and again"]
    assert keys[0] == keys[1] != keys[2]
    assert all(re.fullmatch(r"[0-9a-f-]{36}", str(key)) for key in keys)
    rows = Message.objects.filter(room__name="retry").order_by("seq")
    # Sync Playwright marks this thread's event loop running: the ORM runs in another.
    with ThreadPoolExecutor(1) as executor:
        stored = executor.submit(lambda: list(rows.values_list("seq", "text", "client_id")))
        assert stored.result() == [(1, "only once", keys[0]), (2, "and again", keys[2])]
