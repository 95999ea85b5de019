"""Posting: messages persisted with their room's next seq, published after commit."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from chat import events
from chat.db import statement_cursor
from chat.errors import Forbidden, InvalidInput
from chat.mentions import mentions_resolve
from chat.models import (
    Message,
    Room,
    RoomEvent,
    message_with_relations,
    model_restore,
)
from chat.ratelimit import send_rate_check_many
from chat.roomevents import mentions_attach, reactions_attach
from chat.selectors import message_visible_get, room_is_visible
from chat.services import message_text_check, room_access_check, room_get_or_create, room_name_check

__all__ = [
    "CLIENT_ID_KEEP",
    "Post",
    "client_id_check",
    "client_ids_expire",
    "message_create",
    "messages_create",
]

logger = logging.getLogger(__name__)

# How long a clientId stands for its message at least: a retry within it returns the
# message; client_ids_expire, run hourly, frees older keys.
CLIENT_ID_KEEP = timedelta(hours=24)
# A UUID (what the browser page sends) fits, as do Matrix's transaction ids and Slack's
# client_msg_id; nothing that needs escaping in logs.
CLIENT_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def client_id_check(client_id: str) -> str:
    """Return ``client_id`` if it is a valid idempotency key, else BAD_USER_INPUT."""
    if not CLIENT_ID_RE.fullmatch(client_id):
        raise InvalidInput(
            "clientId must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'."
        )
    return client_id


def client_ids_expire(*, before: datetime) -> int:
    """Free the clientIds of messages posted before ``before``; return how many."""
    return Message.objects.filter(client_id__isnull=False, created_at__lt=before).update(
        client_id=None
    )


def _originals_get(posts: Sequence[Post]) -> dict[tuple[int, str], Message]:
    """The messages already posted under the posts' clientIds, by (author id, clientId),
    as a post's answer carries them; one query (and one each for reactions and mentions)."""
    keys = Q()
    for post in posts:
        keys |= Q(author_id=post.author.pk, client_id=post.client_id)
    found = list(
        Message.objects.filter(keys, client_id__isnull=False).select_related(
            "room", "author", "reply_to__author"
        )
    )
    if found:
        reactions_attach(found)
        mentions_attach(found)
    return {(message.author_id, message.client_id): message for message in found}  # type: ignore[misc]


def _original_answer(original: Message, post: Post) -> Message | Exception:
    """A retried post's answer: the message its clientId stands for. The same key in
    another room is a client's mistake, not a retry."""
    if original.room.name != post.room_name:
        return InvalidInput("This clientId was used for a message in another room.")
    return original


def _conflict_answer(post: Post, error: IntegrityError) -> Message | Exception:
    """A post whose insert failed on ``error``: if a concurrent post with its clientId
    committed first, that one's message (the unique constraint waited for it)."""
    # Not by the constraint's name: SQLite's error gives the columns instead.
    if post.client_id is None:
        return error
    original = _originals_get([post]).get((post.author.pk, post.client_id))
    return error if original is None else _original_answer(original, post)


def _room_seq_bump(*, name: str) -> int:
    """Take the room's next seq and eventSeq; return the number of rooms updated (0 if
    none yet)."""
    return Room.objects.filter(name=name).update(
        last_seq=F("last_seq") + 1,
        last_event_seq=F("last_event_seq") + 1,
        last_activity_at=timezone.now(),
    )


@dataclass(frozen=True, slots=True)
class Post:
    """One ``sendMessage``."""

    room_name: str
    author: User
    text: str
    # The id of the message this one replies to (a message of the same room).
    reply_to_id: int | None = None
    # That message, as _post_check read it.
    reply_to: Message | None = None
    # The members of the room its text mentions (chat.mentions), in order.
    mentions: tuple[Any, ...] = ()
    # sendMessage's clientId: the author's idempotency key for this post (None: none).
    client_id: str | None = None


