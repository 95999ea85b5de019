"""One user's ``inbox``: every new message in any of their rooms, with live unread
counts, their mentions, and the rooms they join and leave.

Fan-out on read: the inbox follows each of the user's rooms through the hub like any
subscription to it (so a post is still one publish to its room's group, and a process
joins a room's group once however many inboxes follow it), plus the user's own notices
(chat.notify: joined, left, read elsewhere). All of them share one buffer, read here in
order of arrival.

Unread counts are read once per room (chat.inbox, with the room's lastSeq as of the
count), then kept here: a post by someone else after the marker and after that lastSeq
adds one; its deletion takes it away again (UnreadChanged). A markRead on any device
re-reads that room's count. Like other signals the inbox is not resumable; a client that
reconnects reads ``myRooms`` again. A buffer that overflows (a client not reading) drops
events, then re-reads the rooms and their counts and reports what changed (UnreadChanged,
RoomJoined, RoomLeft): the activity it missed is not replayed.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from chat.db import in_thread
from chat.events import INBOX_MESSAGE_KIND, USER_NOTICE_KIND
from chat.inbox import InboxRoom, inbox_rooms
from chat.models import Message, Room
from chat.roomevents import MessageDeleted
from chat.signalling import (
    InboxEventValue,
    Mentioned,
    RoomActivity,
    RoomJoined,
    RoomLeft,
    UnreadChanged,
    UserNoticePayload,
    user_key,
)
from realtime.hub import RoomHub, get_hub
from realtime.mailbox import Mailbox
from realtime.subscriber import Envelope, Subscriber

__all__ = ["inbox_stream"]


@dataclass
class _Followed:
    room: Room
    subscription: contextlib.AbstractAsyncContextManager[Subscriber]
    subscriber: Subscriber
    # Messages up to this seq are in ``unread`` already (or were before the marker).
    counted: int
    last_read: int
    unread: int


def _with_unread(room: Room, state: _Followed) -> Room:
    """The room as this viewer sees it: with their unread count and marker, which
    Room.unreadCount and Room.lastReadSeq then answer without a query. A copy: an
    event's room is shared by every subscriber of the process."""
    mine = copy.copy(room)
    mine.unread_count = state.unread  # type: ignore[attr-defined]
    mine.last_read_seq = state.last_read or None  # type: ignore[attr-defined]
    return mine


def _mentions(message: Message) -> set[int]:
    users = message.mention_list or ()
    return {user.pk for user in users}


