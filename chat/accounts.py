"""Accounts: registration, tokens, sessions and the checks of sign-in."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from chat import events
from chat.errors import InvalidInput
from chat.models import (
    AuthToken,
    UsernameKey,
)
from chat.ratelimit import login_attempt_check, register_attempt_check
from chat.selectors import token_digest
from chat.usernames import (
    text_storable,
    username_fold,
    username_normalise,
    username_skeleton,
)

__all__ = [
    "credential_notice",
    "credentials_check",
    "session_logout",
    "token_create",
    "token_revoke",
    "user_by_name",
    "user_create",
    "user_login_get",
    "user_password_upgrade",
    "user_register",
    "user_register_check",
    "username_key_ensure",
    "username_text_check",
    "users_deactivate",
]

logger = logging.getLogger(__name__)


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


def users_deactivate(*, user_ids: list[int], staff: User) -> list[User]:
    """Deactivate the active users among ``user_ids`` (never ``staff`` themselves) and,
    after commit, close their open sockets in every process; return those deactivated."""
    with transaction.atomic():
        users = list(
            User.objects.select_for_update()
            .filter(pk__in=user_ids, is_active=True)
            .exclude(pk=staff.pk)
            .order_by("pk")
        )
        # One UPDATE: post_save (chat.signals) does not run, so notify here.
        User.objects.filter(pk__in=[user.pk for user in users]).update(is_active=False)
        for user in users:
            user.is_active = False
            credential_notice(user_id=user.pk)
    return users


def _credential_notice_publish(*, credential: str | None, user_id: int | None) -> None:
    # If this notice is lost, each process's periodic credential check (every
    # CHAT_RESYNC_SECONDS) still finds the credential invalid.
    event = events.access_changed_event_build(credential=credential, user_id=user_id)
    events.event_send_on_commit(event)


def username_text_check(username: str) -> str:
    # A lone surrogate (JSON's "\ud800") can be neither stored nor compared by PostgreSQL.
    if not text_storable(username):
        raise InvalidInput("Username must be valid Unicode text.")
    return username_normalise(username)


def credentials_check(*, username: str, password: str) -> str:
    """Refuse a username or password that is not text (a lone surrogate cannot be stored,
    hashed or compared); return the username NFKC-normalised (chat.usernames)."""
    username = username_text_check(username)
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
    return user_by_name(username)


def user_by_name(username: str) -> User | None:
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
