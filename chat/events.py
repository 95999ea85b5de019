"""Group names, channel-layer payloads and the event kinds that carry them (chat.kinds):
the only module that knows their shape."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, NotRequired, TypedDict

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from chat.kinds import EventKind, kind_register
from chat.metrics import MESSAGES_PUBLISHED, ROOM_EVENTS_PUBLISHED
from chat.models import (
    Message,
    ReactionSummary,
    Room,
    RoomEvent,
    message_with_relations,
    model_restore,
)
from chat.roomevents import MAX_REACTION_USERS, RoomEventValue, room_event_history, room_event_value
from chat.selectors import (
    room_last_event_seq,
    room_last_event_seqs_and_access,
    room_last_seq,
    room_last_seqs_and_access,
    room_message_list,
)
from chat.signalling import (
    SIGNAL_EVENT_TYPE,
    USER_EVENT_TYPE,
    PresenceChanged,
    ReadUpTo,
    RoomSignalPayload,
    RoomSignalValue,
    UserNoticePayload,
)

__all__ = [
    "ACCESS_CHANGED_EVENT_TYPE",
    "ACCESS_GROUP",
    "INBOX_MESSAGE_KIND",
    "MEMBER_REMOVED_EVENT_TYPE",
    "MEMBER_REMOVED_KIND",
    "MESSAGES_EVENT_TYPE",
    "MESSAGE_EVENT_TYPE",
    "MESSAGE_KIND",
    "ROOM_EVENTS_EVENT_TYPE",
    "ROOM_EVENT_EVENT_TYPE",
    "ROOM_EVENT_KIND",
    "SIGNAL_KIND",
    "USER_NOTICE_KIND",
    "AccessChangedEvent",
    "Event",
    "MemberRemovedEvent",
    "MemberRemovedPayload",
    "MentionPayload",
    "MessageEvent",
    "MessagePayload",
    "access_changed_event_build",
    "event_group_name",
    "event_send_on_commit",
    "events_sink_set",
    "member_removed_event_build",
    "message_event_build",
    "message_from_payload",
    "message_history",
    "room_event_build",
    "room_event_from_payload",
    "room_group_name",
    "session_credential_key",
    "token_credential_key",
]

logger = logging.getLogger(__name__)

MESSAGE_EVENT_TYPE: Literal["chat.message"] = "chat.message"


class ReactionPayload(TypedDict):
    emoji: str
    count: int
    # Every reacting user's id, in order; the usernames of the first MAX_REACTION_USERS.
    user_ids: list[int]
    usernames: list[str]


class ReplyPayload(TypedDict):
    """The message replied to, one level deep (its own replyTo is read when asked for)."""

    id: int
    seq: int
    text: str
    created_at: str
    author_id: int
    author_username: str
    edited_at: str | None
    deleted: bool
    reply_to_id: int | None


class MentionPayload(TypedDict):
    id: int
    username: str


class MessagePayload(TypedDict):
    id: int
    seq: int
    text: str
    created_at: str
    author_id: int
    author_username: str
    # Absent in events from a process of a version before room events: as for a new post.
    edited_at: NotRequired[str | None]
    deleted: NotRequired[bool]
    reply_to: NotRequired[ReplyPayload | None]
    reactions: NotRequired[list[ReactionPayload]]
    # A post's eventSeq: its message event is also its room event (MessagePosted).
    event_seq: NotRequired[int]
    room_id: int
    room_name: str
    room_created_at: str
    room_private: NotRequired[bool]
    room_created_by_id: NotRequired[int | None]
    # Room.access_version as of this message (absent: 0, from a previous version).
    room_access_version: NotRequired[int]
    # Absent from a previous version: not known (read when asked for).
    room_direct: NotRequired[bool]
    mentions: NotRequired[list[MentionPayload]]


class MessageEvent(TypedDict):
    type: Literal["chat.message"]
    room: str
    message: MessagePayload
    # time.time() at publish, for the delivery latency histogram (chat.metrics).
    published_at: NotRequired[float]


class RoomEventPayload(TypedDict):
    """One room event (chat.roomevents), with the room as of it."""

    event_seq: int
    kind: str
    at: str
    actor_id: int | None
    actor_username: str | None
    room_id: int
    room_name: str
    room_created_at: str
    room_private: bool
    room_created_by_id: int | None
    room_last_seq: int
    room_access_version: int
    room_direct: NotRequired[bool]
    message: NotRequired[MessagePayload]
    user_id: NotRequired[int | None]
    username: NotRequired[str | None]
    emoji: NotRequired[str]
    removed_by_id: NotRequired[int | None]
    removed_by_username: NotRequired[str | None]


class RoomEventEvent(TypedDict):
    type: Literal["chat.room_event"]
    room: str
    event: RoomEventPayload
    published_at: NotRequired[float]


class MemberRemovedPayload(TypedDict):
    user_id: int


class MemberRemovedEvent(TypedDict):
    type: Literal["chat.member_removed"]
    room: str
    member: MemberRemovedPayload
    # The same, as a process of the version before event kinds sends and reads it.
    user_id: int


class AccessChangedEvent(TypedDict):
    """Someone may have lost access: every process re-checks what it serves.

    With ``room``: the room's ``access_version`` is now ``access_version``; it goes to the
    room's group, in order with the room's messages. Without: the sockets authenticated by
    ``credential`` (token_credential_key, session_credential_key), or every socket of
    ``user_id``, end; it goes to ACCESS_GROUP, which every process joins.
    """

    type: Literal["chat.access"]
    room: NotRequired[str]
    access_version: NotRequired[int]
    user_id: NotRequired[int]
    credential: NotRequired[str]


ACCESS_CHANGED_EVENT_TYPE: Literal["chat.access"] = "chat.access"
ACCESS_GROUP = "chat.access"
MEMBER_REMOVED_EVENT_TYPE: Literal["chat.member_removed"] = "chat.member_removed"
MESSAGES_EVENT_TYPE: Literal["chat.messages"] = "chat.messages"
ROOM_EVENT_EVENT_TYPE: Literal["chat.room_event"] = "chat.room_event"
ROOM_EVENTS_EVENT_TYPE: Literal["chat.room_events"] = "chat.room_events"

# What ORM code publishes; the engine treats every event as a plain mapping, by kind.
PublishedEvent = MessageEvent | RoomEventEvent | MemberRemovedEvent | AccessChangedEvent
Event = PublishedEvent | dict[str, Any]


def member_removed_event_build(*, room: Room, user: AbstractBaseUser) -> MemberRemovedEvent:
    return {
        "type": MEMBER_REMOVED_EVENT_TYPE,
        "room": room.name,
        "member": {"user_id": user.pk},
        "user_id": user.pk,
    }


def access_changed_event_build(
    *,
    room: Room | None = None,
    user_id: int | None = None,
    credential: str | None = None,
) -> AccessChangedEvent:
    event: AccessChangedEvent = {"type": ACCESS_CHANGED_EVENT_TYPE}
    if room is not None:
        event["room"] = room.name
        event["access_version"] = room.access_version
    if user_id is not None:
        event["user_id"] = user_id
    if credential is not None:
        event["credential"] = credential
    return event


def token_credential_key(digest: str) -> str:
    """The key of a bearer token (by its stored digest) in access notices."""
    return f"token:{digest}"


def session_credential_key(session_key: str) -> str:
    """The key of a session in access notices: hashed, since notices travel through
    Redis and a session key is a credential."""
    return f"session:{hashlib.sha256(session_key.encode()).hexdigest()}"


def event_group_name(event: Event) -> str:
    """Return the group an event goes to: its room's, else every process's."""
    room = event.get("room")
    return room_group_name(room) if isinstance(room, str) else ACCESS_GROUP


def room_group_name(room_name: str) -> str:
    """Return the channel-layer group of a room (names are already Channels-safe)."""
    return f"chat.room.{room_name}"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _reactions_payload(message: Message) -> list[ReactionPayload]:
    return [
        {
            "emoji": summary.emoji,
            "count": summary.count,
            "user_ids": list(summary.user_ids),
            "usernames": [user.get_username() for user in summary.users],
        }
        for summary in message.reaction_summary or ()
    ]


def _reply_payload(message: Message) -> ReplyPayload | None:
    if message.reply_to_id is None:
        return None
    # Read by the writer (chat.posting, chat.messaging) with its author; a query here
    # otherwise (an ORM thread: this runs in the writer's transaction).
    reply = message.reply_to
    assert reply is not None
    return {
        "id": reply.pk,
        "seq": reply.seq,
        "text": reply.text,
        "created_at": reply.created_at.isoformat(),
        "author_id": reply.author_id,
        "author_username": reply.author.get_username(),
        "edited_at": _iso(reply.edited_at),
        "deleted": reply.deleted,
        "reply_to_id": reply.reply_to_id,
    }


def message_payload(message: Message, *, event_seq: int | None = None) -> MessagePayload:
    """Everything a subscriber can select of ``message`` (its reactions as in its
    ``reaction_summary``: none if unread), so delivering it needs no database read per
    subscriber."""
    room = message.room
    payload: MessagePayload = {
        "id": message.pk,
        "seq": message.seq,
        "text": message.text,
        "created_at": message.created_at.isoformat(),
        "author_id": message.author.pk,
        "author_username": message.author.get_username(),
        "edited_at": _iso(message.edited_at),
        "deleted": message.deleted,
        "reply_to": _reply_payload(message),
        "reactions": _reactions_payload(message),
        "room_id": room.pk,
        "room_name": room.name,
        "room_created_at": room.created_at.isoformat(),
        "room_private": room.is_private,
        "room_created_by_id": room.created_by_id,
        "room_access_version": room.access_version,
    }
    direct = _direct(room)
    if direct is not None:
        payload["room_direct"] = direct
    if message.mention_list is not None:
        payload["mentions"] = [
            {"id": user.pk, "username": user.get_username()} for user in message.mention_list
        ]
    if event_seq is not None:
        payload["event_seq"] = event_seq
    return payload


def _direct(room: Room) -> bool | None:
    # Only as loaded: a room restored from an event of a previous version lacks it, and
    # reading it would query.
    value = vars(room).get("direct")
    return None if value is None else bool(value)


def message_event_build(message: Message, *, event_seq: int | None = None) -> MessageEvent:
    """A post's event: its message, and (``event_seq``) its MessagePosted room event."""
    return {
        "type": MESSAGE_EVENT_TYPE,
        "room": message.room.name,
        "message": message_payload(message, event_seq=event_seq),
    }


