"""The room page's event features in headless Chromium: edits, deletions, reactions,
replies, member lines, date separators and older history, live across tabs through
roomEvents and resumed with afterEventSeq."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test import override_settings
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from chat import posting
from chat.models import Message
from tests import factories
from tests.daphne import Daphne, start_daphne
from tests.frontend.conftest import ROOT
from tests.frontend.pages import record_subscriptions, send, watch_csp

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

T = TypeVar("T")

# Reconnecting waits up to 8 s between attempts.
RECONNECT_TIMEOUT_MS = 30_000
CREATE = 'mutation { createRoom(name: "lobby") { name } }'
JOIN = 'mutation { joinRoom(room: "lobby") { name } }'
LEAVE = 'mutation { leaveRoom(room: "lobby") }'
SEND = """mutation($text: String!, $replyTo: ID) {
  sendMessage(room: "lobby", text: $text, replyTo: $replyTo) { seq } }"""
EDIT = "mutation($id: ID!, $text: String!) { editMessage(id: $id, text: $text) { seq } }"
DELETE = "mutation($id: ID!) { deleteMessage(id: $id) { seq } }"
REACT = "mutation($id: ID!, $emoji: String!) { addReaction(messageId: $id, emoji: $emoji) { seq } }"

# Every line of the log as the viewer sees it (times left out).
SNAPSHOT = """() => Array.from(document.querySelectorAll("#log > li"), (li) => {
  if (li.classList.contains("date")) return { date: li.textContent };
  if (li.classList.contains("member")) return { member: li.querySelector(".text").textContent };
  const quote = li.querySelector(".quote");
  const pressed = (b) => b.getAttribute("aria-pressed") === "true" ? " (mine)" : "";
  return {
    seq: Number(li.dataset.seq),
    author: li.querySelector(".author").textContent,
    text: li.querySelector(".text")?.textContent ?? null,
    edited: li.querySelector(".edited")?.textContent ?? null,
    mine: li.classList.contains("mine"),
    deleted: li.classList.contains("deleted"),
    quote: quote && `${quote.querySelector(".quote-author").textContent}: `
      + quote.querySelector(".quote-text").textContent,
    reactions: Array.from(li.querySelectorAll(".reaction"), (b) => b.textContent + pressed(b)),
    actions: Array.from(li.querySelectorAll(".actions button"), (b) => b.textContent),
  };
})"""


def line(
    seq: int,
    author: str,
    text: str,
    *,
    viewer: str | None,
    edited: bool = False,
    deleted: bool = False,
    quote: str | None = None,
    reactions: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A message line as SNAPSHOT gives it, seen by ``viewer`` (None: signed out)."""
    mine = author == viewer
    actions = [] if viewer is None or deleted else ["Reply", "React"]
    if actions and mine:
        actions += ["Edit", "Delete"]
    return {
        "seq": seq,
        "author": author,
        "text": "message deleted" if deleted else text,
        "edited": "(edited)" if edited and not deleted else None,
        "mine": mine,
        "deleted": deleted,
        "quote": quote,
        "reactions": list(reactions),
        "actions": actions,
    }


def timeline(page: Page) -> list[dict[str, Any]]:
    return page.evaluate(f"({SNAPSHOT})()")  # type: ignore[no-any-return]


def expect_timeline(page: Page, expected: list[dict[str, Any]], timeout: float = 10_000) -> None:
    """Wait until the log is exactly ``expected`` (then compare, for a readable diff)."""
    wanted = json.dumps(expected, ensure_ascii=False, separators=(",", ":"))
    try:
        page.wait_for_function(
            f"wanted => JSON.stringify(({SNAPSHOT})()) === wanted", arg=wanted, timeout=timeout
        )
    except PlaywrightTimeoutError:
        pass
    assert timeline(page) == expected


def date_line(day: datetime) -> dict[str, str]:
    """A date separator as an en-US page writes it."""
    return {"date": day.strftime("%A, %B %-d, %Y")}


def in_thread(work: Callable[[], T]) -> T:
    # Sync Playwright runs an event loop in this thread, where the ORM refuses to.
    with ThreadPoolExecutor(1) as executor:
        return executor.submit(work).result()


def members(*names: str) -> list[factories.Member]:
    return in_thread(lambda: [factories.member(name) for name in names])


def posted(daphne: Daphne, member: factories.Member, query: str, **variables: Any) -> Any:
    """Run a mutation as ``member`` and return its data (asserting there was no error)."""
    result = daphne.post(query, variables, member.token)
    assert "errors" not in result, result
    return result["data"]


