"""Private rooms: outsiders cannot read, post or subscribe; leaving ends subscriptions."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async

from chat.models import Message, Room
from realtime.hub import get_hub
from tests import factories
from tests.conftest import GraphQLHttp, GraphQLSocket, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded, pytest.mark.contract]

CREATE = "mutation($n: String!, $p: Boolean!) { createRoom(name: $n, private: $p) { name private members { username } } }"  # noqa: E501
SEND = 'mutation($t: String!) { sendMessage(room: "secret", text: $t) { seq } }'
SUB = 'subscription { messageAdded(room: "secret") { seq text } }'
FORBIDDEN = {"message": "You are not a member of this room.", "extensions": {"code": "FORBIDDEN"}}


def refused(result: dict[str, Any], path: str) -> list[tuple[str, list[str], str]]:
    return [(e["message"], e["path"], e["extensions"]["code"]) for e in result["errors"]]


@pytest.fixture
async def secret(alice: factories.Member) -> None:
    result = await GraphQLHttp(alice.token)(CREATE, {"n": "secret", "p": True})
    assert result == {
        "data": {
            "createRoom": {"name": "secret", "private": True, "members": [{"username": "alice"}]}
        }
    }


async def test_outsiders_cannot_post_read_or_subscribe(
    secret: None, alice: factories.Member, bob: factories.Member, sockets: list[GraphQLSocket]
) -> None:
    await GraphQLHttp(alice.token)(SEND, {"t": "for members"})
    outsider = GraphQLHttp(bob.token)

    result = await outsider(SEND, {"t": "let me in"})
    assert refused(result, "sendMessage") == [
        ("You are not a member of this room.", ["sendMessage"], "FORBIDDEN")
    ]
    assert await sync_to_async(Message.objects.count)() == 1

    # Reads: exactly what a missing room looks like.
    assert await outsider('{ room(name: "secret") { name } }') == {"data": {"room": None}}
    assert await outsider("{ rooms { edges { node { name } } } }") == {
        "data": {"rooms": {"edges": []}}
    }
    history = '{ messages(room: "secret") { edges { node { seq } } } }'
    assert await outsider(history) == {"data": {"messages": {"edges": []}}}
    assert await GraphQLHttp()(history) == {"data": {"messages": {"edges": []}}}

    for protocol, done in (("graphql-transport-ws", "next"), ("graphql-ws", "data")):
        socket = GraphQLSocket(protocol)
        sockets.append(socket)
        await socket.connect({"authToken": bob.token})
        await socket.subscribe("s", SUB)
        assert await socket.receive() == {
            "id": "s",
            "type": done,
            "payload": {"data": None, "errors": [FORBIDDEN]},
        }
        assert await socket.receive() == {"id": "s", "type": "complete"}

    joined = await outsider('mutation { joinRoom(room: "secret") { name } }')
    assert refused(joined, "joinRoom") == [
        ("Private rooms are joined by invitation.", ["joinRoom"], "FORBIDDEN")
    ]


async def test_invited_member_posts_and_subscribes_and_leaving_completes_the_subscription(
    secret: None, alice: factories.Member, bob: factories.Member, sockets: list[GraphQLSocket]
) -> None:
    invite = 'mutation { inviteToRoom(room: "secret", username: "bob") { members { username } } }'
    assert await GraphQLHttp(alice.token)(invite) == {
        "data": {"inviteToRoom": {"members": [{"username": "alice"}, {"username": "bob"}]}}
    }
    member = GraphQLSocket()
    sockets.append(member)
    await member.connect({"authToken": bob.token})
    await member.subscribe("s", SUB)
    owner = GraphQLSocket()
    sockets.append(owner)
    await owner.connect({"authToken": alice.token})
    await owner.subscribe("s", SUB)
    await wait_for(lambda: get_hub().rooms == {"secret": 2})

    assert await GraphQLHttp(bob.token)(SEND, {"t": "hi"}) == {"data": {"sendMessage": {"seq": 1}}}
    first = {
        "id": "s",
        "type": "next",
        "payload": {"data": {"messageAdded": {"seq": 1, "text": "hi"}}},
    }
    assert await member.receive() == first
    assert await owner.receive() == first

    leave = 'mutation { leaveRoom(room: "secret") }'
    assert await GraphQLHttp(bob.token)(leave) == {"data": {"leaveRoom": True}}
    assert await member.receive() == {"id": "s", "type": "complete"}
    await wait_for(lambda: get_hub().rooms == {"secret": 1})

    assert await GraphQLHttp(alice.token)(SEND, {"t": "bye"}) == {
        "data": {"sendMessage": {"seq": 2}}
    }
    assert (await owner.receive())["payload"] == {
        "data": {"messageAdded": {"seq": 2, "text": "bye"}}
    }
    await member.assert_silent()
    assert refused(await GraphQLHttp(bob.token)(SEND, {"t": "again"}), "sendMessage") == [
        ("You are not a member of this room.", ["sendMessage"], "FORBIDDEN")
    ]


async def test_room_management_errors(secret: None, alice: factories.Member) -> None:
    http = GraphQLHttp(alice.token)
    taken = await http(CREATE, {"n": "secret", "p": False})
    assert refused(taken, "createRoom") == [
        ("That room name is taken.", ["createRoom"], "BAD_USER_INPUT")
    ]
    nobody = await http('mutation { inviteToRoom(room: "secret", username: "nobody") { name } }')
    assert refused(nobody, "inviteToRoom") == [("No such user.", ["inviteToRoom"], "NOT_FOUND")]
    anonymous = await GraphQLHttp()(CREATE, {"n": "mine", "p": True})
    assert refused(anonymous, "createRoom") == [
        ("Sign in to create rooms.", ["createRoom"], "UNAUTHENTICATED")
    ]
    assert await sync_to_async(Room.objects.count)() == 1


async def test_join_a_public_room_lists_you_as_member(alice: factories.Member) -> None:
    join = 'mutation { joinRoom(room: "lobby") { name private members { username } } }'
    assert await GraphQLHttp(alice.token)(join) == {
        "data": {
            "joinRoom": {"name": "lobby", "private": False, "members": [{"username": "alice"}]}
        }
    }


REMOVE = 'mutation($u: String!) { removeFromRoom(room: "secret", username: $u) { name members { username } createdBy { username } } }'  # noqa: E501


async def test_creator_removes_a_member_whose_subscription_ends_forbidden(
    secret: None, alice: factories.Member, bob: factories.Member, sockets: list[GraphQLSocket]
) -> None:
    invite = 'mutation { inviteToRoom(room: "secret", username: "bob") { name } }'
    await GraphQLHttp(alice.token)(invite)
    member = GraphQLSocket()
    sockets.append(member)
    await member.connect({"authToken": bob.token})
    await member.subscribe(
        "s",
        'subscription { messageAdded(room: "secret") '
        "{ seq room { private createdBy { username } } } }",
    )
    await wait_for(lambda: get_hub().rooms == {"secret": 1})
    await GraphQLHttp(alice.token)(SEND, {"t": "hello bob"})
    assert await member.receive() == {
        "id": "s",
        "type": "next",
        "payload": {
            "data": {
                "messageAdded": {
                    "seq": 1,
                    "room": {"private": True, "createdBy": {"username": "alice"}},
                }
            }
        },
    }

    # Only the creator may remove members.
    assert refused(await GraphQLHttp(bob.token)(REMOVE, {"u": "alice"}), "removeFromRoom") == [
        ("Only the room's creator can remove members.", ["removeFromRoom"], "FORBIDDEN")
    ]
    assert await GraphQLHttp(alice.token)(REMOVE, {"u": "bob"}) == {
        "data": {
            "removeFromRoom": {
                "name": "secret",
                "members": [{"username": "alice"}],
                "createdBy": {"username": "alice"},
            }
        }
    }
    assert await member.receive() == {
        "id": "s",
        "type": "next",
        "payload": {"data": None, "errors": [FORBIDDEN]},
    }
    assert await member.receive() == {"id": "s", "type": "complete"}
    await wait_for(lambda: get_hub().rooms == {})
    assert refused(await GraphQLHttp(bob.token)(SEND, {"t": "still here?"}), "sendMessage") == [
        ("You are not a member of this room.", ["sendMessage"], "FORBIDDEN")
    ]


async def test_remove_from_room_errors_change_nothing(
    secret: None, alice: factories.Member, bob: factories.Member
) -> None:
    owner = GraphQLHttp(alice.token)
    await owner('mutation { inviteToRoom(room: "secret", username: "bob") { name } }')
    await owner('mutation { joinRoom(room: "lobby") { name } }')
    cases = [
        (owner, REMOVE, {"u": "nobody"}, "No such member.", "NOT_FOUND"),
        (owner, REMOVE, {"u": "alice"}, "Use leaveRoom to leave a room.", "BAD_USER_INPUT"),
        (
            owner,
            'mutation { removeFromRoom(room: "lobby", username: "alice") { name } }',
            {},
            "Members can only be removed from private rooms.",
            "BAD_USER_INPUT",
        ),
        (
            owner,
            'mutation { removeFromRoom(room: "nowhere", username: "bob") { name } }',
            {},
            "No such room.",
            "NOT_FOUND",
        ),
        (GraphQLHttp(), REMOVE, {"u": "bob"}, "Sign in to remove members.", "UNAUTHENTICATED"),
    ]
    for client, query, variables, message, code in cases:
        assert await client(query, variables) == {
            "data": None,
            "errors": [
                {
                    "message": message,
                    "locations": [{"line": 1, "column": query.index("removeFromRoom") + 1}],
                    "path": ["removeFromRoom"],
                    "extensions": {"code": code},
                }
            ],
        }, message
    members = await sync_to_async(
        lambda: sorted(
            (room.name, user.username) for room in Room.objects.all() for user in room.members.all()
        )
    )()
    assert members == [("lobby", "alice"), ("secret", "alice"), ("secret", "bob")]


async def test_invite_and_remove_name_users_as_login_does(
    secret: None, alice: factories.Member, bob: factories.Member
) -> None:
    # Usernames compare case-insensitively and NFKC-normalised, for invitations too.
    owner = GraphQLHttp(alice.token)
    fullwidth_bob = "\uff22\uff2f\uff22"
    invite = (
        f'mutation {{ inviteToRoom(room: "secret", username: "{fullwidth_bob}") '
        "{ members { username } } }"
    )
    assert await owner(invite) == {
        "data": {"inviteToRoom": {"members": [{"username": "alice"}, {"username": "bob"}]}}
    }
    remove = 'mutation { removeFromRoom(room: "secret", username: "Bob") { members { username } } }'
    assert await owner(remove) == {"data": {"removeFromRoom": {"members": [{"username": "alice"}]}}}