def room_event_build(
    *,
    kind: str,
    event_seq: int,
    room: Room,
    at: datetime,
    actor: AbstractBaseUser | None,
    message: Message | None = None,
    user: AbstractBaseUser | None = None,
    emoji: str = "",
    removed_by: AbstractBaseUser | None = None,
) -> RoomEventEvent:
    """A room event (not a post's: that one travels in its message event), with ``room``
    as of it (its last_seq and access_version)."""
    payload: RoomEventPayload = {
        "event_seq": event_seq,
        "kind": kind,
        "at": at.isoformat(),
        "actor_id": None if actor is None else actor.pk,
        "actor_username": None if actor is None else actor.get_username(),
        "room_id": room.pk,
        "room_name": room.name,
        "room_created_at": room.created_at.isoformat(),
        "room_private": room.is_private,
        "room_created_by_id": room.created_by_id,
        "room_last_seq": room.last_seq,
        "room_access_version": room.access_version,
    }
    direct = _direct(room)
    if direct is not None:
        payload["room_direct"] = direct
    if message is not None:
        payload["message"] = message_payload(message)
    if user is not None:
        payload["user_id"] = user.pk
        payload["username"] = user.get_username()
    if emoji:
        payload["emoji"] = emoji
    if removed_by is not None:
        payload["removed_by_id"] = removed_by.pk
        payload["removed_by_username"] = removed_by.get_username()
    return {"type": ROOM_EVENT_EVENT_TYPE, "room": room.name, "event": payload}


