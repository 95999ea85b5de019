"""The Django admin changes messages through chat.messaging: the same rows and the same
room events as editMessage and deleteMessage, with the admin user as the actor."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.test import Client

from chat import posting, services
from chat.models import Message, Reaction, Room, RoomEvent
from realtime.hub import get_hub
from tests import factories
from tests.conftest import GraphQLSocket, wait_for
from tests.schema.test_room_events import data, event, message, subscribed

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded]


def _root() -> Client:
    admin = User.objects.create_superuser("root", password=factories.PASSWORD)
    client = Client()
    client.force_login(admin)
    return client


def _row(pk: int) -> tuple[str, bool, bool]:
    stored = Message.objects.get(pk=pk)
    return stored.text, stored.deleted, stored.edited_at is not None


def _events() -> list[tuple[int, str, str | None, int | None]]:
    return [
        (e.seq, e.kind, e.actor.username if e.actor else None, e.message_id)
        for e in RoomEvent.objects.select_related("actor").order_by("room_id", "seq")
    ]


async def test_admin_edits_and_deletions_go_through_the_services(
    sockets: list[GraphQLSocket], alice: factories.Member, bob: factories.Member
) -> None:
    def setup() -> tuple[Client, list[int]]:
        services.room_create(name="lobby", private=False, creator=alice.user)
        ids = [m.pk for m in factories.messages(room="lobby", author=alice.user, count=3)]
        Reaction.objects.create(message_id=ids[1], user=bob.user, emoji="👍")
        return _root(), ids

    client, (first, second, third) = await sync_to_async(setup)()
    live = await subscribed(sockets, token=alice.token, after=4)
    await wait_for(lambda: get_hub().rooms == {"lobby": 1})

    # An edit: the text rules of sendMessage (trimmed), MessageEdited by root.
    url = f"/admin/chat/message/{first}/change/"
    response = await sync_to_async(client.post)(url, {"text": "  edited by staff  "})
    assert response.status_code == 302, response.content
    stored = await sync_to_async(Message.objects.get)(pk=first)
    assert (stored.text, stored.deleted) == ("edited by staff", False)
    assert stored.edited_at is not None
    edited = stored.edited_at.isoformat()
    assert await data(live) == event(
        "MessageEdited",
        5,
        actor="root",
        message=message(str(first), 1, "edited by staff", edited=edited),
    )

    # Saved unchanged, or with a text sendMessage refuses: nothing changes, nothing logged.
    response = await sync_to_async(client.post)(url, {"text": "edited by staff"})
    assert response.status_code == 302
    response = await sync_to_async(client.post)(url, {"text": " \u200b "})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "text": ["Message text must not be empty."]
    }
    assert await sync_to_async(_row)(first) == ("edited by staff", False, True)

    # The delete view: the row stays, as a tombstone, without its reactions.
    response = await sync_to_async(client.get)(f"/admin/chat/message/{second}/delete/")
    assert response.status_code == 200
    # Nothing cascades (reactions and events stay out of the list, and need no permission).
    assert response.context["deleted_objects"] == [f"Message: {stored.room_id}#2"]
    assert response.context["perms_lacking"] == set()
    response = await sync_to_async(client.post)(
        f"/admin/chat/message/{second}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302, response.content
    assert await sync_to_async(_row)(second) == ("", True, False)
    assert await sync_to_async(Reaction.objects.count)() == 0
    assert await data(live) == event(
        "MessageDeleted", 6, actor="root", message=message(str(second), 2, "", deleted=True)
    )

    # The bulk action: each message tombstoned, in id order; one already deleted is left as is.
    response = await sync_to_async(client.post)(
        "/admin/chat/message/",
        {"action": "delete_selected", "_selected_action": [str(third), str(second)], "post": "yes"},
    )
    assert response.status_code == 302, response.content
    assert await sync_to_async(_row)(third) == ("", True, False)
    assert await data(live) == event(
        "MessageDeleted", 7, actor="root", message=message(str(third), 3, "", deleted=True)
    )
    await live.assert_silent()
    assert await sync_to_async(Message.objects.count)() == 3
    assert await sync_to_async(_events)() == [
        (1, "member_joined", "alice", None),
        (2, "message_posted", "alice", first),
        (3, "message_posted", "alice", second),
        (4, "message_posted", "alice", third),
        (5, "message_edited", "root", first),
        (6, "message_deleted", "root", second),
        (7, "message_deleted", "root", third),
    ]

    # A tombstone's text cannot be edited.
    response = await sync_to_async(client.post)(
        f"/admin/chat/message/{second}/change/", {"text": "back from the dead"}
    )
    assert response.status_code == 302
    assert await sync_to_async(_row)(second) == ("", True, False)
    await live.assert_silent()


async def test_admin_cannot_add_messages_and_edits_any_room(alice: factories.Member) -> None:
    def run() -> None:
        services.room_create(name="secret", private=True, creator=alice.user)
        psst = posting.message_create(room_name="secret", author=alice.user, text="psst")
        client = _root()
        # "Add" went around the service (a 500: no seq); it is gone.
        assert client.get("/admin/chat/message/add/").status_code == 403
        assert client.post("/admin/chat/message/add/", {"text": "x"}).status_code == 403
        assert client.get("/admin/chat/message/").context["has_add_permission"] is False
        # Staff edit in rooms they are not a member of.
        url = f"/admin/chat/message/{psst.pk}/change/"
        assert client.post(url, {"text": "moderated"}).status_code == 302
        assert _row(psst.pk) == ("moderated", False, True)
        assert Message.objects.count() == 1
        assert _events() == [
            (1, "member_joined", "alice", None),
            (2, "message_posted", "alice", psst.pk),
            (3, "message_edited", "root", psst.pk),
        ]

    await sync_to_async(run)()


async def test_room_events_are_read_only_in_the_admin(alice: factories.Member) -> None:
    def run() -> None:
        services.room_create(name="lobby", private=False, creator=alice.user)
        joined = RoomEvent.objects.get()
        client = _root()
        listing = client.get("/admin/chat/roomevent/")
        assert listing.status_code == 200
        assert [row.pk for row in listing.context["cl"].result_list] == [joined.pk]
        assert listing.context["has_add_permission"] is False
        # Viewable, never changed or deleted.
        url = f"/admin/chat/roomevent/{joined.pk}/change/"
        assert client.get(url).status_code == 200
        assert client.post(url, {"emoji": "x"}).status_code == 403
        assert (
            client.post(f"/admin/chat/roomevent/{joined.pk}/delete/", {"post": "yes"}).status_code
            == 403
        )
        assert client.get("/admin/chat/roomevent/add/").status_code == 403
        assert client.get("/admin/chat/reaction/").status_code == 404
        assert _events() == [(1, "member_joined", "alice", None)]

    await sync_to_async(run)()


async def test_a_refused_admin_edit_changes_nothing(
    alice: factories.Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chat import admin, messaging

    def deleted_meanwhile(*, message_id: int, editor: User, text: str) -> Message:
        # Deleted between the form's checks and the save (in the admin's transaction).
        messaging.message_staff_delete(message_id=message_id, deleter=editor)
        return messaging.message_staff_edit(message_id=message_id, editor=editor, text=text)

    monkeypatch.setattr(admin, "message_staff_edit", deleted_meanwhile)

    def run() -> None:
        services.room_create(name="lobby", private=False, creator=alice.user)
        hello = posting.message_create(room_name="lobby", author=alice.user, text="hello")
        client = _root()
        url = f"/admin/chat/message/{hello.pk}/change/"
        response = client.post(url, {"text": "edited"}, follow=True)
        assert response.redirect_chain == [(url, 302)]
        assert [str(m) for m in response.context["messages"]] == [
            "You cannot edit a deleted message."
        ]
        # The admin's transaction rolled back as a whole: the deletion too.
        assert _row(hello.pk) == ("hello", False, False)
        assert _events() == [
            (1, "member_joined", "alice", None),
            (2, "message_posted", "alice", hello.pk),
        ]

    await sync_to_async(run)()


def _room_form(client: Client, room: Room, **changes: Any) -> dict[str, Any]:
    """The admin's change form of ``room`` as it is, with ``changes``."""
    form = client.get(f"/admin/chat/room/{room.pk}/change/").context["adminform"].form
    fields = {name: value for name, value in form.initial.items() if value is not None}
    fields.update(
        {
            "created_at_0": room.created_at.strftime("%Y-%m-%d"),
            "created_at_1": room.created_at.strftime("%H:%M:%S"),
            "last_activity_at_0": room.last_activity_at.strftime("%Y-%m-%d"),
            "last_activity_at_1": room.last_activity_at.strftime("%H:%M:%S"),
            "members": [str(user.pk) for user in fields["members"]],
            "created_by": str(room.created_by_id or ""),
        }
    )
    fields["is_private"] = "on" if fields["is_private"] else ""
    fields.update(changes)
    return {name: value for name, value in fields.items() if value != ""}


