"""Issue 14 in headless Chromium: the room list (myRooms, then the inbox) with live unread
badges, direct messages, and in the open room typing, presence, "seen by" and
mentions, between two users in two browser contexts."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.daphne import Daphne
from tests.frontend.conftest import ROOT
from tests.frontend.pages import send, watch_csp
from tests.frontend.test_browser_room_events import members, new_page, posted

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CREATE = "mutation($room: String!) { createRoom(name: $room) { name } }"
JOIN = "mutation($room: String!) { joinRoom(room: $room) { name } }"
SEND = "mutation($room: String!, $text: String!) { sendMessage(room: $room, text: $text) { seq } }"
TYPING = "mutation($room: String!, $t: Boolean!) { setTyping(room: $room, typing: $t) }"
MY_ROOMS = "{ myRooms { edges { node { name direct unreadCount lastReadSeq } } } }"

# The room list as the viewer sees it: [label, badge ("" when hidden), classes].
ROOM_LIST = """() => Array.from(document.querySelectorAll("#room-list > li"), (li) => {
  const badge = li.querySelector(".badge");
  return [li.querySelector("a").textContent, badge.hidden ? "" : badge.textContent,
    Array.from(li.classList).sort().join(" ")];
})"""


def record_requests(page: Page, operation: str, variable: str) -> list[Any]:
    """``variable`` of every request for ``operation`` the page sends, in order (with the
    time it was sent: ``(value, seconds)``)."""
    sent: list[Any] = []

    def on_request(request: Request) -> None:
        body = request.post_data_json if request.method == "POST" else None
        if isinstance(body, dict) and body["query"].startswith(f"mutation {operation}("):
            sent.append((body["variables"][variable], time.monotonic()))

    page.on("request", on_request)
    return sent


def room_list(page: Page) -> list[list[str]]:
    return page.evaluate(f"({ROOM_LIST})()")  # type: ignore[no-any-return]


def expect_rooms(page: Page, expected: list[list[str]], timeout: float = 10_000) -> None:
    """Wait until the room list is exactly ``expected`` (then compare, for a readable diff)."""
    try:
        page.wait_for_function(
            f"wanted => JSON.stringify(({ROOM_LIST})()) === JSON.stringify(wanted)",
            arg=expected,
            timeout=timeout,
        )
    except PlaywrightTimeoutError:
        pass
    assert room_list(page) == expected


def open_room(page: Page, base: str, room: str) -> None:
    page.goto(f"{base}/chat/{room}/")
    expect(page.locator("#status")).to_have_attribute("data-state", "live")
    expect(page.locator("#room-list")).to_have_attribute("data-state", "loaded")


def my_rooms(daphne: Daphne, token: str) -> Any:
    result = daphne.post(MY_ROOMS, {}, token)
    assert "errors" not in result, result
    return [edge["node"] for edge in result["data"]["myRooms"]["edges"]]


def test_typing_presence_badges_and_direct_messages_between_two_users(
    browser: Browser, daphne: Daphne
) -> None:
    alice, bob, carol = members("alice", "bob", "carol")
    for room in ("lobby", "news"):
        posted(daphne, alice, CREATE, room=room)
        posted(daphne, bob, JOIN, room=room)
    posted(daphne, alice, SEND, room="lobby", text="hello @bob, see @carol")
    base = f"http://127.0.0.1:{daphne.port}"
    errors: list[str] = []
    ours = new_page(browser, alice, errors)
    theirs = new_page(browser, bob, errors)
    typing = record_requests(theirs, "SetTyping", "typing")
    csp = [watch_csp(ours), watch_csp(theirs)]

    # Bob opens the lobby: alice's post is read at once (no badge), his name in it marked.
    open_room(theirs, base, "lobby")
    expect_rooms(theirs, [["lobby", "", "current"], ["news", "", ""]])
    first = theirs.locator('#log li.message[data-seq="1"]')
    expect(first).to_have_class("message mentions-me")
    expect(first.locator(".text")).to_have_text("hello @bob, see @carol")
    # Carol is no member: her name stays plain.
    expect(first.locator("mark.mention")).to_have_text(["@bob"])
    expect(first.locator("mark.mention.me")).to_have_count(1)
    expect(theirs.locator("#presence")).to_have_text("1 online: bob")

    # Alice comes in: each sees both online.
    open_room(ours, base, "lobby")
    for page in (ours, theirs):
        expect(page.locator("#presence")).to_have_text("2 online: alice, bob")
    expect(ours.locator("#log li.message")).to_have_count(1)
    expect(ours.locator('#log li.message[data-seq="1"]')).to_have_class("message mine")

    # Bob types: Alice sees it, Bob does not see himself; clearing the box ends it.
    theirs.locator("#message-input").press_sequentially("hi al")
    expect(ours.locator("#typing")).to_have_text("bob is typing…")
    expect(theirs.locator("#typing")).to_have_text("")
    # Carol types too (through the API, in order of starting); each sees the others.
    posted(daphne, carol, TYPING, room="lobby", t=True)
    expect(ours.locator("#typing")).to_have_text("bob and carol are typing…")
    expect(theirs.locator("#typing")).to_have_text("carol is typing…")
    posted(daphne, carol, TYPING, room="lobby", t=False)
    expect(ours.locator("#typing")).to_have_text("bob is typing…")
    expect(theirs.locator("#typing")).to_have_text("")
    theirs.fill("#message-input", "")
    expect(ours.locator("#typing")).to_have_text("")

    # Bob posts; Alice's page shows it and marks it read, so Bob sees who has seen it.
    theirs.locator("#message-input").press_sequentially("hi alice")
    expect(ours.locator("#typing")).to_have_text("bob is typing…")
    theirs.press("#message-input", "Enter")
    expect(theirs.locator("#message-input")).to_have_value("")
    # Posting ends the typing. Each burst of keys sent one `true` (at most one every 2 s);
    # the cleared box one `false`; the post none.
    assert [on for on, _ in typing] == [True, False, True]
    expect(ours.locator("#typing")).to_have_text("")
    expect(ours.locator('#log li.message[data-seq="2"] .text')).to_have_text("hi alice")
    expect(theirs.locator("#seen-by")).to_have_text("Seen by alice")
    expect(ours.locator("#seen-by")).to_be_hidden()

    # A post in the other room raises its badge (and puts it first) for Bob.
    posted(daphne, alice, SEND, room="news", text="news for @bob")
    expect_rooms(theirs, [["news", "1", "mentioned"], ["lobby", "", "current"]])
    posted(daphne, alice, SEND, room="news", text="more news")
    expect_rooms(theirs, [["news", "2", "mentioned"], ["lobby", "", "current"]])
    expect_rooms(ours, [["news", "", ""], ["lobby", "", "current"]])
    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    theirs.screenshot(path=str(artifacts / "room-list.png"))

    # Opening it reads it: the badge is gone, here and on the server.
    theirs.locator('#room-list li[data-room="news"] a').click()
    expect(theirs).to_have_url(f"{base}/chat/news/")
    expect(theirs.locator("#status")).to_have_attribute("data-state", "live")
    expect_rooms(theirs, [["news", "", "current"], ["lobby", "", ""]])
    assert my_rooms(daphne, bob.token) == [
        {"name": "news", "direct": False, "unreadCount": 0, "lastReadSeq": 2},
        # His own post is never unread, so it is not marked (markRead counts as a write).
        {"name": "lobby", "direct": False, "unreadCount": 0, "lastReadSeq": 1},
    ]

    # Alice starts a direct conversation with Bob: it is in both lists, by the other's name.
    ours.fill("#direct-name", "bob")
    ours.click("#direct")
    dm = f"dm-{min(alice.user.pk, bob.user.pk)}-{max(alice.user.pk, bob.user.pk)}"
    expect(ours).to_have_url(f"{base}/chat/{dm}/")
    expect(ours.locator("#status")).to_have_attribute("data-state", "live")
    expect(ours.locator("#room-title")).to_have_text("bob")
    expect(ours.locator("#invite-form")).to_be_hidden()
    expect_rooms(ours, [["bob", "", "current direct"], ["news", "", ""], ["lobby", "", ""]])
    expect_rooms(theirs, [["alice", "", "direct"], ["news", "", "current"], ["lobby", "", ""]])

    send(ours, "psst")
    expect_rooms(theirs, [["alice", "1", "direct"], ["news", "", "current"], ["lobby", "", ""]])
    expect_rooms(ours, [["bob", "", "current direct"], ["news", "", ""], ["lobby", "", ""]])
    theirs.locator(f'#room-list li[data-room="{dm}"] a').click()
    expect(theirs.locator("#log li.message .text")).to_have_text(["psst"])
    expect_rooms(theirs, [["alice", "", "current direct"], ["news", "", ""], ["lobby", "", ""]])
    expect(ours.locator("#seen-by")).to_have_text("Seen by bob")

    # A burst of posts is marked read in at most two requests, 2 s apart (markRead counts
    # against the posting rate limit), the last up to the newest.
    marked = record_requests(theirs, "MarkRead", "seq")
    for n in range(2, 7):
        posted(daphne, alice, SEND, room=dm, text=f"psst {n}")
    for page in (ours, theirs):
        expect(page.locator("#log li.message")).to_have_count(6)
    # Shown under the last message only once Bob has read up to it.
    expect(ours.locator("#seen-by")).to_have_text("Seen by bob")
    assert [seq for seq, _ in marked][-1] == 6
    assert len(marked) <= 2
    if len(marked) == 2:
        assert marked[1][1] - marked[0][1] >= 1.9

    theirs.locator("#message-input").press_sequentially("hey")
    expect(ours.locator("#typing")).to_have_text("bob is typing…")
    ours.screenshot(path=str(artifacts / "room-signals.png"))
    for page in (ours, theirs):
        page.context.close()
    assert errors == []
    assert csp == [[], []]


def test_a_private_room_created_invited_to_and_left_through_the_page(
    browser: Browser, daphne: Daphne
) -> None:
    alice, bob = members("alice", "bob")
    base = f"http://127.0.0.1:{daphne.port}"
    errors: list[str] = []
    ours = new_page(browser, alice, errors)
    theirs = new_page(browser, bob, errors)
    theirs.goto(f"{base}/chat/")
    expect(theirs.locator("#room-list")).to_have_attribute("data-state", "loaded")
    expect_rooms(theirs, [])

    # Alice creates a private room from the list; the page takes her there.
    ours.goto(f"{base}/chat/")
    ours.fill("#create-name", "plans")
    ours.click("#create")
    expect(ours).to_have_url(f"{base}/chat/plans/")
    expect(ours.locator("#status")).to_have_attribute("data-state", "live")
    expect_rooms(ours, [["plans", "", "current private"]])

    # She invites Bob: the room is in his list at once, and he can open it.
    ours.fill("#invite-name", "bob")
    ours.click("#invite")
    expect(ours.locator("#invite-name")).to_have_value("")
    expect(ours.locator("#log li.member .text")).to_have_text(["bob joined"])
    expect_rooms(theirs, [["plans", "", "private"]])
    theirs.locator('#room-list li[data-room="plans"] a').click()
    expect(theirs).to_have_url(f"{base}/chat/plans/")
    expect(theirs.locator("#status")).to_have_attribute("data-state", "live")
    expect(theirs.locator("#presence")).to_have_text("2 online: alice, bob")

    # Bob leaves: back to the index, the room gone from his list; Alice sees him go.
    theirs.click("#leave")
    expect(theirs).to_have_url(f"{base}/chat/")
    expect(theirs.locator("#room-list")).to_have_attribute("data-state", "loaded")
    expect_rooms(theirs, [])
    expect(ours.locator("#log li.member .text")).to_have_text(["bob joined", "bob left"])
    for page in (ours, theirs):
        page.context.close()
    assert errors == []