def _posted_of(payload: MessagePayload) -> RoomEventPayload | None:
    """The MessagePosted room event a post's message event stands for (None from a
    process of a version before room events)."""
    event_seq = payload.get("event_seq")
    if event_seq is None:
        return None
    posted: RoomEventPayload = {
        "event_seq": event_seq,
        "kind": RoomEvent.Kind.MESSAGE_POSTED,
        "at": payload["created_at"],
        "actor_id": payload["author_id"],
        "actor_username": payload["author_username"],
        "room_id": payload["room_id"],
        "room_name": payload["room_name"],
        "room_created_at": payload["room_created_at"],
        "room_private": payload.get("room_private", False),
        "room_created_by_id": payload.get("room_created_by_id"),
        "room_last_seq": payload["seq"],
        "room_access_version": payload.get("room_access_version", 0),
        "message": payload,
    }
    if "room_direct" in payload:
        posted["room_direct"] = payload["room_direct"]
    return posted


def _user(user_id: int | None, username: str | None) -> Any:
    if user_id is None:
        return None
    return model_restore(
        get_user_model(), Message.objects.db, {"id": user_id, "username": username}
    )


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _reactions_restore(payloads: list[ReactionPayload]) -> list[ReactionSummary]:
    return [
        ReactionSummary(
            emoji=reaction["emoji"],
            count=reaction["count"],
            user_ids=tuple(reaction["user_ids"]),
            users=tuple(
                _user(user_id, username)
                for user_id, username in zip(
                    reaction["user_ids"][:MAX_REACTION_USERS], reaction["usernames"], strict=False
                )
            ),
        )
        for reaction in payloads
    ]