# PostgreSQL: check access, bump the seqs and eventSeqs, insert a batch of posts and their
# MessagePosted room events in one statement, one round trip and no explicit transaction.
# The rooms' rows are locked in id order (so that batches of other processes cannot
# deadlock with this one) until the statement commits, so concurrent posters, in any
# process, get consecutive seqs and eventSeqs; within the batch, a room's seqs follow the
# posts' order. A post to a missing room, or to a private one its author is
# not a member of, gets no row (see messages_create). A post's mentions (the users of
# ``mention_users``, for the post of the same index in ``mention_posts``) are inserted
# with it, in order (their ids keep it), so that a message and its mentions commit together.
_INSERT_BATCH = """
WITH post AS (
    SELECT * FROM unnest(
        %(rooms)s::text[], %(authors)s::bigint[], %(texts)s::text[], %(replies)s::bigint[],
        %(clients)s::text[]
    ) WITH ORDINALITY AS p(room, author, text, reply, client, ord)
),
target AS MATERIALIZED (
    SELECT id, name, is_private FROM chat_room
    WHERE name IN (SELECT room FROM post) ORDER BY id FOR UPDATE
),
allowed AS (
    SELECT p.ord, p.author, p.text, p.reply, p.client, t.id AS room_id,
        row_number() OVER (PARTITION BY t.id ORDER BY p.ord) AS n
    FROM post AS p JOIN target AS t ON t.name = p.room
    WHERE NOT t.is_private OR EXISTS (
        SELECT 1 FROM chat_room_members AS m WHERE m.room_id = t.id AND m.user_id = p.author
    )
),
bumped AS (
    UPDATE chat_room AS r SET last_seq = r.last_seq + c.n,
        last_event_seq = r.last_event_seq + c.n, last_activity_at = clock_timestamp()
    FROM (SELECT room_id, max(n) AS n FROM allowed GROUP BY room_id) AS c
    WHERE r.id = c.room_id
    RETURNING r.id, r.last_seq - c.n AS base, r.last_event_seq - c.n AS event_base,
        r.created_at, r.is_private, r.created_by_id, r.access_version, r.direct
),
inserted AS (
    INSERT INTO chat_message
        (room_id, seq, author_id, text, created_at, deleted, reply_to_id, client_id)
    SELECT a.room_id, b.base + a.n, a.author, a.text, clock_timestamp(), false, a.reply,
        a.client
    FROM allowed AS a JOIN bumped AS b ON b.id = a.room_id ORDER BY a.ord
    RETURNING id, room_id, seq, author_id, created_at
),
logged AS (
    INSERT INTO chat_roomevent (room_id, seq, kind, at, actor_id, message_id, emoji)
    SELECT i.room_id, b.event_base + (i.seq - b.base), 'message_posted', i.created_at,
        i.author_id, i.id, ''
    FROM inserted AS i JOIN bumped AS b ON b.id = i.room_id
),
mentioned AS (
    INSERT INTO chat_message_mentions (message_id, user_id)
    SELECT i.id, x.user_id
    FROM unnest(%(mention_posts)s::bigint[], %(mention_users)s::bigint[])
            WITH ORDINALITY AS x(ord, user_id, position)
        JOIN allowed AS a ON a.ord = x.ord
        JOIN bumped AS b ON b.id = a.room_id
        JOIN inserted AS i ON i.room_id = a.room_id AND i.seq = b.base + a.n
    ORDER BY x.position
)
SELECT a.ord, i.id, i.room_id, i.seq, i.created_at, b.created_at, b.is_private, b.created_by_id,
    b.access_version, b.event_base + a.n, b.direct
FROM inserted AS i
    JOIN bumped AS b ON b.id = i.room_id
    JOIN allowed AS a ON a.room_id = i.room_id AND b.base + a.n = i.seq
"""


