"""Moderation in the admin: deactivating a user closes their sockets on every process;
the message list shows text, room and author, newest first, with search, cheaply."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from chat.admin import EstimatedCountPaginator
from tests import factories
from tests.daphne import Daphne
from tests.feeds import MESSAGES, SEND, ws_subscribe
from tests.test_live_credentials import TOKEN_REFUSED

MESSAGES_URL = "/admin/chat/message/"
USERS_URL = "/admin/auth/user/"


def staff_client() -> tuple[Client, User]:
    staff = User.objects.create_superuser("root", password=factories.PASSWORD)
    client = Client()
    client.force_login(staff)
    return client, staff


def listed(client: Client, query: str = "") -> list[tuple[str, str, str]]:
    """The message list's rows as (text, room, author), as the admin lists them."""
    response = client.get(MESSAGES_URL, {"q": query} if query else {})
    assert response.status_code == 200
    return [(m.text, m.room.name, m.author.username) for m in response.context["cl"].result_list]


@pytest.mark.django_db
def test_message_list_shows_text_room_and_author_newest_first_with_search() -> None:
    alice = factories.member("alice").user
    bob = factories.member("bob").user
    from chat.posting import message_create

    for room, author, text in [
        ("lobby", alice, "hello everyone"),
        ("kitchen", bob, "who took my lunch"),
        ("lobby", bob, "hello alice"),
        ("kitchen", alice, "not me"),
    ]:
        message_create(room_name=room, author=author, text=text)
    client, _ = staff_client()

    assert listed(client) == [
        ("not me", "kitchen", "alice"),
        ("hello alice", "lobby", "bob"),
        ("who took my lunch", "kitchen", "bob"),
        ("hello everyone", "lobby", "alice"),
    ]
    page = client.get(MESSAGES_URL).content.decode()
    for header in ("Text", "Room", "Author"):
        assert f">{header}</a>" in page
    # Text anywhere; room and author by the start of their names; words combine (AND).
    assert listed(client, "hello") == [
        ("hello alice", "lobby", "bob"),
        ("hello everyone", "lobby", "alice"),
    ]
    assert listed(client, "kitch") == [
        ("not me", "kitchen", "alice"),
        ("who took my lunch", "kitchen", "bob"),
    ]
    assert listed(client, "bo") == [
        ("hello alice", "lobby", "bob"),
        ("who took my lunch", "kitchen", "bob"),
    ]
    assert listed(client, "hello bob") == [("hello alice", "lobby", "bob")]
    assert listed(client, "nobody") == []


