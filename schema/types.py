"""GraphQL object types. Model-backed types read only cached fields (no lazy queries)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

import strawberry
import strawberry_django
from django.contrib.auth import get_user_model
from strawberry import relay

from chat import models
from chat.errors import InvalidInput
from schema.loaders import loaders

__all__ = [
    "AuthPayload",
    "MessageConnection",
    "MessageEdge",
    "MessageType",
    "RoomConnection",
    "RoomEdge",
    "RoomType",
    "UserType",
    "cursor_decode",
    "cursor_encode",
]


@strawberry_django.type(get_user_model(), name="User")
class UserType:
    id: strawberry.ID
    username: str


@strawberry_django.type(models.Room, name="Room")
class RoomType:
    id: strawberry.ID
    name: str
    created_at: datetime
    last_seq: int
    private: bool = strawberry_django.field(
        field_name="is_private", description="Visible to its members only."
    )

    # Both relations are batched (schema/loaders.py): a page of rooms, or of messages
    # with their rooms, costs one query for all their creators and one for all members.
    @strawberry.field(
        description="Who created the room with createRoom (null if a first post created it); "
        "they may remove members of a private room."
    )
    async def created_by(self) -> UserType | None:
        room: models.Room = self  # type: ignore[assignment]
        if room.created_by_id is None:
            return None
        if models.Room.created_by.is_cached(room):
            return room.created_by  # type: ignore[return-value]
        return await loaders().users.load(room.created_by_id)  # type: ignore[return-value]

    @strawberry.field(
        description="Members, by username (for public rooms: who joined); the first "
        "CHAT_MAX_PAGE_SIZE (100) of them."
    )
    async def members(self) -> list[UserType]:
        room: models.Room = self  # type: ignore[assignment]
        return await loaders().room_members.load(room.pk)  # type: ignore[return-value]


@strawberry_django.type(models.Message, name="Message")
class MessageType:
    id: strawberry.ID
    seq: int
    text: str
    created_at: datetime
    author: UserType
    room: RoomType


@strawberry.type(name="MessageEdge")
class MessageEdge:
    cursor: str
    node: MessageType


@strawberry.type(name="MessageConnection")
class MessageConnection:
    edges: list[MessageEdge]
    page_info: relay.PageInfo


@strawberry.type(name="RoomEdge")
class RoomEdge:
    cursor: str
    node: RoomType


@strawberry.type(name="RoomConnection")
class RoomConnection:
    edges: list[RoomEdge]
    page_info: relay.PageInfo


@strawberry.type(name="AuthPayload")
class AuthPayload:
    user: UserType
    token: str = strawberry.field(
        description="Bearer token: send it as `Authorization: Bearer <token>` on HTTP "
        'or as `{"authToken": "<token>"}` in the websocket connection_init payload.'
    )


def cursor_encode(kind: str, value: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode()


def cursor_decode(kind: str, cursor: str) -> str:
    """Return the value of a cursor of ``kind`` or raise BAD_USER_INPUT."""
    try:
        decoded = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeError, ValueError) as error:
        raise InvalidInput("Invalid cursor.") from error
    prefix, _, value = decoded.partition(":")
    if prefix != kind or not value:
        raise InvalidInput("Invalid cursor.")
    return value