async def test_admin_membership_changes_log_member_events(
    sockets: list[GraphQLSocket], alice: factories.Member, bob: factories.Member
) -> None:
    def setup() -> tuple[Client, User]:
        services.room_create(name="lobby", private=False, creator=alice.user)
        services.room_join(name="lobby", user=bob.user)
        return _root(), factories.member("carol").user

    client, carol = await sync_to_async(setup)()
    owner = await subscribed(sockets, token=alice.token, after=2)
    removed = await subscribed(sockets, token=bob.token, after=2)
    await wait_for(lambda: get_hub().rooms == {"lobby": 2})

    def change_members() -> None:
        room = Room.objects.get(name="lobby")
        members = [str(alice.user.pk), str(carol.pk)]
        # The event counters are not the admin's to set.
        fields = _room_form(client, room, members=members, last_event_seq="1", last_seq="7")
        response = client.post(f"/admin/chat/room/{room.pk}/change/", fields)
        assert response.status_code == 302, response.content
        assert sorted(Room.objects.get().members.values_list("username", flat=True)) == [
            "alice",
            "carol",
        ]

    await sync_to_async(change_members)()
    carol_joined = event("MemberJoined", 3, actor="root", user={"username": "carol"})
    bob_left = event(
        "MemberLeft", 4, actor="root", user={"username": "bob"}, removedBy={"username": "root"}
    )
    assert [await data(owner), await data(owner)] == [carol_joined, bob_left]
    # Bob receives his own MemberLeft, then his subscription completes.
    assert [await data(removed), await data(removed)] == [carol_joined, bob_left]
    assert await removed.receive() == {"id": "1", "type": "complete"}
    await owner.assert_silent()

    def saved_unchanged() -> None:
        room = Room.objects.get(name="lobby")
        response = client.post(f"/admin/chat/room/{room.pk}/change/", _room_form(client, room))
        assert response.status_code == 302, response.content
        room.refresh_from_db()
        assert (room.last_seq, room.last_event_seq, room.access_version) == (0, 4, 2)

    await sync_to_async(saved_unchanged)()
    await owner.assert_silent()
    assert [(seq, kind, actor) for seq, kind, actor, _ in await sync_to_async(_events)()] == [
        (1, "member_joined", "alice"),
        (2, "member_joined", "bob"),
        (3, "member_joined", "root"),
        (4, "member_left", "root"),
    ]
