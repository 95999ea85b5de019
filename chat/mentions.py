"""Mentions: ``@username`` in a message's text, resolved once, when it is posted, to the
members of its room it names (Message.mentions). An edit does not change them."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q

from chat.models import Message, Room, model_restore
from chat.usernames import username_fold

__all__ = ["MAX_MENTIONS", "mention_names", "mentions_resolve"]

# Users a message mentions at most (the first named); Message.mentions' cost counts it.
MAX_MENTIONS = 20
# Names looked up per message at most: a text of @a @b @c ... costs a bounded query.
_MAX_NAMES = 100

# Django's username characters but '@'; not after one of them (an email address).
_MENTION = re.compile(r"(?<![\w.@+-])@([\w.+-]{1,150})")


def mention_names(text: str) -> list[str]:
    """The names ``text`` may mention, in order of first appearance: each @name as
    written, then without trailing dots ("thanks @bob.")."""
    names: dict[str, None] = {}
    for match in _MENTION.finditer(text):
        name = match.group(1)
        names.setdefault(name, None)
        names.setdefault(name.rstrip("."), None)
        if len(names) >= _MAX_NAMES:
            break
    names.pop("", None)
    return list(names)


def mentions_resolve(posts: Sequence[tuple[str, str]]) -> list[tuple[Any, ...]]:
    """For each (room name, text): the room's members its text mentions (users with id
    and username only), deduplicated, in order of first appearance, at most
    MAX_MENTIONS. One query for them all; none if no text has an @name."""
    wanted = [mention_names(text) for _, text in posts]
    names = {name for names_ in wanted for name in names_}
    if not names:
        return [() for _ in posts]
    rooms = {room for (room, _), names_ in zip(posts, wanted, strict=True) if names_}
    # Users are named as they log in: by their folded name, else (no key: made by
    # createsuperuser or the admin) by their exact name.
    folded = {username_fold(name) for name in names}
    rows = (
        Room.members.through.objects.filter(room__name__in=rooms)
        .filter(Q(user__chat_username_key__folded__in=folded) | Q(user__username__in=names))
        .values_list("room__name", "user_id", "user__username", "user__chat_username_key__folded")
    )
    by_name: dict[str, dict[str, tuple[int, str]]] = defaultdict(dict)
    for room, user_id, username, key in rows:
        if key is not None:
            by_name[room][key] = (user_id, username)
        by_name[room].setdefault(username, (user_id, username))
    user_model = get_user_model()
    db = Message.objects.db
    resolved: list[tuple[Any, ...]] = []
    for (room, _), names_ in zip(posts, wanted, strict=True):
        members = by_name.get(room, {})
        found: dict[int, Any] = {}
        for name in names_:
            member = members.get(username_fold(name)) or members.get(name)
            if member is None or member[0] in found:
                continue
            user_id, username = member
            found[user_id] = model_restore(user_model, db, {"id": user_id, "username": username})
            if len(found) == MAX_MENTIONS:
                break
        resolved.append(tuple(found.values()))
    return resolved
