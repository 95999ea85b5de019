"""Rooms, their messages (numbered per room by ``seq``), reactions, the room event log
(numbered per room by ``seq`` too, over every durable event) and bearer tokens."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import DEFERRED
from django.utils import timezone


class Room(models.Model):
    name = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Highest seq handed out in this room; incremented under the row lock by message_create.
    last_seq = models.PositiveBigIntegerField(default=0)
    # Highest RoomEvent.seq handed out in this room, likewise under the row lock.
    # (db_default: a process of the previous version, mid rolling upgrade, inserts rooms
    # and messages without the new columns.)
    last_event_seq = models.PositiveBigIntegerField(default=0, db_default=0)
    last_activity_at = models.DateTimeField(default=timezone.now)
    # Private rooms are visible to their members only; public ones to everyone.
    is_private = models.BooleanField(default=False)
    # Bumped whenever someone may lose access (made private, a member removed or leaving):
    # every message event carries it, so a process re-checks its subscribers' access
    # before delivering the first event at a newer version (see realtime.hub).
    access_version = models.PositiveIntegerField(default=0)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="chat_rooms", blank=True
    )
    # A two-member private room made by directRoom (chat.direct), found by its
    # ``direct_key`` "<lower user id>:<higher user id>": unique, so two concurrent opens
    # of the same pair end with one room. (db_default: see last_event_seq.)
    direct = models.BooleanField(default=False, db_default=False)
    direct_key = models.CharField(max_length=41, null=True, blank=True, unique=True)
    # Set by createRoom (rooms made by a first post have none); may remove members.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        indexes = [models.Index(fields=["-last_activity_at", "-id"], name="room_activity_idx")]

    # Per viewer, set by whoever already knows them (markRead's answer, the inbox): the
    # Room.lastReadSeq and Room.unreadCount resolvers return an instance attribute set
    # here without a query. Annotations only: unset, the resolvers load them.
    last_read_seq: int | None
    unread_count: int

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class ReactionSummary:
    """One emoji's reactions to a message: how many, who (ids of all, in order of
    reacting) and the first of them as users (id and username only)."""

    emoji: str
    count: int
    user_ids: tuple[int, ...]
    users: tuple[Any, ...]


class Message(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveBigIntegerField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="chat_messages"
    )
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    # A deleted message keeps its seq with an empty text (the original is gone).
    deleted = models.BooleanField(default=False, db_default=False)
    # A message of the same room (chat.messaging checks it).
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # Members of the room named as @username in the text at post time (chat.mentions),
    # in order of first appearance: the through table's ids keep the order.
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)
    # sendMessage's ``clientId``: the author's idempotency key for this post, so that a
    # retry whose answer was lost returns this message instead of posting again. Unique per
    # author while set; cleared a day on by client_ids_expire (chat/posting.py). Nullable
    # without a default, so a process of the previous version, mid rolling upgrade, still
    # inserts messages.
    # NULL, not "", for none: the unique constraint leaves NULLs out.
    client_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001

    # The message's reactions in order of first use, when read with it (from an event's
    # payload, or chat.roomevents.reactions_attach); None: not read (load them).
    reaction_summary: list[ReactionSummary] | None = None
    # Its mentioned users (id and username), when read with it (the post itself, an
    # event's payload, chat.roomevents.mentions_attach); None: not read (load them).
    mention_list: list[Any] | None = None

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="message_room_seq_unique"),
            # Also what makes two concurrent posts with one key store one message.
            models.UniqueConstraint(
                fields=["author", "client_id"],
                condition=models.Q(client_id__isnull=False),
                name="message_author_client_id_unique",
            ),
        ]
        ordering = ["room_id", "seq"]

    def __str__(self) -> str:
        return f"{self.room_id}#{self.seq}"


M = TypeVar("M", bound=models.Model)


def model_restore_public(model: type[M], db: str, values: dict[str, Any]) -> M:
    # from_db takes the values of all concrete fields in declaration order (those left
    # out as DEFERRED), whatever order ``values`` lists them in.
    names = [field.attname for field in model._meta.concrete_fields]
    return model.from_db(db, names, [values.get(name, DEFERRED) for name in names])


# How model_restore builds an instance: Django's public Model.from_db by default;
# internals/django.py installs a faster one at start-up under its hook.
model_restorer: Callable[[type[Any], str, dict[str, Any]], Any] = model_restore_public


def model_restore(model: type[M], db: str, values: dict[str, Any]) -> M:
    """The instance ``model.from_db`` makes of a row of ``values`` (attname: value; the
    fields left out are deferred, as there)."""
    return model_restorer(model, db, values)  # type: ignore[no-any-return]


def model_columns(model: type[models.Model], table: str) -> str:
    """Every concrete column of ``model``, qualified by ``table`` (an alias), for a raw
    statement whose rows start with them: model_from_row reads them back."""
    return ", ".join(f"{table}.{field.column}" for field in model._meta.concrete_fields)


def model_from_row(model: type[M], db: str, row: Sequence[Any]) -> M:
    """The instance of the row's first values, in model_columns' order (what follows them
    is the statement's own)."""
    fields = model._meta.concrete_fields
    return model_restore(model, db, {f.attname: v for f, v in zip(fields, row, strict=False)})


def message_with_relations(message: Message, *, room: Room, author: models.Model) -> Message:
    """Cache ``room`` and ``author`` on ``message`` as select_related would."""
    Message.room.field.set_cached_value(message, room)
    Message.author.field.set_cached_value(message, author)
    return message


class Reaction(models.Model):
    """One user's reaction with one emoji to one message."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["message", "user", "emoji"], name="reaction_message_user_emoji_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.emoji} on {self.message_id} by {self.user_id}"


class RoomEvent(models.Model):
    """One durable room event, numbered per room by ``seq`` (``roomEvents``' eventSeq):
    what happened, not a copy of the message, which is read as it is now."""

    class Kind(models.TextChoices):
        MESSAGE_POSTED = "message_posted"
        MESSAGE_EDITED = "message_edited"
        MESSAGE_DELETED = "message_deleted"
        REACTION_ADDED = "reaction_added"
        REACTION_REMOVED = "reaction_removed"
        MEMBER_JOINED = "member_joined"
        MEMBER_LEFT = "member_left"

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=32, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # The reacting user, or the member who joined or left.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    emoji = models.CharField(max_length=64, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="roomevent_room_seq_unique")
        ]

    def __str__(self) -> str:
        return f"{self.room_id}@{self.seq} {self.kind}"


class ReadMarker(models.Model):
    """How far one user has read one room: every message with ``seq`` up to here.
    Only ever raised (chat.reads.read_mark)."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    seq = models.PositiveBigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="readmarker_room_user_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.room_id} to {self.seq}"


class AuthToken(models.Model):
    """A bearer token; only its SHA-256 digest is stored."""

    digest = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_tokens"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"token {self.pk} of user {self.user_id}"


class UsernameKey(models.Model):
    """A user's name as compared and its look-alike key (chat.usernames), each unique:
    registration refuses a name that folds or looks like a taken one with an index
    lookup, and login finds the user by the folded name."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="chat_username_key",
    )
    # Folding and prototypes can lengthen a name (ß -> ss, m -> rn): room for 150 characters.
    folded = models.CharField(max_length=600, unique=True)
    skeleton = models.CharField(max_length=600, unique=True)

    def __str__(self) -> str:
        return self.folded
