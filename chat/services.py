"""Writes. ``*_check`` functions validate, the others change state; events go out on commit."""

from __future__ import annotations

import contextvars
import logging
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import psycopg
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.models import F, Q
from django.utils import timezone

from chat import events
from chat.errors import Forbidden, InvalidInput, NotFound
from chat.models import (
    AuthToken,
    Message,
    Room,
    UsernameKey,
    message_with_relations,
    model_restore,
)
from chat.ratelimit import login_attempt_check, register_attempt_check, send_rate_check_many
from chat.selectors import room_access_members, room_get, room_is_visible, token_digest
from chat.usernames import (
    text_storable,
    username_fold,
    username_normalise,
    username_skeleton,
)

__all__ = [
    "MAX_TEXT_LENGTH",
    "ROOM_NAME_RE",
    "Post",
    "credential_notice",
    "credentials_check",
    "message_create",
    "message_text_check",
    "messages_create",
    "room_access_check",
    "room_access_narrowed",
    "room_create",
    "room_get_or_create",
    "room_invite",
    "room_join",
    "room_leave",
    "room_member_remove",
    "room_name_check",
    "room_subscribe_check",
    "session_logout",
    "token_create",
    "token_revoke",
    "user_create",
    "user_login_get",
    "user_password_upgrade",
    "user_register",
    "user_register_check",
    "username_key_ensure",
]

logger = logging.getLogger(__name__)

ROOM_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_TEXT_LENGTH = 4000


def room_name_check(name: str) -> str:
    if not ROOM_NAME_RE.fullmatch(name):
        raise InvalidInput("Room name must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'.")
    return name


def _invisible(char: str) -> bool:
    # Format characters (Cf: zero-width space and joiners, word joiner, BOM, soft hyphen,
    # direction marks) show nothing on their own.
    return char.isspace() or unicodedata.category(char) == "Cf"


def message_text_check(text: str) -> str:
    """Return the trimmed text, or raise if it is empty, too long or not storable."""
    if not text_storable(text):
        raise InvalidInput("Message text must be valid Unicode text.")
    trimmed = text.strip()
    if all(_invisible(char) for char in trimmed):
        raise InvalidInput("Message text must not be empty.")
    if len(trimmed) > MAX_TEXT_LENGTH:
        raise InvalidInput(f"Message text must be at most {MAX_TEXT_LENGTH} characters.")
    # PostgreSQL text cannot hold NUL; refuse it here rather than fail in the database.
    if "\x00" in trimmed:
        raise InvalidInput("Message text must not contain NUL characters.")
    return trimmed


def room_access_check(*, name: str, user: User | AnonymousUser) -> None:
    """Raise FORBIDDEN unless ``user`` may post to and subscribe to the room."""
    if not room_is_visible(name=name, user=user):
        raise Forbidden("You are not a member of this room.")


def room_subscribe_check(*, name: str, user: User | AnonymousUser) -> tuple[int, bool]:
    """Raise FORBIDDEN unless ``user`` may subscribe to the room; return the room's access
    version the check held at (the hub re-checks at any later one) and whether the room
    exists."""
    user_ids = {user.pk} if user.is_authenticated else set()
    access = room_access_members(name=name, user_ids=user_ids)
    if access.allowed is not None and not access.allowed & user_ids:
        raise Forbidden("You are not a member of this room.")
    return access.version, access.exists


def room_create(*, name: str, private: bool, creator: User) -> Room:
    """Create a room with ``creator`` as its first member."""
    room_name_check(name)
    try:
        with transaction.atomic():
            # Private: version 1, so that every process re-checks the subscribers it had
            # on this name while it did not exist (and was public) before the next event.
            room = Room.objects.create(
                name=name, is_private=private, created_by=creator, access_version=int(private)
            )
            room.members.add(creator)
            if private:
                _access_changed_publish(room=room)
    except IntegrityError as error:
        raise InvalidInput("That room name is taken.") from error
    return room


