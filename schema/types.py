"""GraphQL object types. Model-backed types read only cached fields (no lazy queries)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

import strawberry
import strawberry_django
from django.contrib.auth import get_user_model
from strawberry import relay

from chat import models, roomevents
from chat.errors import InvalidInput
from chat.signalling import MAX_ONLINE_LISTED
from realtime.ephemeral import get_store
from realtime.signals import presence_reap, user_restore
from schema.context import ChatInfo
from schema.loaders import loaders

__all__ = [
    "ROOM_EVENT_TYPES",
    "AuthPayload",
    "MessageConnection",
    "MessageEdge",
    "MessageType",
    "ReactionType",
    "RoomConnection",
    "RoomEdge",
    "RoomEventConnection",
    "RoomEventEdge",
    "RoomEventInterface",
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
    last_event_seq: int = strawberry_django.field(
        description="The room's highest eventSeq (roomEvents); in event payloads, as of that event."
    )
    private: bool = strawberry_django.field(
        field_name="is_private", description="Visible to its members only."
    )
    direct: bool = strawberry_django.field(
        description="A direct room of two members, made by directRoom (private, and no "
        "one can be invited to it)."
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

    @strawberry.field(
        description="How many users are online in the room: those holding a live "
        "messageAdded, roomEvents or roomSignals subscription to it, on any server."
    )
    async def online_count(self) -> int:
        room: models.Room = self  # type: ignore[assignment]
        return await presence_reap(room.name)

    @strawberry.field(
        description=f"Some of the users online in the room, longest online first: the "
        f"first `first` (0 to {MAX_ONLINE_LISTED})."
    )
    async def online(self, first: int = 50) -> list[UserType]:
        if not 0 <= first <= MAX_ONLINE_LISTED:
            raise InvalidInput(f"`first` must be between 0 and {MAX_ONLINE_LISTED}.")
        room: models.Room = self  # type: ignore[assignment]
        if first == 0:
            return []
        members = await get_store().presence_list(room.name, first)
        return [user_restore(uid, name) for uid, name in members]

    # The viewer's marker and unread count: taken as given when whoever made the Room
    # instance set them on it (markRead's answer, the inbox's events: see
    # chat.models.Room), else loaded per viewer in one query for the whole page.
    @strawberry.field(
        description="How far you have read: your read marker's seq (markRead); null if "
        "you never marked the room, or are anonymous."
    )
    async def last_read_seq(self, info: ChatInfo) -> int | None:
        room: models.Room = self  # type: ignore[assignment]
        if "last_read_seq" in vars(room):
            return room.last_read_seq
        user = info.context.user
        if not user.is_authenticated:
            return None
        return await loaders().read_markers.load((user.pk, room.pk))

    @strawberry.field(
        description="Messages after lastReadSeq (all, if null) that are neither yours nor "
        "deleted; 0 if you are anonymous or not a member."
    )
    async def unread_count(self, info: ChatInfo) -> int:
        room: models.Room = self  # type: ignore[assignment]
        if "unread_count" in vars(room):
            return room.unread_count
        user = info.context.user
        if not user.is_authenticated:
            return 0
        return await loaders().unread_counts.load((user.pk, room.pk)) or 0

    @strawberry.field(description="The room's latest message that is not deleted.")
    async def last_message(self) -> MessageType | None:
        room: models.Room = self  # type: ignore[assignment]
        return await loaders().last_messages.load(room.pk)  # type: ignore[return-value]


@strawberry.type(name="Reaction", description="One emoji's reactions to a message.")
class ReactionType:
    emoji: str
    count: int

    @strawberry.field(description="Whether you reacted with this emoji.")
    def reacted_by_me(self, info: ChatInfo) -> bool:
        summary: models.ReactionSummary = self  # type: ignore[assignment]
        user = info.context.user
        return user.is_authenticated and user.pk in summary.user_ids

    @strawberry.field(
        description="Who reacted, in order of reacting: the first `first` (0 to "
        f"{roomevents.MAX_REACTION_USERS})."
    )
    def users(self, first: int = 10) -> list[UserType]:
        if not 0 <= first <= roomevents.MAX_REACTION_USERS:
            raise InvalidInput(f"`first` must be between 0 and {roomevents.MAX_REACTION_USERS}.")
        summary: models.ReactionSummary = self  # type: ignore[assignment]
        return list(summary.users[:first])


@strawberry_django.type(models.Message, name="Message")
class MessageType:
    id: strawberry.ID
    seq: int
    text: str = strawberry_django.field(description='Empty ("") once deleted.')
    created_at: datetime
    author: UserType
    room: RoomType
    edited_at: datetime | None = strawberry_django.field(
        description="When it was last edited; null if never."
    )
    deleted: bool = strawberry_django.field(
        description="Deleted: it keeps its seq, with an empty text and no reactions."
    )

    @strawberry.field(description="The message this one replies to (of the same room).")
    async def reply_to(self) -> MessageType | None:
        message: models.Message = self  # type: ignore[assignment]
        if message.reply_to_id is None:
            return None
        if models.Message.reply_to.is_cached(message):
            return message.reply_to  # type: ignore[return-value]
        return await loaders().messages.load(message.reply_to_id)  # type: ignore[return-value]

    @strawberry.field(
        description="The room's members named as @username in the text when it was posted, "
        "in order of first appearance (at most 20); an edit does not change them."
    )
    async def mentions(self) -> list[UserType]:
        message: models.Message = self  # type: ignore[assignment]
        if message.mention_list is not None:
            return message.mention_list
        return await loaders().mentions.load(message.pk)  # type: ignore[return-value]

    @strawberry.field(description="Reactions by emoji, in order of first use.")
    async def reactions(self) -> list[ReactionType]:
        message: models.Message = self  # type: ignore[assignment]
        if message.reaction_summary is not None:
            return message.reaction_summary  # type: ignore[return-value]
        return await loaders().reactions.load(message.pk)  # type: ignore[return-value]


@strawberry.interface(
    name="RoomEvent",
    description="Something that happened in a room, numbered per room by eventSeq "
    "(1, 2, 3, … with no gaps).",
)
class RoomEventInterface:
    event_seq: int
    room: RoomType
    at: datetime
    actor: UserType | None = strawberry.field(
        description="Who did it (null if their account is gone)."
    )


def _event_type(value_class: type) -> classmethod:  # type: ignore[type-arg]
    """Which GraphQL type an event value is: by its class (chat.roomevents)."""

    def is_type_of(cls: type, obj: object, _info: object) -> bool:
        return isinstance(obj, value_class)

    return classmethod(is_type_of)


@strawberry.type(name="MessagePosted")
class MessagePostedType(RoomEventInterface):
    message: MessageType
    is_type_of = _event_type(roomevents.MessagePosted)


@strawberry.type(name="MessageEdited", description="The message as edited.")
class MessageEditedType(RoomEventInterface):
    message: MessageType
    is_type_of = _event_type(roomevents.MessageEdited)


@strawberry.type(name="MessageDeleted", description="The deleted message (its tombstone).")
class MessageDeletedType(RoomEventInterface):
    message: MessageType
    is_type_of = _event_type(roomevents.MessageDeleted)


@strawberry.type(name="ReactionAdded")
class ReactionAddedType(RoomEventInterface):
    message: MessageType
    emoji: str
    user: UserType
    is_type_of = _event_type(roomevents.ReactionAdded)


@strawberry.type(name="ReactionRemoved")
class ReactionRemovedType(RoomEventInterface):
    message: MessageType
    emoji: str
    user: UserType
    is_type_of = _event_type(roomevents.ReactionRemoved)


@strawberry.type(name="MemberJoined")
class MemberJoinedType(RoomEventInterface):
    user: UserType
    is_type_of = _event_type(roomevents.MemberJoined)


@strawberry.type(name="MemberLeft")
class MemberLeftType(RoomEventInterface):
    user: UserType
    removed_by: UserType | None = strawberry.field(
        description="Who removed them (null if they left)."
    )
    is_type_of = _event_type(roomevents.MemberLeft)


# Every implementation, for the schema's ``types`` (none is reachable by a field's type).
ROOM_EVENT_TYPES = (
    MessagePostedType,
    MessageEditedType,
    MessageDeletedType,
    ReactionAddedType,
    ReactionRemovedType,
    MemberJoinedType,
    MemberLeftType,
)


@strawberry.type(name="RoomEventEdge")
class RoomEventEdge:
    cursor: str
    node: RoomEventInterface


@strawberry.type(name="RoomEventConnection")
class RoomEventConnection:
    edges: list[RoomEventEdge]
    page_info: relay.PageInfo


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