@pytest.mark.django_db
def test_message_list_costs_the_same_queries_for_any_number_of_messages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Room and author come in the page's query (no query per row); the unfiltered list
    counts from the planner's estimate once the table is large, and a search counts its
    matches once (no second count of the whole table)."""
    alice = factories.member("alice").user
    client, _ = staff_client()

    def page_queries(query: str = "") -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            client.get(MESSAGES_URL, {"q": query} if query else {})
        return [q["sql"] for q in captured.captured_queries]

    factories.messages(room="lobby", author=alice, count=3)
    few = page_queries()
    factories.messages(room="lobby", author=alice, count=25)
    many = page_queries()
    assert len(many) == len(few)
    assert sum("COUNT(*)" in sql for sql in many) == 1

    # A large table (as the planner knows it): no count(*) at all.
    monkeypatch.setattr(EstimatedCountPaginator, "ESTIMATE_ABOVE", 10)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE chat_message")
    estimated = page_queries()
    assert sum("COUNT(*)" in sql for sql in estimated) == 0
    assert any("reltuples" in sql for sql in estimated)
    response = client.get(MESSAGES_URL)
    assert response.context["cl"].result_count == 28

    searched = page_queries("message")
    assert sum("COUNT(*)" in sql for sql in searched) == 1


async def closed_with(ws: Any) -> int:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


def deactivate_by_action(client: Client, users: list[User]) -> Any:
    return client.post(
        USERS_URL,
        {
            "action": "deactivate",
            "_selected_action": [str(user.pk) for user in users],
            "index": "0",
        },
        follow=True,
    )


def deactivate_by_form(client: Client, user: User) -> Any:
    url = f"{USERS_URL}{user.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.pop("password", None)
    data.pop("is_active")
    for name in ("date_joined", "last_login"):
        # As the page renders them (a browser posts back what it shows).
        data.pop(name, None)
        field = form[name]
        rendered = field.field.widget.get_context(field.html_name, field.value(), {})
        for part in rendered["widget"]["subwidgets"]:
            if part["value"] is not None:
                data[part["name"]] = part["value"]
    data["groups"] = [str(group.pk) for group in data.get("groups", [])]
    data["user_permissions"] = [str(p.pk) for p in data.get("user_permissions", [])]
    response = client.post(url, data, follow=True)
    # Back on the list: the form was accepted.
    assert response.redirect_chain == [(USERS_URL, 302)], response.context["adminform"].form.errors
    return response


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", ["action", "change form"])
async def test_deactivating_a_user_in_the_admin_closes_their_sockets_on_every_process(
    how: str,
    quiet_daphnes: tuple[Daphne, ...],
    alice: factories.Member,
    bob: factories.Member,
) -> None:
    """Alice listens on both processes (no periodic credential check: the close comes
    from the deactivation's notice); staff deactivate her in the admin. Her sockets close
    with 4403 on both; bob's socket stays and still gets messages; her token no longer
    works, and the admin's history says who did it."""
    sub = MESSAGES.subscription("lobby")
    hers = [
        await ws_subscribe(d.ws_url, sub, {"after": None}, init={"authToken": alice.token})
        for d in quiet_daphnes
    ]
    his = await ws_subscribe(
        quiet_daphnes[0].ws_url, sub, {"after": None}, init={"authToken": bob.token}
    )
    try:
        # Every socket is live (its subscription joined) before the deactivation.
        sent = await asyncio.to_thread(
            quiet_daphnes[1].post, SEND, {"room": "lobby", "t": "before"}, bob.token
        )
        assert sent["data"]["sendMessage"]["seq"] == 1
        for ws in [*hers, his]:
            assert MESSAGES.of(json.loads(await asyncio.wait_for(ws.recv(), 10))) == {"seq": 1}

        def deactivate() -> tuple[int, list[str], User]:
            client, staff = staff_client()
            if how == "action":
                response = deactivate_by_action(client, [alice.user, staff])
            else:
                response = deactivate_by_form(client, alice.user)
            notes = [str(m) for m in response.context["messages"]]
            return response.status_code, notes, staff

        status, notes, staff = await sync_to_async(deactivate)()
        assert status == 200
        if how == "action":
            assert notes == ["Deactivated 1 user(s).", "You cannot deactivate yourself."]
        for ws in hers:
            assert await closed_with(ws) == 4403

        sent = await asyncio.to_thread(
            quiet_daphnes[1].post, SEND, {"room": "lobby", "t": "after"}, bob.token
        )
        assert sent["data"]["sendMessage"]["seq"] == 2
        assert MESSAGES.of(json.loads(await asyncio.wait_for(his.recv(), 10))) == {"seq": 2}
        # Her token too, within the token cache's bound (CHAT_TOKEN_CACHE_SECONDS, 1 s):
        # a stale token is 200 and UNAUTHENTICATED under application/json.
        deadline = time.monotonic() + 1
        while True:
            answer = await asyncio.to_thread(
                quiet_daphnes[0].post, SEND, {"room": "lobby", "t": "me?"}, alice.token
            )
            if (200, answer) == TOKEN_REFUSED or time.monotonic() > deadline:
                break
        assert (200, answer) == TOKEN_REFUSED
    finally:
        for ws in [*hers, his]:
            await ws.close()

    def after() -> tuple[bool, bool, list[tuple[int, str]]]:
        entries = LogEntry.objects.filter(object_id=str(alice.user.pk)).order_by("pk")
        return (
            User.objects.get(pk=alice.user.pk).is_active,
            User.objects.get(pk=staff.pk).is_active,
            [(entry.user_id, entry.get_change_message()) for entry in entries],
        )

    active, staff_active, log = await sync_to_async(after)()
    assert (active, staff_active) == (False, True)
    if how == "action":
        assert log == [(staff.pk, "Deactivated; open sockets closed.")]
    else:
        # (The form also reports Date joined changed: it renders the stored time without
        # its microseconds, a Django admin quirk a browser sees too.)
        assert [(user, message.split(" and ")[0]) for user, message in log] == [
            (staff.pk, "Changed Active")
        ]