def _visible_room(*, name: str, user: User) -> Room:
    room = room_get(name=room_name_check(name), user=user)
    if room is None:
        raise NotFound("No such room.")
    return room


def room_invite(*, name: str, username: str, inviter: User) -> Room:
    """Add ``username`` to a room ``inviter`` can see (a member, for private rooms)."""
    _username_text_check(username)
    room = _visible_room(name=name, user=inviter)
    invitee = _user_by_name(username)
    if invitee is None:
        raise NotFound("No such user.")
    room.members.add(invitee)
    return room


def room_member_remove(*, name: str, username: str, remover: User) -> Room:
    """Remove a member from a private room ``remover`` created; their live
    subscriptions to it end (in every process)."""
    _username_text_check(username)
    room = _visible_room(name=name, user=remover)
    if not room.is_private:
        raise InvalidInput("Members can only be removed from private rooms.")
    if room.created_by_id != remover.pk:
        raise Forbidden("Only the room's creator can remove members.")
    member = _user_by_name(username)
    if member is None or not room.members.filter(pk=member.pk).exists():
        raise NotFound("No such member.")
    if member.pk == remover.pk:
        raise InvalidInput("Use leaveRoom to leave a room.")
    with transaction.atomic():
        room.members.remove(member)
        room_access_narrowed(room=room)
    return room


def room_join(*, name: str, user: User) -> Room:
    """Join a public room (created on first use, as for posting)."""
    room = room_get_or_create(name=name)
    if not room_is_visible(name=name, user=user):
        raise Forbidden("Private rooms are joined by invitation.")
    room.members.add(user)
    return room


def room_leave(*, name: str, user: User) -> None:
    """Leave a room; the user's live subscriptions to it end (in every process)."""
    room = _visible_room(name=name, user=user)
    with transaction.atomic():
        room.members.remove(user)
        if room.is_private:
            _access_version_bump(room)
        _member_removed_publish(room=room, user=user)


def _member_removed_publish(*, room: Room, user: User) -> None:
    # The leaver's subscriptions complete. If this event is lost, the access version
    # bumped with it still has their process re-check before the room's next event.
    event = events.member_removed_event_build(room=room, user=user)
    events.event_send_on_commit(event)


def _access_version_bump(room: Room) -> None:
    """Bump the room's access version (in the caller's transaction): the messages posted
    after it carry the new one, and every process re-checks its subscribers' access
    before delivering them, even if the notice sent with it is lost."""
    Room.objects.filter(pk=room.pk).update(access_version=F("access_version") + 1)
    room.refresh_from_db(fields=["access_version"])


def room_access_narrowed(*, room: Room) -> None:
    """Record that some may have lost access to the room (made private, members removed,
    in the admin or here): every process re-checks its subscribers of it before
    delivering its next event, and at once when the notice arrives."""
    with transaction.atomic():
        _access_version_bump(room)
        _access_changed_publish(room=room)


def _access_changed_publish(*, room: Room) -> None:
    """Tell every process, after commit, that the room's access narrowed."""
    event = events.access_changed_event_build(room=room)
    events.event_send_on_commit(event)


def room_get_or_create(*, name: str) -> Room:
    """Return the public room called ``name``, creating it on first use."""
    room, _ = Room.objects.get_or_create(name=room_name_check(name))
    return room


def _room_seq_bump(*, name: str) -> int:
    """Take the room's next seq; return the number of rooms updated (0 if none yet)."""
    return Room.objects.filter(name=name).update(
        last_seq=F("last_seq") + 1, last_activity_at=timezone.now()
    )


@dataclass(frozen=True, slots=True)
class Post:
    """One ``sendMessage``. ``log_context`` is the poster's (its socket's connection id),
    for the log line, which a batch writes from another context."""

    room_name: str
    author: User
    text: str
    log_context: contextvars.Context | None = None