class _Inbox:
    def __init__(self, hub: RoomHub, user_id: int, username: str) -> None:
        self.hub = hub
        self.user_id = user_id
        self.username = username
        self.queue: Mailbox[Envelope | None] = Mailbox(maxsize=settings.CHAT["SUBSCRIBER_BUFFER"])
        self.rooms: dict[str, _Followed] = {}
        # The subscriber of the user's notices (set once registered).
        self.notices: Subscriber

    async def follow(self, entry: InboxRoom) -> _Followed | None:
        room = entry.room
        if room.name in self.rooms or len(self.rooms) >= settings.CHAT["MAX_INBOX_ROOMS"]:
            return self.rooms.get(room.name)
        subscription = self.hub.subscribe(
            INBOX_MESSAGE_KIND,
            room.name,
            self.user_id,
            room.access_version,
            username=self.username,
            queue=self.queue,
        )
        subscriber = await subscription.__aenter__()
        followed = self.rooms[room.name] = _Followed(
            room=room,
            subscription=subscription,
            subscriber=subscriber,
            counted=entry.last_seq,
            last_read=entry.last_read,
            unread=entry.unread,
        )
        return followed

    async def unfollow(self, name: str) -> _Followed | None:
        followed = self.rooms.pop(name, None)
        if followed is not None:
            await followed.subscription.__aexit__(None, None, None)
        return followed

    async def close(self) -> None:
        for name in list(self.rooms):
            await self.unfollow(name)

    async def reread(self, room_ids: list[int] | None) -> list[InboxRoom]:
        return await in_thread(inbox_rooms)(
            user_id=self.user_id, limit=settings.CHAT["MAX_INBOX_ROOMS"], room_ids=room_ids
        )

    def posted(self, message: Message) -> list[InboxEventValue]:
        followed = self.rooms.get(message.room.name)
        if followed is None:
            return []
        if (
            message.seq > followed.counted
            and message.seq > followed.last_read
            and message.author_id != self.user_id
        ):
            followed.unread += 1
        followed.counted = max(followed.counted, message.seq)
        room = _with_unread(message.room, followed)
        values: list[InboxEventValue] = [
            RoomActivity(room=room, message=message, unread_count=followed.unread)
        ]
        if self.user_id in _mentions(message):
            values.append(Mentioned(message=message))
        return values

    def deleted(self, event: MessageDeleted) -> list[InboxEventValue]:
        """A deletion: one fewer unread if it was counted."""
        message = event.message
        followed = self.rooms.get(event.room.name)
        if (
            followed is None
            or message.author_id == self.user_id
            or not followed.last_read < message.seq <= followed.counted
        ):
            return []
        followed.unread = max(followed.unread - 1, 0)
        room = _with_unread(event.room, followed)
        return [UnreadChanged(room=room, unread_count=followed.unread)]

    async def noticed(self, notice: UserNoticePayload) -> list[InboxEventValue]:
        name = notice["room_name"]
        if notice["kind"] == "room_left":
            followed = await self.unfollow(name)
            # None: already left when its subscription was cut off (see woken).
            return [] if followed is None else [RoomLeft(room=followed.room)]
        followed = self.rooms.get(name)
        if (
            notice["kind"] == "unread_changed"
            and followed is not None
            and notice.get("last_seq", -1) >= followed.counted
            and notice.get("last_read_seq", 0) >= followed.last_read
        ):
            # markRead's count, as of a lastSeq this inbox has counted no further: exact
            # as it is, with no read here (one per device for every mark). An older
            # notice, or one behind posts already counted, reads the room below.
            followed.unread = notice.get("unread_count", 0)
            followed.last_read = notice.get("last_read_seq", 0)
            followed.counted = notice["last_seq"]
            room = _with_unread(followed.room, followed)
            return [UnreadChanged(room=room, unread_count=followed.unread)]
        fresh = await self.reread([notice["room_id"]])
        if not fresh:
            return []  # not a member (any more): a later notice says so
        entry = fresh[0]
        if notice["kind"] == "room_joined":
            if followed is not None:
                return []
            followed = await self.follow(entry)
            room = entry.room
            if followed is not None:
                room = _with_unread(room, followed)
            return [RoomJoined(room=room)]
        if followed is None:
            return []
        followed.unread, followed.last_read = entry.unread, entry.last_read
        followed.counted = max(followed.counted, entry.last_seq)
        return [UnreadChanged(room=_with_unread(entry.room, followed), unread_count=entry.unread)]

    async def woken(self) -> list[InboxEventValue]:
        """The buffer was nudged: rooms whose access was revoked are left; after an
        overflow (which emptied the shared buffer: posts and notices of any room lost),
        the rooms and their counts are read again, and what changed is reported."""
        values: list[InboxEventValue] = []
        for name, followed in list(self.rooms.items()):
            if followed.subscriber.revoked:
                await self.unfollow(name)
                values.append(RoomLeft(room=followed.room))
        subscribers = [self.notices, *(f.subscriber for f in self.rooms.values())]
        if not any(subscriber.overflowed for subscriber in subscribers):
            return values
        for subscriber in subscribers:
            subscriber.overflowed = False
        entries = {entry.room.name: entry for entry in await self.reread(None)}
        missing = [f.room.pk for name, f in self.rooms.items() if name not in entries]
        if missing:
            # Followed but no longer among the most recently active: still a member?
            entries.update({entry.room.name: entry for entry in await self.reread(missing)})
        for name in [name for name in self.rooms if name not in entries]:
            gone = await self.unfollow(name)
            if gone is not None:
                values.append(RoomLeft(room=gone.room))
        for name, entry in entries.items():
            followed_ = self.rooms.get(name)
            if followed_ is None:
                joined = await self.follow(entry)
                if joined is not None:
                    values.append(RoomJoined(room=_with_unread(entry.room, joined)))
                continue
            followed_.counted = max(followed_.counted, entry.last_seq)
            if (entry.unread, entry.last_read) != (followed_.unread, followed_.last_read):
                followed_.unread, followed_.last_read = entry.unread, entry.last_read
                room = _with_unread(entry.room, followed_)
                values.append(UnreadChanged(room=room, unread_count=entry.unread))
        return values


async def inbox_stream(*, user_id: int, username: str) -> AsyncGenerator[InboxEventValue, None]:
    """The user's inbox from now on (see the module's docstring)."""
    hub = get_hub()
    inbox = _Inbox(hub, user_id, username)
    notices = hub.subscribe(USER_NOTICE_KIND, user_key(user_id), user_id, queue=inbox.queue)
    # Notices first: a room joined while the rooms are read is then not missed.
    async with notices as inbox.notices:
        try:
            for entry in await inbox.reread(None):
                await inbox.follow(entry)
            while True:
                envelope = await inbox.queue.get()
                values: list[Any]
                if envelope is None:
                    values = await inbox.woken()
                elif envelope.kind is INBOX_MESSAGE_KIND:
                    value = envelope.value
                    if isinstance(value, MessageDeleted):
                        values = inbox.deleted(value)
                    else:
                        values = inbox.posted(value)
                else:
                    values = await inbox.noticed(envelope.value)
                for value in values:
                    yield value
        finally:
            await inbox.close()