def _room_restore(
    payload: MessagePayload | RoomEventPayload, last_seq: int, last_event_seq: int | None
) -> Room:
    values: dict[str, Any] = {
        "id": payload["room_id"],
        "name": payload["room_name"],
        "created_at": datetime.fromisoformat(payload["room_created_at"]),
        "last_seq": last_seq,
        # .get: events from a process still on the previous version lack these.
        "is_private": payload.get("room_private", False),
        "created_by_id": payload.get("room_created_by_id"),
    }
    if last_event_seq is not None:
        # Else deferred: read from the database if asked for.
        values["last_event_seq"] = last_event_seq
    if "room_direct" in payload:
        values["direct"] = payload["room_direct"]
    return model_restore(Room, Message.objects.db, values)


def message_from_payload(payload: MessagePayload, *, room: Room | None = None) -> Message:
    """Rebuild an unsaved, fully cached Message (with room, author, the message it
    replies to and its reactions) from an event.

    As the ORM builds instances from rows, once per event per process. The author has only
    id and username; the room (unless given) has its lastSeq as of this message and no
    ``last_activity_at`` (both deferred: reading them would query).
    """
    db = Message.objects.db
    author = _user(payload["author_id"], payload["author_username"])
    if room is None:
        # As of this message: its seq, and its post's eventSeq (absent from a process of
        # the version before room events).
        room = _room_restore(payload, payload["seq"], payload.get("event_seq"))
    reply = payload.get("reply_to")
    message = model_restore(
        Message,
        db,
        {
            "id": payload["id"],
            "room_id": payload["room_id"],
            "seq": payload["seq"],
            "author_id": payload["author_id"],
            "text": payload["text"],
            "created_at": datetime.fromisoformat(payload["created_at"]),
            "edited_at": _when(payload.get("edited_at")),
            "deleted": payload.get("deleted", False),
            "reply_to_id": None if reply is None else reply["id"],
        },
    )
    message.reaction_summary = _reactions_restore(payload.get("reactions", []))
    mentions = payload.get("mentions")
    if mentions is not None:
        message.mention_list = [_user(user["id"], user["username"]) for user in mentions]
    if reply is not None:
        replied = model_restore(
            Message,
            db,
            {
                "id": reply["id"],
                "room_id": payload["room_id"],
                "seq": reply["seq"],
                "author_id": reply["author_id"],
                "text": reply["text"],
                "created_at": datetime.fromisoformat(reply["created_at"]),
                "edited_at": _when(reply["edited_at"]),
                "deleted": reply["deleted"],
                "reply_to_id": reply["reply_to_id"],
            },
        )
        message_with_relations(
            replied, room=room, author=_user(reply["author_id"], reply["author_username"])
        )
        Message.reply_to.field.set_cached_value(message, replied)
    return message_with_relations(message, room=room, author=author)


