"""What happens to a message after it is posted: edits, deletions and reactions, each
logged as a room event (chat.eventlog) and published after commit.

Every write here takes the room's lock first (chat.eventlog.room_lock) and re-reads the
message under it, so that a concurrent edit, deletion or reaction (in any process) is
seen: a message deleted meanwhile refuses the edit, and eventSeqs follow commit order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

import emoji as emoji_data
from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.utils import timezone

from chat.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from chat.eventlog import room_event_record, room_lock
from chat.models import Message, Reaction, RoomEvent
from chat.ratelimit import send_rate_check
from chat.roomevents import mentions_attach, reactions_attach
from chat.selectors import message_visible_get
from chat.services import message_text_check

__all__ = [
    "MAX_DISTINCT_REACTIONS",
    "emoji_check",
    "message_delete",
    "message_edit",
    "message_staff_delete",
    "message_staff_edit",
    "reaction_add",
    "reaction_remove",
]

MAX_DISTINCT_REACTIONS = 20
_SHORT_NAME = re.compile(r":[a-z0-9_+-]{1,32}:")

T = TypeVar("T")


def emoji_check(value: str) -> str:
    """Return ``value`` if it is one emoji (one grapheme cluster: ZWJ sequences, skin
    tones, keycaps and flags included) or a ``:short_name:``; else BAD_USER_INPUT."""
    if _SHORT_NAME.fullmatch(value) or (len(value) <= 32 and emoji_data.is_emoji(value)):
        return value
    raise InvalidInput(
        "`emoji` must be one emoji, or a :short_name: of 1 to 32 characters of a-z, 0-9, "
        "'_', '+' or '-'."
    )


def _signed_in(user: User | AnonymousUser) -> User:
    if not user.is_authenticated:
        raise Unauthenticated("Sign in first.")
    return user  # type: ignore[return-value]


def _rate_check(user: User) -> None:
    # Every attempt counts, as for posts (chat.posting), and before the room's lock: a
    # Redis round trip is not held under it.
    send_rate_check(user.pk)


def _locked(message_id: int, user: User, change: Callable[[Message], T]) -> T:
    """Find the message (NOT_FOUND if missing or in a room ``user`` cannot see), then run
    ``change`` on it as it is under its room's lock, in one transaction."""
    found = message_visible_get(message_id=message_id, user=user)
    return _under_lock(found.pk, found.room_id, change)


def _staff_locked(message_id: int, user: User, change: Callable[[Message], T]) -> T:
    """As _locked, for staff (the admin): any message, whichever room it is in."""
    if not user.is_staff:
        raise Forbidden("Staff only.")
    room_id = Message.objects.filter(pk=message_id).values_list("room_id", flat=True).first()
    if room_id is None:
        raise NotFound("No such message.")
    return _under_lock(message_id, room_id, change)


def _under_lock(message_id: int, room_id: int, change: Callable[[Message], T]) -> T:
    with transaction.atomic():
        room = room_lock(room_id)
        message = Message.objects.select_related("author", "reply_to__author").get(pk=message_id)
        Message.room.field.set_cached_value(message, room)
        return change(message)


def _live(message: Message, action: str) -> None:
    if message.deleted:
        raise InvalidInput(f"You cannot {action} a deleted message.")


def _with_reactions(message: Message) -> Message:
    """Read its reactions and mentions, which its event and answer carry."""
    reactions_attach([message])
    mentions_attach([message])
    return message


def _edited(message: Message, text: str, editor: User) -> Message:
    """Replace the text of a live message and log MessageEdited by ``editor``."""
    _live(message, "edit")
    message.text = text
    message.edited_at = timezone.now()
    message.save(update_fields=["text", "edited_at"])
    _with_reactions(message)
    room_event_record(
        room=message.room, kind=RoomEvent.Kind.MESSAGE_EDITED, actor=editor, message=message
    )
    return message


def message_edit(*, message_id: int, user: User | AnonymousUser, text: str) -> Message:
    """Replace the text of ``user``'s own message (the text rules of posting)."""
    author = _signed_in(user)
    text = message_text_check(text)
    _rate_check(author)

    def change(message: Message) -> Message:
        if message.author_id != author.pk:
            raise Forbidden("Only its author can edit a message.")
        return _edited(message, text, author)

    return _locked(message_id, author, change)


