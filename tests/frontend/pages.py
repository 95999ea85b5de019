"""Helpers for the browser tests: Chromium, and what a page shows and sends."""

from __future__ import annotations

import json
import re

from playwright.sync_api import ConsoleMessage, Page, WebSocket, expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PASSWORD = "correct horse battery staple"


# Reported through the console so that violations before a navigation count too.
CSP_WATCH = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.warn(`CSP violation: ${event.effectiveDirective} ${event.blockedURI}`);
});
"""


def watch_csp(page: Page) -> list[str]:
    """Every Content-Security-Policy violation the page reports, from now on."""
    violations: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "CSP violation" in message.text or "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("console", on_console)
    page.add_init_script(CSP_WATCH)
    return violations


def rows(page: Page) -> list[list[str]]:
    """The room's messages as [seq, author, text] rows."""
    return page.locator("#log li.message").evaluate_all(  # type: ignore[no-any-return]
        "items => items.map(li => [li.dataset.seq,"
        " li.querySelector('.author').textContent, li.querySelector('.text').textContent])"
    )


def record_subscriptions(page: Page, operation: str = "RoomEvents") -> list[dict[str, object]]:
    """The variables of every graphql-ws subscribe frame of ``operation`` the page sends,
    in order (a page also subscribes to its room's signals and to the inbox)."""
    sent: list[dict[str, object]] = []

    def on_frame(payload: str | bytes) -> None:
        message = json.loads(payload)
        if message["type"] == "subscribe" and re.match(
            rf"subscription {operation}\b", message["payload"]["query"]
        ):
            sent.append(message["payload"].get("variables", {}))

    def on_websocket(socket: WebSocket) -> None:
        socket.on("framesent", on_frame)

    page.on("websocket", on_websocket)
    return sent


def expect_log(page: Page, expected: list[list[str]], timeout: float = 10_000) -> None:
    expect(page.locator("#log li.message")).to_have_count(len(expected), timeout=timeout)
    assert rows(page) == expected


def sign_up(page: Page, username: str) -> None:
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#sign-up")
    expect(page.locator("#me")).to_have_text(username)
    expect(page.locator("#auth-form")).to_be_hidden()


def send(page: Page, text: str) -> None:
    page.fill("#message-input", text)
    page.press("#message-input", "Enter")
    expect(page.locator("#message-input")).to_have_value("")