def _messages_insert(posts: Sequence[Post]) -> list[Message | None]:
    """PostgreSQL: insert each post with its room's next seq, all in one statement; None
    for a post whose room does not exist or is private and its author not a member."""
    connection = connections[Message.objects.db]
    with statement_cursor(connection) as cursor:
        cursor.execute(
            _INSERT_BATCH,
            {
                "rooms": [post.room_name for post in posts],
                "authors": [post.author.pk for post in posts],
                "texts": [post.text for post in posts],
                "replies": [post.reply_to_id for post in posts],
                "clients": [post.client_id for post in posts],
                "mention_posts": [
                    index for index, post in enumerate(posts, 1) for _ in post.mentions
                ],
                "mention_users": [user.pk for post in posts for user in post.mentions],
            },
        )
        rows = cursor.fetchall()
    messages: list[Message | None] = [None] * len(posts)
    for row in rows:
        ord_, message_id, room_id, seq, created_at, room_created, private, creator, access = row[:9]
        direct = row[10]
        post = posts[ord_ - 1]
        room = model_restore(
            Room,
            connection.alias,
            {
                "id": room_id,
                "name": post.room_name,
                "created_at": room_created,
                "last_seq": seq,
                "last_event_seq": row[9],
                "is_private": private,
                "created_by_id": creator,
                "access_version": access,
                "direct": direct,
            },
        )
        message = model_restore(
            Message,
            connection.alias,
            {
                "id": message_id,
                "room_id": room_id,
                "seq": seq,
                "author_id": post.author.pk,
                "text": post.text,
                "created_at": created_at,
                "edited_at": None,
                "deleted": False,
                "reply_to_id": post.reply_to_id,
                "client_id": post.client_id,
            },
        )
        messages[ord_ - 1] = _posted(message, post, room)
    return messages


def _posted(message: Message, post: Post, room: Room) -> Message:
    """Cache what a post's event and answer carry: room, author, the message replied to,
    its reactions (none yet) and mentions."""
    message.reaction_summary = []
    message.mention_list = list(post.mentions)
    if post.reply_to is not None:
        Message.reply_to.field.set_cached_value(message, post.reply_to)
    return message_with_relations(message, room=room, author=post.author)


def _message_insert(post: Post) -> Message | None:
    """Insert one post with its room's next seq; None as for _messages_insert."""
    if connections[Message.objects.db].vendor == "postgresql":
        return _messages_insert([post])[0]
    # Elsewhere (SQLite): the UPDATE takes the write lock until commit.
    if not room_is_visible(name=post.room_name, user=post.author):
        return None
    with transaction.atomic():
        if not _room_seq_bump(name=post.room_name):
            return None
        room = Room.objects.get(name=post.room_name)
        message = Message.objects.create(
            room=room,
            seq=room.last_seq,
            author=post.author,
            text=post.text,
            # Taken under the lock, so created_at grows with seq.
            created_at=timezone.now(),
            reply_to_id=post.reply_to_id,
            client_id=post.client_id,
        )
        RoomEvent.objects.create(
            room=room,
            seq=room.last_event_seq,
            kind=RoomEvent.Kind.MESSAGE_POSTED,
            at=message.created_at,
            actor=post.author,
            message=message,
        )
        Message.mentions.through.objects.bulk_create(
            [
                Message.mentions.through(message_id=message.pk, user_id=user.pk)
                for user in post.mentions
            ]
        )
        return _posted(message, post, room)


def _post_check(post: Post) -> Post:
    """Validate; return the post with its text trimmed (and the message it replies to)."""
    room_name_check(post.room_name)
    if post.client_id is not None:
        client_id_check(post.client_id)
    post = replace(post, text=message_text_check(post.text))
    if post.reply_to_id is None:
        return post
    replied = message_visible_get(message_id=post.reply_to_id, user=post.author)
    if replied.room.name != post.room_name:
        raise InvalidInput("`replyTo` must be a message of the same room.")
    if replied.deleted:
        raise InvalidInput("You cannot reply to a deleted message.")
    return replace(post, reply_to=replied)