# PostgreSQL: check access, bump the seqs and insert a batch of posts in one statement, one
# round trip and no explicit transaction. The rooms' rows are locked in id order (so that
# batches of other processes cannot deadlock with this one) until the statement commits,
# so concurrent posters, in any process, get consecutive seqs; within the batch, a room's
# seqs follow the posts' order. A post to a missing room, or to a private one its author is
# not a member of, gets no row (see messages_create).
_INSERT_BATCH = """
WITH post AS (
    SELECT * FROM unnest(%(rooms)s::text[], %(authors)s::bigint[], %(texts)s::text[])
        WITH ORDINALITY AS p(room, author, text, ord)
),
target AS MATERIALIZED (
    SELECT id, name, is_private FROM chat_room
    WHERE name IN (SELECT room FROM post) ORDER BY id FOR UPDATE
),
allowed AS (
    SELECT p.ord, p.author, p.text, t.id AS room_id,
        row_number() OVER (PARTITION BY t.id ORDER BY p.ord) AS n
    FROM post AS p JOIN target AS t ON t.name = p.room
    WHERE NOT t.is_private OR EXISTS (
        SELECT 1 FROM chat_room_members AS m WHERE m.room_id = t.id AND m.user_id = p.author
    )
),
bumped AS (
    UPDATE chat_room AS r SET last_seq = r.last_seq + c.n, last_activity_at = clock_timestamp()
    FROM (SELECT room_id, max(n) AS n FROM allowed GROUP BY room_id) AS c
    WHERE r.id = c.room_id
    RETURNING r.id, r.last_seq - c.n AS base, r.created_at, r.is_private, r.created_by_id,
        r.access_version
),
inserted AS (
    INSERT INTO chat_message (room_id, seq, author_id, text, created_at)
    SELECT a.room_id, b.base + a.n, a.author, a.text, clock_timestamp()
    FROM allowed AS a JOIN bumped AS b ON b.id = a.room_id ORDER BY a.ord
    RETURNING id, room_id, seq, created_at
)
SELECT a.ord, i.id, i.room_id, i.seq, i.created_at, b.created_at, b.is_private, b.created_by_id,
    b.access_version
FROM inserted AS i
    JOIN bumped AS b ON b.id = i.room_id
    JOIN allowed AS a ON a.room_id = i.room_id AND b.base + a.n = i.seq
"""