def room_event_from_payload(payload: RoomEventPayload) -> RoomEventValue:
    """The value of a room event, once per event per process (as message_from_payload)."""
    room = _room_restore(payload, payload["room_last_seq"], payload["event_seq"])
    message_payload_ = payload.get("message")
    return room_event_value(
        kind=payload["kind"],
        event_seq=payload["event_seq"],
        room=room,
        at=datetime.fromisoformat(payload["at"]),
        actor=_user(payload["actor_id"], payload["actor_username"]),
        message=None
        if message_payload_ is None
        else message_from_payload(message_payload_, room=room),
        user=_user(payload.get("user_id"), payload.get("username")),
        emoji=payload.get("emoji", ""),
        removed_by=_user(payload.get("removed_by_id"), payload.get("removed_by_username")),
    )


def message_history(
    *, room_name: str, after: int, limit: int, viewer_id: int | None
) -> list[Message]:
    """Stored messages after seq ``after`` that ``viewer_id`` may read, each with
    ``room.last_seq`` as of that message, as live events carry it."""
    page = room_message_list(room_name=room_name, after_seq=after, limit=limit, viewer_id=viewer_id)
    for message in page:
        message.room.last_seq = message.seq
    return page


_MESSAGE_DELETED = RoomEvent.Kind.MESSAGE_DELETED.value


def _inbox_restore(payload: MessagePayload | RoomEventPayload) -> Message | RoomEventValue:
    # A post's message, or a MessageDeleted room event (see INBOX_MESSAGE_KIND).
    if "event_seq" in payload and payload.get("kind") == _MESSAGE_DELETED:
        return room_event_from_payload(payload)  # type: ignore[arg-type]
    return message_from_payload(payload)  # type: ignore[arg-type]


# The inbox's view of a room (the ``also`` of MESSAGE_KIND and ROOM_EVENT_KIND): posts,
# and deletions (which lower unread counts). Never published on its own.
INBOX_MESSAGE_KIND: EventKind[Message | RoomEventValue] = kind_register(
    EventKind(
        name="inbox_message",
        type="chat.inbox_message",
        field="message",
        restore=_inbox_restore,
    )
)

_MEMBER_LEFT = RoomEvent.Kind.MEMBER_LEFT.value

# roomEvents' kind: durable, positioned by the room's gapless eventSeq. A post's
# MessagePosted travels in its message event (MESSAGE_KIND's ``also``).
ROOM_EVENT_KIND: EventKind[RoomEventValue] = kind_register(
    EventKind(
        name="room_event",
        type=ROOM_EVENT_EVENT_TYPE,
        field="event",
        batch_type=ROOM_EVENTS_EVENT_TYPE,
        batch_field="events",
        restore=room_event_from_payload,
        position=lambda payload: payload["event_seq"],
        value_position=lambda value: value.event_seq,
        history=room_event_history,
        last_position=lambda *, room_name: room_last_event_seq(name=room_name),
        committed=lambda *, room_names: room_last_event_seqs_and_access(names=room_names),
        access_version=lambda payload: payload["room_access_version"],
        # A member who left or was removed gets their own MemberLeft, then their
        # roomEvents subscriptions to the room complete.
        ends_after=lambda payload: (
            payload.get("user_id") if payload["kind"] == _MEMBER_LEFT else None
        ),
        published=ROOM_EVENTS_PUBLISHED,
        presence=True,
        also=(
            (
                INBOX_MESSAGE_KIND,
                lambda payload: payload if payload["kind"] == _MESSAGE_DELETED else None,
            ),
        ),
    )
)