def new_page(
    browser: Browser, member: factories.Member | None, errors: list[str], timezone: str = "UTC"
) -> Page:
    """A page in a fresh context (its own storage), signed in as ``member``."""
    context = browser.new_context(locale="en-US", timezone_id=timezone)
    if member is not None:
        auth = json.dumps({"token": member.token, "username": member.username})
        context.add_init_script(f"localStorage.setItem('chat.auth', {json.dumps(auth)})")
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page


def open_room(
    browser: Browser,
    base: str,
    member: factories.Member | None,
    errors: list[str],
    timezone: str = "UTC",
) -> Page:
    """The lobby's page, live, in a fresh context signed in as ``member``."""
    page = new_page(browser, member, errors, timezone)
    page.goto(f"{base}/chat/lobby/")
    expect(page.locator("#status")).to_have_attribute("data-state", "live")
    return page


def message_id(page: Page, seq: int) -> str:
    return page.locator(f'#log li.message[data-seq="{seq}"]').get_attribute("data-id") or ""


def message(page: Page, seq: int) -> Any:
    return page.locator(f'#log li.message[data-seq="{seq}"]')


def test_edit_react_reply_delete_and_members_live_in_two_tabs(
    browser: Browser, daphne: Daphne
) -> None:
    alice, bob, carol = members("alice", "bob", "carol")
    posted(daphne, alice, CREATE)
    base = f"http://127.0.0.1:{daphne.port}"
    errors: list[str] = []
    ours = open_room(browser, base, alice, errors)
    theirs = open_room(browser, base, bob, errors)
    csp = [watch_csp(ours), watch_csp(theirs)]
    today = date_line(datetime.now(UTC))
    both = (ours, theirs)

    def expect_both(lines: Callable[[str], list[dict[str, Any]]]) -> None:
        for page, viewer in ((ours, "alice"), (theirs, "bob")):
            expect_timeline(page, [today, *lines(viewer)])

    # Posts from each tab; yours are told apart, with Edit and Delete on yours only.
    send(ours, "hello")
    send(theirs, "hi")
    send(ours, "oops, wrong room")
    expect_both(
        lambda v: [
            line(1, "alice", "hello", viewer=v),
            line(2, "bob", "hi", viewer=v),
            line(3, "alice", "oops, wrong room", viewer=v),
        ]
    )

    # Alice edits her first message in place; Escape first cancels an edit.
    message(ours, 1).locator(".edit").click()
    expect(message(ours, 1).locator(".edit-input")).to_have_value("hello")
    ours.press("#log .edit-input", "Escape")
    expect(message(ours, 1).locator(".edit-input")).to_have_count(0)
    message(ours, 1).locator(".edit").click()
    ours.fill("#log .edit-input", "hello, world")
    ours.press("#log .edit-input", "Enter")

    def edited(v: str, reactions: tuple[str, ...] = ()) -> dict[str, Any]:
        return line(1, "alice", "hello, world", viewer=v, edited=True, reactions=reactions)

    expect_both(
        lambda v: [
            edited(v),
            line(2, "bob", "hi", viewer=v),
            line(3, "alice", "oops, wrong room", viewer=v),
        ]
    )

    # Reactions: Bob picks 👍 and 🎉, Alice adds to 👍 by clicking it, Bob takes his
    # 👍 back; each tab highlights its own.
    for emoji, shown in (("👍", ["👍 1"]), ("🎉", ["👍 1", "🎉 1"])):
        message(theirs, 1).locator(".react").click()
        message(theirs, 1).locator(f'.picker button[data-emoji="{emoji}"]').click()
        expect(message(theirs, 1).locator(".reaction")).to_have_text(shown)
    expect(message(ours, 1).locator(".reaction")).to_have_text(["👍 1", "🎉 1"])
    message(ours, 1).locator('.reaction[data-emoji="👍"]').click()
    expect(message(theirs, 1).locator(".reaction")).to_have_text(["👍 2", "🎉 1"])
    message(theirs, 1).locator('.reaction[data-emoji="👍"]').click()
    # In order of first use among the reactions left: Alice's 👍 came after Bob's 🎉.
    reacted = {"alice": ("🎉 1", "👍 1 (mine)"), "bob": ("🎉 1 (mine)", "👍 1")}
    rest = [
        lambda v: line(2, "bob", "hi", viewer=v),
        lambda v: line(3, "alice", "oops, wrong room", viewer=v),
    ]
    expect_both(lambda v: [edited(v, reacted[v]), *(r(v) for r in rest)])

    # Bob replies to two of Alice's messages.
    for seq, quoted, text in (
        (1, "alice: hello, world", "indeed"),
        (3, "alice: oops, wrong room", "which room?"),
    ):
        message(theirs, seq).locator(".reply").click()
        expect(theirs.locator("#reply-bar")).to_be_visible()
        expect(theirs.locator("#reply-quote")).to_have_text(quoted)
        send(theirs, text)
        expect(theirs.locator("#reply-bar")).to_be_hidden()
    rest += [
        lambda v: line(4, "bob", "indeed", viewer=v, quote="alice: hello, world"),
        lambda v: line(5, "bob", "which room?", viewer=v, quote="alice: oops, wrong room"),
    ]
    expect_both(lambda v: [edited(v, reacted[v]), *(r(v) for r in rest)])

    # Alice deletes message 3: a tombstone in both tabs, and in the quote of the reply.
    ours.once("dialog", lambda dialog: dialog.accept())
    message(ours, 3).locator(".delete").click()
    rest[1] = lambda v: line(3, "alice", "", viewer=v, deleted=True)
    rest[3] = lambda v: line(5, "bob", "which room?", viewer=v, quote="alice: message deleted")
    expect_both(lambda v: [edited(v, reacted[v]), *(r(v) for r in rest)])

    # Carol comes and goes (through the API): a line each, in both tabs.
    posted(daphne, carol, JOIN)
    posted(daphne, carol, LEAVE)
    expect_both(
        lambda v: [
            edited(v, reacted[v]),
            *(r(v) for r in rest),
            {"member": "carol joined"},
            {"member": "carol left"},
        ]
    )
    # A reload shows the same messages (history has no member lines).
    theirs.reload()
    expect(theirs.locator("#status")).to_have_attribute("data-state", "live")
    expect_timeline(theirs, [today, edited("bob", reacted["bob"]), *(r("bob") for r in rest)])

    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    # Alice's picker open on Bob's reply, for the picture.
    message(ours, 4).locator(".react").click()
    expect(message(ours, 4).locator(".picker")).to_be_visible()
    ours.screenshot(path=str(artifacts / "room-events.png"))
    for page in both:
        page.context.close()
    assert errors == []
    assert csp == [[], []]


