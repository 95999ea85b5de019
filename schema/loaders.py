"""Batched reads of relation fields: a page costs one query per relation, not one per row.

The loaders live one per event loop and cache nothing: a batch is the loads made in one
pass of the loop, whichever operations made them, and every load reads the database
afresh. What they load (a room's members, a user) is the same for every viewer allowed
to see the room, so sharing a batch between operations is correct. What depends on
the viewer (read markers, unread counts) is keyed by (viewer id, room id): one query
per viewer in a batch, whatever the number of rooms.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import User
from strawberry.dataloader import DataLoader

from chat.db import in_thread
from chat.models import Message, ReactionSummary
from chat.reads import read_markers, unread_counts
from chat.roomevents import mention_lists, reaction_summaries
from chat.selectors import message_list, room_last_messages, room_member_lists, user_list
from realtime.loops import loop_local

__all__ = ["Loaders", "loaders"]


async def _room_members(room_ids: list[int]) -> list[list[User]]:
    # A page at most, as schema/cost.py counts the field: a room's member list is not
    # bounded, and aliases would multiply whatever it holds.
    members = await in_thread(room_member_lists)(
        room_ids=sorted(set(room_ids)), limit=settings.CHAT["MAX_PAGE_SIZE"]
    )
    return [members[room_id] for room_id in room_ids]


async def _users(user_ids: list[int]) -> list[User | None]:
    users = await in_thread(user_list)(ids=sorted(set(user_ids)))
    return [users.get(user_id) for user_id in user_ids]


async def _messages(message_ids: list[int]) -> list[Message | None]:
    # Only ever loaded as the message another one replies to, which is of the same room:
    # whoever sees one may see the other.
    messages = await in_thread(message_list)(ids=sorted(set(message_ids)))
    return [messages.get(message_id) for message_id in message_ids]


async def _reactions(message_ids: list[int]) -> list[list[ReactionSummary]]:
    summaries = await in_thread(reaction_summaries)(sorted(set(message_ids)))
    return [summaries.get(message_id, []) for message_id in message_ids]


async def _mentions(message_ids: list[int]) -> list[list[User]]:
    mentions = await in_thread(mention_lists)(sorted(set(message_ids)))
    return [mentions.get(message_id, []) for message_id in message_ids]


async def _last_messages(room_ids: list[int]) -> list[Message | None]:
    # The same for every viewer: the room's own access was checked where it was found.
    messages = await in_thread(room_last_messages)(room_ids=sorted(set(room_ids)))
    return [messages.get(room_id) for room_id in room_ids]


ViewerRoom = tuple[int, int]


def _per_viewer(
    read: Callable[..., dict[int, int]], missing: int | None
) -> Callable[[list[ViewerRoom]], Awaitable[list[int | None]]]:
    """A load function of (viewer id, room id) keys: ``read(user_id=, room_ids=)`` once
    per viewer in the batch."""

    async def load(keys: list[ViewerRoom]) -> list[int | None]:
        rooms: dict[int, set[int]] = defaultdict(set)
        for viewer, room_id in keys:
            rooms[viewer].add(room_id)
        found = {
            viewer: await in_thread(read)(user_id=viewer, room_ids=sorted(room_ids))
            for viewer, room_ids in rooms.items()
        }
        return [found[viewer].get(room_id, missing) for viewer, room_id in keys]

    return load


@dataclass(frozen=True)
class Loaders:
    room_members: DataLoader[int, list[User]] = field(
        default_factory=lambda: DataLoader(load_fn=_room_members, cache=False)
    )
    users: DataLoader[int, User | None] = field(
        default_factory=lambda: DataLoader(load_fn=_users, cache=False)
    )
    messages: DataLoader[int, Message | None] = field(
        default_factory=lambda: DataLoader(load_fn=_messages, cache=False)
    )
    reactions: DataLoader[int, list[ReactionSummary]] = field(
        default_factory=lambda: DataLoader(load_fn=_reactions, cache=False)
    )
    mentions: DataLoader[int, list[User]] = field(
        default_factory=lambda: DataLoader(load_fn=_mentions, cache=False)
    )
    last_messages: DataLoader[int, Message | None] = field(
        default_factory=lambda: DataLoader(load_fn=_last_messages, cache=False)
    )
    read_markers: DataLoader[ViewerRoom, int | None] = field(
        default_factory=lambda: DataLoader(load_fn=_per_viewer(read_markers, None), cache=False)
    )
    unread_counts: DataLoader[ViewerRoom, int | None] = field(
        default_factory=lambda: DataLoader(load_fn=_per_viewer(unread_counts, 0), cache=False)
    )


loaders = loop_local(Loaders)