def signal_from_payload(payload: RoomSignalPayload) -> RoomSignalValue:
    """The value of a presence or read signal (typing is coalesced: realtime.signals)."""
    user = _user(payload["user_id"], payload["username"])
    if payload["kind"] == "presence":
        return PresenceChanged(user=user, online=payload.get("online", False))
    return ReadUpTo(user=user, seq=payload.get("seq", 0))


def _typing_stop_of(payload: MessagePayload) -> RoomSignalPayload:
    """A post ends its author's typing."""
    return {
        "kind": "typing",
        "user_id": payload["author_id"],
        "username": payload["author_username"],
        "until": 0,
    }


# roomSignals' kind: ephemeral; typing payloads are coalesced per process.
SIGNAL_KIND: EventKind[RoomSignalValue] = kind_register(
    EventKind(
        name="signal",
        type=SIGNAL_EVENT_TYPE,
        field="signal",
        restore=signal_from_payload,
        presence=True,
        absorb=lambda payload: payload["kind"] == "typing",
    )
)

# One user's notices (the inbox's RoomJoined, RoomLeft, UnreadChanged), keyed by
# chat.signalling.user_key instead of a room.
USER_NOTICE_KIND: EventKind[UserNoticePayload] = kind_register(
    EventKind(
        name="user_notice", type=USER_EVENT_TYPE, field="notice", restore=lambda payload: payload
    )
)

# messageAdded's kind: durable, positioned by the room's gapless message seq.
MESSAGE_KIND: EventKind[Message] = kind_register(
    EventKind(
        name="message",
        type=MESSAGE_EVENT_TYPE,
        field="message",
        batch_type=MESSAGES_EVENT_TYPE,
        batch_field="messages",
        restore=message_from_payload,
        position=lambda payload: payload["seq"],
        value_position=lambda message: message.seq,
        history=message_history,
        last_position=lambda *, room_name: room_last_seq(name=room_name),
        committed=lambda *, room_names: room_last_seqs_and_access(names=room_names),
        # .get: 0 from a process still on a version before access versions.
        access_version=lambda payload: payload.get("room_access_version", 0),
        published=MESSAGES_PUBLISHED,
        presence=True,
        also=(
            (ROOM_EVENT_KIND, _posted_of),
            (INBOX_MESSAGE_KIND, lambda payload: payload),
            (SIGNAL_KIND, _typing_stop_of),
        ),
    )
)

# A member left or was removed: their subscriptions to the room end, whatever their kind.
MEMBER_REMOVED_KIND: EventKind[MemberRemovedPayload] = kind_register(
    EventKind(
        name="member_removed",
        type=MEMBER_REMOVED_EVENT_TYPE,
        field="member",
        restore=lambda payload: payload,
        ends_subscription=lambda payload, user_id: payload["user_id"] == user_id,
        # Events from a process of the previous version carry only ``user_id``.
        payload_of=lambda event: event.get("member") or {"user_id": event["user_id"]},
    )
)


_sink: Callable[[Event], None] | None = None


def events_sink_set(sink: Callable[[Event], None]) -> None:
    """Install what delivers events once their transaction commits (the realtime engine's
    publisher, set by its AppConfig)."""
    global _sink
    _sink = sink


def event_send_on_commit(event: Event) -> None:
    """Publish ``event`` once the current transaction commits (at once outside one), so a
    subscriber never sees what was rolled back."""
    transaction.on_commit(lambda: _event_send(event), robust=True)


def _event_send(event: Event) -> None:
    if _sink is None:
        logger.error(
            "no event sink installed; %s for room %s dropped", event["type"], event.get("room")
        )
        return
    _sink(event)