def message_staff_edit(*, message_id: int, editor: User, text: str) -> Message:
    """Replace the text of any message as staff (the admin): the rules and the event of
    editMessage, with ``editor`` as the event's actor."""
    text = message_text_check(text)
    return _staff_locked(message_id, editor, lambda message: _edited(message, text, editor))


def _deleted(message: Message, deleter: User) -> Message:
    """Tombstone a message and log MessageDeleted by ``deleter``; already deleted: no-op."""
    if message.deleted:
        return _with_reactions(message)
    message_tombstone(message)
    room_event_record(
        room=message.room, kind=RoomEvent.Kind.MESSAGE_DELETED, actor=deleter, message=message
    )
    return message


def message_delete(*, message_id: int, user: User | AnonymousUser) -> Message:
    """Delete a message (its author, the room's creator or staff): it keeps its seq,
    its text and reactions are gone from the database. Deleting it again is a no-op."""
    deleter = _signed_in(user)
    _rate_check(deleter)

    def change(message: Message) -> Message:
        allowed = (
            message.author_id == deleter.pk
            or message.room.created_by_id == deleter.pk
            or deleter.is_staff
        )
        if not allowed:
            raise Forbidden("Only its author, the room's creator or staff can delete a message.")
        return _deleted(message, deleter)

    return _locked(message_id, deleter, change)


def message_staff_delete(*, message_id: int, deleter: User) -> Message:
    """Delete any message as staff (the admin), as deleteMessage does: the tombstone and
    its MessageDeleted event, with ``deleter`` as the actor."""
    return _staff_locked(message_id, deleter, lambda message: _deleted(message, deleter))


def message_tombstone(message: Message) -> None:
    """Empty the message in place (in the caller's transaction, under the room's lock)."""
    Reaction.objects.filter(message=message).delete()
    # Who the text named goes with it.
    Message.mentions.through.objects.filter(message_id=message.pk).delete()
    message.text = ""
    message.deleted = True
    message.save(update_fields=["text", "deleted"])
    message.reaction_summary = []
    message.mention_list = []


def _reaction_logged(message: Message, kind: RoomEvent.Kind, reactor: User, emoji: str) -> Message:
    _with_reactions(message)
    room_event_record(
        room=message.room, kind=kind, actor=reactor, message=message, user=reactor, emoji=emoji
    )
    return message


def reaction_add(*, message_id: int, user: User | AnonymousUser, emoji: str) -> Message:
    """React to a message; reacting again with the same emoji changes nothing."""
    reactor = _signed_in(user)
    emoji = emoji_check(emoji)
    _rate_check(reactor)

    def change(message: Message) -> Message:
        _live(message, "react to")
        mine = Reaction.objects.filter(message=message, user=reactor, emoji=emoji)
        if mine.exists():
            return _with_reactions(message)
        distinct = Reaction.objects.filter(message=message).values("emoji").distinct()
        if not distinct.filter(emoji=emoji).exists() and distinct.count() >= MAX_DISTINCT_REACTIONS:
            raise InvalidInput(
                f"A message has at most {MAX_DISTINCT_REACTIONS} different reactions."
            )
        try:
            with transaction.atomic():
                Reaction.objects.create(message=message, user=reactor, emoji=emoji)
        except IntegrityError:
            # The same reaction, added at the same moment (SQLite: the lock is taken by
            # the first write, not by room_lock): nothing changed.
            return _with_reactions(message)
        return _reaction_logged(message, RoomEvent.Kind.REACTION_ADDED, reactor, emoji)

    return _locked(message_id, reactor, change)


def reaction_remove(*, message_id: int, user: User | AnonymousUser, emoji: str) -> Message:
    """Take back a reaction; removing one you do not have changes nothing."""
    reactor = _signed_in(user)
    emoji = emoji_check(emoji)
    _rate_check(reactor)

    def change(message: Message) -> Message:
        _live(message, "react to")
        removed, _ = Reaction.objects.filter(message=message, user=reactor, emoji=emoji).delete()
        if not removed:
            return _with_reactions(message)
        return _reaction_logged(message, RoomEvent.Kind.REACTION_REMOVED, reactor, emoji)

    return _locked(message_id, reactor, change)