def test_older_history_loads_at_the_top_and_a_quote_scrolls_to_its_original(
    browser: Browser, daphne: Daphne
) -> None:
    def create() -> None:
        bob = factories.member("bob")
        first = posting.message_create(room_name="lobby", author=bob.user, text="the first")
        factories.messages(room="lobby", author=bob.user, count=110)
        posting.message_create(
            room_name="lobby", author=bob.user, text="back to the first", reply_to_id=first.pk
        )

    # More posts than one user may make in a row.
    with override_settings(CHAT={**settings.CHAT, "RATE_LIMIT": (0, 1)}):
        in_thread(create)
    base = f"http://127.0.0.1:{daphne.port}"
    errors: list[str] = []
    page = open_room(browser, base, None, errors)
    today = date_line(datetime.now(UTC))

    def lines(seqs: range) -> list[dict[str, Any]]:
        text = {1: "the first", 112: "back to the first"}
        return [
            line(
                seq,
                "bob",
                text.get(seq, f"message {seq - 1}"),
                viewer=None,
                quote="bob: the first" if seq == 112 else None,
            )
            for seq in seqs
        ]

    # The latest page (50), at its end.
    expect_timeline(page, [today, *lines(range(63, 113))])
    log = page.locator("#log")
    expect(log).to_have_attribute("data-history", "more")
    expect(message(page, 112)).to_be_in_viewport()

    # Scrolled to the top: the page before, and what was shown stays where it was.
    log.evaluate("log => log.scrollTo(0, 0)")
    expect_timeline(page, [today, *lines(range(13, 113))])
    expect(log).to_have_attribute("data-history", "more")
    expect(message(page, 63)).to_be_in_viewport()
    expect(message(page, 112)).not_to_be_in_viewport()

    # The quote of message 1 loads pages until it is shown, and scrolls to it.
    log.evaluate("log => log.scrollTo(0, log.scrollHeight)")
    message(page, 112).locator(".quote").click()
    expect(log).to_have_attribute("data-history", "complete")
    expect(message(page, 1)).to_be_in_viewport()
    expect(message(page, 1)).to_have_class("message highlight")
    expect_timeline(page, [today, *lines(range(1, 113))])
    assert errors == []


