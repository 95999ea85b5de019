"""Login and register from async code: password hashing in a bounded pool of its own.

A password hash costs about 0.2 s of CPU by design. On the ORM threads
(``CHAT_DB_THREADS``, one by default) it held up every post and query of the process;
on the event loop it would hold up every socket. Here the database work runs on the ORM
threads as before, and the hash in ``CHAT_PASSWORD_HASH_THREADS`` threads of its own
(hashlib releases the GIL while it hashes). At most ``CHAT_PASSWORD_HASH_QUEUE`` more wait
for one: past that a sign-in is refused at once (RATE_LIMITED), not queued for minutes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar, TypeVarTuple

from django.conf import settings
from django.contrib.auth import hashers
from django.contrib.auth.models import User

from chat import accounts
from chat.db import in_thread
from chat.errors import RateLimited, Unauthenticated

__all__ = ["user_sign_in", "user_sign_up"]

R = TypeVar("R")
Ts = TypeVarTuple("Ts")

_pool: tuple[ThreadPoolExecutor, threading.Semaphore] | None = None
_pool_lock = threading.Lock()


def _hash_pool() -> tuple[ThreadPoolExecutor, threading.Semaphore]:
    global _pool
    with _pool_lock:
        if _pool is None:
            threads = max(1, settings.CHAT["PASSWORD_HASH_THREADS"])
            _pool = (
                ThreadPoolExecutor(max_workers=threads, thread_name_prefix="chat-hash"),
                # One slot a hash running or waiting.
                threading.Semaphore(threads + max(0, settings.CHAT["PASSWORD_HASH_QUEUE"])),
            )
        return _pool


def _pool_reset() -> None:
    """Drop the pool, so that the next hash sizes a new one from the settings (tests)."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool[0].shutdown(wait=False)
        _pool = None


async def _hashing(func: Callable[[*Ts], R], *args: *Ts) -> R:
    """Run ``func`` in the hash pool, or refuse at once when it is full."""
    executor, slots = _hash_pool()
    if not slots.acquire(blocking=False):
        raise RateLimited("Too many sign-ins in progress; try again in a second.", retry_after=1)
    try:
        future = executor.submit(func, *args)
    except BaseException:
        slots.release()
        raise
    # Released when the hash ends, or when it is cancelled before it starts.
    future.add_done_callback(lambda _: slots.release())
    return await asyncio.wrap_future(future)


def _password_check(encoded: str | None, password: str) -> tuple[bool, str | None]:
    """(Whether ``password`` matches ``encoded``, a new hash when the stored one was made
    with outdated settings.) With no user, a password is hashed all the same, so that an
    unknown username takes as long to refuse as a wrong password (as Django's
    ModelBackend does)."""
    if encoded is None:
        hashers.make_password(password)
        return False, None
    upgraded: list[str] = []
    matched = hashers.check_password(
        password, encoded, setter=lambda raw: upgraded.append(hashers.make_password(raw))
    )
    return matched, upgraded[0] if upgraded else None


async def user_sign_in(*, username: str, password: str, client_ip: str) -> User:
    """The user these credentials sign in, counted against the login limits.

    An unknown user, a wrong password and an inactive user get the same answer after the
    same work: nothing tells whether the name exists.
    """
    username = accounts.credentials_check(username=username, password=password)
    user = await in_thread(accounts.user_login_get)(username=username, client_ip=client_ip)
    encoded = user.password if user is not None else None
    matched, upgraded = await _hashing(_password_check, encoded, password)
    if user is None or not matched or not user.is_active:
        raise Unauthenticated("Invalid username or password.")
    if upgraded is not None and encoded is not None:
        await in_thread(accounts.user_password_upgrade)(user=user, old=encoded, new=upgraded)
        user.password = upgraded
    return user


async def user_sign_up(*, username: str, password: str, client_ip: str) -> User:
    """Create an account (accounts.user_register_check's rules), counted against the
    register limit."""
    username = await in_thread(accounts.user_register_check)(
        username=username, password=password, client_ip=client_ip
    )
    encoded = await _hashing(hashers.make_password, password)
    return await in_thread(accounts.user_create)(username=username, password_hash=encoded)