def _message_insert_refused(post: Post) -> Message:
    """A post the insert refused: a missing room (created now: public rooms are made by
    their first post) or a private one the author may not post to."""
    room_access_check(name=post.room_name, user=post.author)
    room_get_or_create(name=post.room_name)
    message = _message_insert(post)
    if message is None:
        # Someone created it as a private room in between.
        raise Forbidden("You are not a member of this room.")
    return message


def messages_create(posts: Sequence[Post]) -> list[Message | Exception]:
    """Persist posts, each as message_create does, publishing each after commit; on
    PostgreSQL, all that pass their checks in one statement.

    Each result is the post's message, or the error that refused it: one post's error
    is its own, never its batch's. Every valid attempt counts towards its author's rate
    limit (one Redis round trip for the batch), refused ones included: the access check is
    part of the insert, so that a batch is one statement.
    """
    results: list[Message | Exception | None] = [None] * len(posts)
    checked: dict[int, Post] = {}
    for index, post in enumerate(posts):
        try:
            checked[index] = _post_check(post)
        except Exception as error:
            results[index] = error
    # Retries first: a post already stored under its clientId is answered with its message
    # and counts towards nothing (a client retrying a lost answer must not be rate limited
    # into retrying again).
    keyed = {index: post for index, post in checked.items() if post.client_id is not None}
    if keyed:
        originals = _originals_get(list(keyed.values()))
        for index, post in keyed.items():
            original = originals.get((post.author.pk, post.client_id))  # type: ignore[arg-type]
            if original is not None:
                results[index] = _original_answer(original, post)
                del checked[index]
    limited = send_rate_check_many([post.author.pk for post in checked.values()])
    for index, refusal in zip(list(checked), limited, strict=True):
        if refusal is not None:
            results[index] = refusal
            del checked[index]
    # Who each post mentions, one query for the batch (none without an @name).
    mentions = mentions_resolve([(post.room_name, post.text) for post in checked.values()])
    for index, mentioned in zip(list(checked), mentions, strict=True):
        checked[index] = replace(checked[index], mentions=mentioned)
    batch: list[Message | None] | None = None
    if len(checked) > 1 and connections[Message.objects.db].vendor == "postgresql":
        # On any failure (a DatabaseError, or one psycopg raises adapting a parameter
        # before anything is sent), each post on its own (below), so that a bad post
        # fails alone. The statement is its own transaction: a failed one stored nothing.
        try:
            batch = _messages_insert(list(checked.values()))
        except Exception:
            logger.warning("batch insert failed; inserting its posts one by one", exc_info=True)
    for position, (index, post) in enumerate(checked.items()):
        try:
            message = batch[position] if batch is not None else _message_insert(post)
            if message is None:
                message = _message_insert_refused(post)
        except IntegrityError as error:
            results[index] = _conflict_answer(post, error)
            continue
        except Exception as error:
            results[index] = error
            continue
        results[index] = message
        # Immediate in autocommit; after the caller's commit inside an atomic block.
        event = events.message_event_build(message, event_seq=message.room.last_event_seq)
        events.event_send_on_commit(event)
    return [result for result in results if result is not None]


def message_posted_log(message: Message) -> None:
    """Log a post, in the poster's context (its socket's connection id): batches write
    from a context of their own."""
    extra = {
        "event": "message.posted",
        "room": message.room.name,
        "seq": message.seq,
        "message_id": message.pk,
        "user_id": message.author_id,
    }
    logger.info("message posted", extra=extra)


def message_create(
    *,
    room_name: str,
    author: User,
    text: str,
    reply_to_id: int | None = None,
    client_id: str | None = None,
) -> Message:
    """Persist a message with the room's next seq and publish it after commit (or return
    the message already posted by ``author`` under ``client_id``)."""
    post = Post(
        room_name=room_name,
        author=author,
        text=text,
        reply_to_id=reply_to_id,
        client_id=client_id,
    )
    result = messages_create([post])[0]
    if isinstance(result, Exception):
        raise result
    message_posted_log(result)
    return result