def test_date_separators_follow_the_viewers_days(browser: Browser, daphne: Daphne) -> None:
    (alice,) = members("alice")
    posted(daphne, alice, CREATE)
    for n in range(1, 5):
        posted(daphne, alice, SEND, text=f"message {n}")
    times = {
        1: "2026-11-20T14:00:00Z",  # Friday, 9:00 in New York
        2: "2026-11-21T03:00:00Z",  # Friday, 22:00 in New York: the same day there
        3: "2026-11-21T15:00:00Z",  # Saturday
    }

    def backdate() -> None:
        for seq, at in times.items():
            Message.objects.filter(seq=seq).update(created_at=datetime.fromisoformat(at))

    in_thread(backdate)
    base = f"http://127.0.0.1:{daphne.port}"
    errors: list[str] = []
    page = open_room(browser, base, alice, errors, timezone="America/New_York")
    today = date_line(datetime.now(ZoneInfo("America/New_York")))

    def mine(seq: int) -> dict[str, Any]:
        return line(seq, "alice", f"message {seq}", viewer="alice")

    shown = [
        date_line(datetime(2026, 11, 20)),
        mine(1),
        mine(2),
        date_line(datetime(2026, 11, 21)),
        mine(3),
        today,
        mine(4),
    ]
    expect_timeline(page, shown)
    # Live lines of the same day get no separator of their own.
    posted(daphne, alice, SEND, text="message 5")
    (bob,) = members("bob")
    posted(daphne, bob, JOIN)
    expect_timeline(page, [*shown, mine(5), {"member": "bob joined"}])
    assert errors == []


def test_events_missed_while_disconnected_are_replayed_once_after_the_last_seen(
    browser: Browser, server_env: dict[str, str]
) -> None:
    alice, bob = members("alice", "bob")
    server = start_daphne(server_env)
    other = start_daphne(server_env)
    errors: list[str] = []
    try:
        posted(server, alice, CREATE)  # eventSeq 1
        posted(server, alice, SEND, text="hello")  # 2
        posted(server, bob, JOIN)  # 3
        page = new_page(browser, alice, errors)
        subscribed = record_subscriptions(page)
        page.goto(f"http://127.0.0.1:{server.port}/chat/lobby/")
        expect(page.locator("#status")).to_have_attribute("data-state", "live")
        today = date_line(datetime.now(UTC))
        first = line(1, "alice", "hello", viewer="alice")
        expect_timeline(page, [today, first])

        # Live, then the server dies; the room moves on through another process.
        posted(other, bob, SEND, text="one")  # 4
        expect_timeline(page, [today, first, line(2, "bob", "one", viewer="alice")])
        server.process.kill()
        server.process.wait()
        expect(page.locator("#status")).to_have_attribute("data-state", "reconnecting")
        hello = message_id(page, 1)
        posted(other, alice, EDIT, id=hello, text="hello again")  # 5
        posted(other, bob, REACT, id=hello, emoji="🎉")  # 6
        two = (posted(other, bob, SEND, text="two"))["sendMessage"]["seq"]  # 7
        assert two == 3
        posted(other, bob, DELETE, id=message_id(page, 2))  # 8
        posted(other, bob, LEAVE)  # 9

        # Back on the same port: the page resumes after eventSeq 4, the last it saw.
        server = start_daphne(server_env, port=server.port)
        expect(page.locator("#status")).to_have_attribute(
            "data-state", "live", timeout=RECONNECT_TIMEOUT_MS
        )
        replayed = [
            today,
            line(1, "alice", "hello again", viewer="alice", edited=True, reactions=("🎉 1",)),
            line(2, "bob", "", viewer="alice", deleted=True),
            line(3, "bob", "two", viewer="alice"),
            {"member": "bob left"},
        ]
        expect_timeline(page, replayed)
        # Subscribed after eventSeq 3 (the room's position when its history was read),
        # then after the restart resumed after 4, the last event it saw.
        assert subscribed == [
            {"room": "lobby", "afterEventSeq": 3},
            {"room": "lobby", "afterEventSeq": 4},
        ]
        posted(other, alice, SEND, text="three")  # 10
        expect_timeline(page, [*replayed, line(4, "alice", "three", viewer="alice")])
        assert errors == []
    finally:
        server.process.kill()
        server.process.wait()
        other.stop()
