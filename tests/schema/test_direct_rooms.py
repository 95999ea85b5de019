"""directRoom: one private room per pair, whoever opens it; its name is reserved, and no
one else can be invited into it. Membership notices (the inbox's RoomJoined/RoomLeft)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from chat import direct, services
from chat.models import Room, RoomEvent
from tests import factories
from tests.conftest import GraphQLHttp
from tests.schema.test_errors import error, errors_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded, pytest.mark.contract]

OPEN = """mutation($u: String!) {
  directRoom(username: $u) { name private direct createdBy { username } members { username } }
}"""


def notice(kind: str, user: factories.Member, room: Room) -> dict[str, Any]:
    return {
        "type": "chat.user",
        "room": f"user.{user.user.pk}",
        "notice": {"kind": kind, "room_id": room.pk, "room_name": room.name},
    }


def events_of(name: str) -> list[tuple[int, str, str, str]]:
    return list(
        RoomEvent.objects.filter(room__name=name)
        .order_by("seq")
        .values_list("seq", "kind", "actor__username", "user__username")
    )


async def test_direct_room_is_one_room_whoever_opens_it(
    alice: factories.Member, bob: factories.Member, notices: list[dict[str, Any]]
) -> None:
    low, high = sorted((alice.user.pk, bob.user.pk))
    name = f"dm-{low}-{high}"
    room = {
        "name": name,
        "private": True,
        "direct": True,
        "createdBy": None,
        "members": [{"username": "alice"}, {"username": "bob"}],
    }
    assert await GraphQLHttp(alice.token)(OPEN, {"u": "bob"}) == {"data": {"directRoom": room}}
    # From the other side, and again, in any case of the name: the same room.
    assert await GraphQLHttp(bob.token)(OPEN, {"u": "ALICE"}) == {"data": {"directRoom": room}}
    assert await GraphQLHttp(alice.token)(OPEN, {"u": "bob"}) == {"data": {"directRoom": room}}
    stored = await sync_to_async(Room.objects.get)()
    assert (stored.name, stored.direct_key) == (name, f"{low}:{high}")
    assert await sync_to_async(events_of)(name) == [
        (1, "member_joined", "alice", "alice"),
        (2, "member_joined", "alice", "bob"),
    ]
    assert notices == [notice("room_joined", alice, stored), notice("room_joined", bob, stored)]

    # Bob leaves; opening it again brings him back (MemberJoined, RoomJoined).
    notices.clear()
    assert await GraphQLHttp(bob.token)(f'mutation {{ leaveRoom(room: "{name}") }}') == {
        "data": {"leaveRoom": True}
    }
    assert await GraphQLHttp(alice.token)(OPEN, {"u": "bob"}) == {"data": {"directRoom": room}}
    assert (await sync_to_async(events_of)(name))[2:] == [
        (3, "member_left", "bob", "bob"),
        (4, "member_joined", "alice", "bob"),
    ]
    assert notices == [notice("room_left", bob, stored), notice("room_joined", bob, stored)]


async def test_direct_room_refusals(
    alice: factories.Member, bob: factories.Member, notices: list[dict[str, Any]]
) -> None:
    carol = await sync_to_async(factories.member)("carol")
    gql = GraphQLHttp(alice.token)
    name = (await gql(OPEN, {"u": "bob"}))["data"]["directRoom"]["name"]
    notices.clear()
    result = await gql(OPEN, {"u": "alice"})
    assert errors_of(result) == [
        error("A direct room needs another user than yourself.", "BAD_USER_INPUT", "directRoom")
    ]
    assert errors_of(await gql(OPEN, {"u": "nobody"})) == [
        error("No such user.", "NOT_FOUND", "directRoom")
    ]
    assert errors_of(await GraphQLHttp()(OPEN, {"u": "bob"})) == [
        error("Sign in to open direct rooms.", "UNAUTHENTICATED", "directRoom")
    ]
    invite = 'mutation($r: String!) { inviteToRoom(room: $r, username: "carol") { name } }'
    assert errors_of(await gql(invite, {"r": name})) == [
        error(
            "A direct room has its two members only: open another direct room.",
            "BAD_USER_INPUT",
            "inviteToRoom",
        )
    ]
    # Carol cannot join it, and the names are nobody else's to take.
    join = "mutation($r: String!) { joinRoom(room: $r) { name } }"
    assert errors_of(await GraphQLHttp(carol.token)(join, {"r": name})) == [
        error("Private rooms are joined by invitation.", "FORBIDDEN", "joinRoom")
    ]
    reserved = "Room names of the form dm-<number>-<number> are kept for direct rooms."
    create = 'mutation { createRoom(name: "dm-7-9") { name } }'
    send = 'mutation { sendMessage(room: "dm-7-9", text: "hi") { seq } }'
    join_new = 'mutation { joinRoom(room: "dm-7-9") { name } }'
    for query, field in [(create, "createRoom"), (send, "sendMessage"), (join_new, "joinRoom")]:
        assert errors_of(await gql(query)) == [error(reserved, "BAD_USER_INPUT", field)]
    # Names that only look alike are anyone's.
    assert await gql('mutation { createRoom(name: "dm-7-x") { name } }') == {
        "data": {"createRoom": {"name": "dm-7-x"}}
    }
    names = await sync_to_async(lambda: sorted(Room.objects.values_list("name", flat=True)))()
    assert names == sorted([name, "dm-7-x"])
    room = await sync_to_async(Room.objects.get)(name="dm-7-x")
    assert notices == [notice("room_joined", alice, room)]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite takes one writer")
def test_two_concurrent_opens_make_one_room() -> None:
    alice, bob = factories.member("alice").user, factories.member("bob").user
    barrier = threading.Barrier(2)
    rooms: list[Room] = []
    failures: list[BaseException] = []

    def open_(user: Any, other: str) -> None:
        try:
            barrier.wait()
            rooms.append(direct.direct_room_open(user=user, username=other))
        except BaseException as failure:
            failures.append(failure)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=open_, args=(alice, "bob")),
        threading.Thread(target=open_, args=(bob, "alice")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len({room.pk for room in rooms}) == 1
    assert Room.objects.count() == 1
    assert sorted(Room.objects.get().members.values_list("username", flat=True)) == [
        "alice",
        "bob",
    ]
    assert [kind for _, kind, _, _ in events_of(rooms[0].name)] == ["member_joined"] * 2


def test_membership_changes_tell_the_member(notices: list[dict[str, Any]]) -> None:
    alice, bob = factories.member("alice"), factories.member("bob")
    lobby = services.room_create(name="lobby", private=True, creator=alice.user)
    services.room_invite(name="lobby", username="bob", inviter=alice.user)
    # Again: already a member, nothing.
    services.room_invite(name="lobby", username="bob", inviter=alice.user)
    services.room_member_remove(name="lobby", username="bob", remover=alice.user)
    public = services.room_create(name="public", private=False, creator=alice.user)
    services.room_join(name="public", user=bob.user)
    services.room_join(name="public", user=bob.user)
    services.room_leave(name="public", user=bob.user)
    # Not a member: nothing to tell.
    services.room_leave(name="public", user=bob.user)
    assert notices == [
        notice("room_joined", alice, lobby),
        notice("room_joined", bob, lobby),
        notice("room_left", bob, lobby),
        notice("room_joined", alice, public),
        notice("room_joined", bob, public),
        notice("room_left", bob, public),
    ]