class _PreparedCursor(psycopg.Cursor[Any]):
    """Server-side binding, prepared on first use (Django turns psycopg's automatic
    preparation off and binds parameters client-side, so PostgreSQL would parse and plan
    the statement on every batch)."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        return super().execute(query, params, prepare=True)


def _prepared_cursor(connection: BaseDatabaseWrapper) -> CursorWrapper:
    """A Django cursor (query logging, execute wrappers) over a _PreparedCursor.

    For the statement every post runs (measured, one post: 0.34 ms with Django's
    client-side binding, 0.13 ms prepared).
    """
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(_PreparedCursor(connection.connection))  # type: ignore[attr-defined,no-any-return]


def _messages_insert(posts: Sequence[Post]) -> list[Message | None]:
    """PostgreSQL: insert each post with its room's next seq, all in one statement; None
    for a post whose room does not exist or is private and its author not a member."""
    connection = connections[Message.objects.db]
    with _prepared_cursor(connection) as cursor:
        cursor.execute(
            _INSERT_BATCH,
            {
                "rooms": [post.room_name for post in posts],
                "authors": [post.author.pk for post in posts],
                "texts": [post.text for post in posts],
            },
        )
        rows = cursor.fetchall()
    messages: list[Message | None] = [None] * len(posts)
    for ord_, message_id, room_id, seq, created_at, room_created, private, creator, access in rows:
        post = posts[ord_ - 1]
        room = model_restore(
            Room,
            connection.alias,
            {
                "id": room_id,
                "name": post.room_name,
                "created_at": room_created,
                "last_seq": seq,
                "is_private": private,
                "created_by_id": creator,
                "access_version": access,
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
            },
        )
        messages[ord_ - 1] = message_with_relations(message, room=room, author=post.author)
    return messages


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
        return Message.objects.create(
            room=room,
            seq=room.last_seq,
            author=post.author,
            text=post.text,
            # Taken under the lock, so created_at grows with seq.
            created_at=timezone.now(),
        )


def _post_check(post: Post) -> Post:
    """Validate; return the post with its text trimmed."""
    room_name_check(post.room_name)
    return replace(post, text=message_text_check(post.text))


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
    limited = send_rate_check_many([post.author.pk for post in checked.values()])
    for index, refusal in zip(list(checked), limited, strict=True):
        if refusal is not None:
            results[index] = refusal
            del checked[index]
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
        except Exception as error:
            results[index] = error
            continue
        results[index] = message
        _message_posted(post, message)
    return [result for result in results if result is not None]


def _message_posted(post: Post, message: Message) -> None:
    extra = {
        "event": "message.posted",
        "room": post.room_name,
        "seq": message.seq,
        "message_id": message.pk,
        "user_id": post.author.pk,
    }
    if post.log_context is None:
        logger.info("message posted", extra=extra)
    else:
        post.log_context.run(logger.info, "message posted", extra=extra)
    event = events.message_event_build(message)
    # Immediate in autocommit; after the caller's commit inside an atomic block.
    events.event_send_on_commit(event)


def message_create(*, room_name: str, author: User, text: str) -> Message:
    """Persist a message with the room's next seq and publish it after commit."""
    result = messages_create([Post(room_name=room_name, author=author, text=text)])[0]
    if isinstance(result, Exception):
        raise result
    return result


def user_register(*, username: str, password: str) -> User:
    """Create a user after Django's username and password validation (from sync code:
    chat.signin.user_sign_up hashes in its own threads)."""
    username = user_register_check(username=username, password=password)
    return user_create(username=username, password_hash=make_password(password))


def token_create(*, user: User) -> str:
    """Issue a bearer token for ``user``; only its digest is stored."""
    raw = secrets.token_urlsafe(32)
    AuthToken.objects.create(
        digest=token_digest(raw),
        user=user,
        expires_at=timezone.now() + timedelta(seconds=settings.CHAT["TOKEN_TTL_SECONDS"]),
    )
    return raw


def token_revoke(*, raw: str) -> None:
    """Revoke a bearer token; the sockets it authenticated close (in every process)."""
    digest = token_digest(raw)
    AuthToken.objects.filter(digest=digest, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    credential_notice(credential=events.token_credential_key(digest))


def session_logout(*, session: SessionBase) -> None:
    """End a browser session (logout over its websocket); its sockets close everywhere."""
    key = session.session_key
    session.flush()
    if key:
        credential_notice(credential=events.session_credential_key(key))


def credential_notice(*, credential: str | None = None, user_id: int | None = None) -> None:
    """Close, after commit and in every process, the sockets authenticated by
    ``credential`` (a realtime.credentials key) or by any credential of ``user_id``."""
    _credential_notice_publish(credential=credential, user_id=user_id)


def _credential_notice_publish(*, credential: str | None, user_id: int | None) -> None:
    # If this notice is lost, each process's periodic credential check (every
    # CHAT_RESYNC_SECONDS) still finds the credential invalid.
    event = events.access_changed_event_build(credential=credential, user_id=user_id)
    events.event_send_on_commit(event)


def _username_text_check(username: str) -> str:
    # A lone surrogate (JSON's "\ud800") can be neither stored nor compared by PostgreSQL.
    if not text_storable(username):
        raise InvalidInput("Username must be valid Unicode text.")
    return username_normalise(username)


def credentials_check(*, username: str, password: str) -> str:
    """Refuse a username or password that is not text (a lone surrogate cannot be stored,
    hashed or compared); return the username NFKC-normalised (chat.usernames)."""
    username = _username_text_check(username)
    if not text_storable(password):
        raise InvalidInput("Password must be valid Unicode text.")
    return username


def _username_taken(username: str) -> bool:
    keys = UsernameKey.objects.filter(
        Q(folded=username_fold(username)) | Q(skeleton=username_skeleton(username))
    )
    # Users made by createsuperuser or the admin have no key: their names as typed.
    return keys.exists() or User.objects.filter(username__iexact=username).exists()


def user_register_check(*, username: str, password: str, client_ip: str | None = None) -> str:
    """Validate a registration; return the username as it will be stored. With
    ``client_ip``, the attempt counts towards CHAT_REGISTER_RATE_LIMIT_IP first."""
    if client_ip is not None:
        register_attempt_check(client_ip=client_ip)
    username = credentials_check(username=username, password=password)
    user_model = get_user_model()
    try:
        if not username or len(username) > 150:
            raise ValidationError("Username must be 1 to 150 characters.")
        user_model.username_validator(username)
        validate_password(password, user=user_model(username=username))
    except ValidationError as error:
        raise InvalidInput(" ".join(error.messages)) from error
    # Checked again on create; refused here before a password is hashed for nothing.
    if _username_taken(username):
        raise InvalidInput("That username is taken.")
    return username


def user_create(*, username: str, password_hash: str) -> User:
    """Create a checked user (user_register_check) with its username key: a name that
    folds or looks like a taken one is refused by the key's unique indexes."""
    user = User(username=username, password=password_hash)
    try:
        with transaction.atomic():
            if _username_taken(username):
                raise InvalidInput("That username is taken.")
            user.save()
            UsernameKey.objects.create(
                user=user, folded=username_fold(username), skeleton=username_skeleton(username)
            )
    except IntegrityError as error:
        raise InvalidInput("That username is taken.") from error
    return user


def username_key_ensure(*, user_id: int) -> None:
    """Give a user made outside ``user_create`` (createsuperuser, the admin) the username
    key registration checks, or move it after a rename. A name that folds or looks like
    another user's gets none: it logs in by its exact name only, and registration still
    refuses look-alikes of the name that holds the key."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return
    folded, skeleton = username_fold(user.username), username_skeleton(user.username)
    key = UsernameKey.objects.filter(user=user).first()
    if key is not None and (key.folded, key.skeleton) == (folded, skeleton):
        return
    try:
        with transaction.atomic():
            UsernameKey.objects.filter(user=user).delete()
            UsernameKey.objects.create(user=user, folded=folded, skeleton=skeleton)
    except IntegrityError:
        UsernameKey.objects.filter(user=user).delete()


def user_login_get(*, username: str, client_ip: str) -> User | None:
    """Count a login attempt (RATE_LIMITED past the limits) and return the user whose
    name folds as ``username`` does (a checked one: credentials_check), if any."""
    login_attempt_check(client_ip=client_ip, username=username_fold(username))
    return _user_by_name(username)


def _user_by_name(username: str) -> User | None:
    """The user ``username`` names: the one whose name folds as it does (NFKC,
    case-folded), else (users without a key: createsuperuser, the admin) the exact name."""
    # No stored username is longer, or holds NUL (PostgreSQL text cannot).
    if len(username) > 150 or "\x00" in username:
        return None
    key = UsernameKey.objects.select_related("user").filter(folded=username_fold(username))
    found = key.first()
    if found is not None:
        return found.user
    return User.objects.filter(username=username).first()


def user_password_upgrade(*, user: User, old: str, new: str) -> None:
    """Store a password's hash made with the current hasher settings, as Django's login
    does, unless the password changed meanwhile."""
    User.objects.filter(pk=user.pk, password=old).update(password=new)
