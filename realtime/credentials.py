"""Live credentials: each process's index of what authenticated its open sockets.

A socket registers the credential it was authenticated by (a bearer token, or a session)
with its user and expiry. It is revoked, and its ``on_revoked`` called once, when:
- an access notice names the credential or the user (chat.events.AccessChangedEvent,
  published after logout, token revocation or deactivation, received by the hub);
- it expires: one timer per process, armed for the earliest expiry;
- the periodic check (every ``CHAT_RESYNC_SECONDS``, one query per kind for all of the
  process's sockets) finds it no longer valid: the backstop for a lost notice.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from django.conf import settings

from chat.db import in_thread
from chat.events import AccessChangedEvent, session_credential_key, token_credential_key
from chat.selectors import credentials_valid
from realtime.hub import get_hub
from realtime.loops import loop_local

__all__ = ["LiveCredential", "credential_register", "credential_unregister"]

logger = logging.getLogger(__name__)

K = TypeVar("K", str, int)


@dataclass(eq=False, slots=True)
class LiveCredential:
    user_id: int
    # Exactly one of these.
    token_digest: str | None = None
    session_key: str | None = None
    # time.time() of expiry, if any.
    expires_at: float | None = None
    on_revoked: Callable[[], None] = field(default=lambda: None)
    revoked: bool = False

    @property
    def key(self) -> str:
        if self.token_digest is not None:
            return token_credential_key(self.token_digest)
        assert self.session_key is not None
        return session_credential_key(self.session_key)


class _Index:
    def __init__(self) -> None:
        self._by_key: dict[str, set[LiveCredential]] = {}
        self._by_user: dict[int, set[LiveCredential]] = {}
        self._expiries: list[tuple[float, int, LiveCredential]] = []
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._check: asyncio.Task[None] | None = None
        self._listening = False
        # Entries of the expiry heap whose socket has gone.
        self._stale = 0

    async def add(self, credential: LiveCredential) -> None:
        self._by_key.setdefault(credential.key, set()).add(credential)
        self._by_user.setdefault(credential.user_id, set()).add(credential)
        if credential.expires_at is not None:
            heapq.heappush(self._expiries, (credential.expires_at, next(self._order), credential))
            self._arm()
        if self._check is None:
            # A fresh context: not the log context (connection id) of this first socket.
            self._check = asyncio.create_task(
                self._check_loop(), name="chat-credentials", context=contextvars.Context()
            )
        if not self._listening:
            hub = get_hub()
            try:
                await hub.access_listen()
            except Exception:
                # Redis down: the periodic check still applies; the next socket retries.
                logger.exception("could not join the access notice group")
            else:
                self._listening = True
                hub.access_listeners.append(self.notice)

    def discard(self, credential: LiveCredential) -> None:
        if credential.on_revoked is _closed:
            return
        _holder_discard(self._by_key, credential.key, credential)
        _holder_discard(self._by_user, credential.user_id, credential)
        # Let the socket go now; its expiry entry is dropped when due or compacted away
        # (tokens live for weeks, sockets come and go).
        credential.on_revoked = _closed
        if credential.expires_at is not None:
            self._stale += 1
            if self._stale > 64 and self._stale * 2 > len(self._expiries):
                self._expiries = [e for e in self._expiries if e[2].on_revoked is not _closed]
                heapq.heapify(self._expiries)
                self._stale = 0

    def revoke(self, credential: LiveCredential, reason: str) -> None:
        if credential.revoked:
            return
        credential.revoked = True
        on_revoked = credential.on_revoked
        self.discard(credential)
        logger.info(
            "socket credential revoked",
            extra={"event": "credential.revoked", "user_id": credential.user_id, "reason": reason},
        )
        try:
            on_revoked()
        except Exception:
            logger.exception("closing a socket whose credential was revoked failed")

    def notice(self, event: AccessChangedEvent) -> None:
        """Apply an access notice (from any process)."""
        key = event.get("credential")
        if key is not None:
            for credential in tuple(self._by_key.get(key, ())):
                self.revoke(credential, "revoked")
        user_id = event.get("user_id")
        if user_id is not None:
            for credential in tuple(self._by_user.get(user_id, ())):
                self.revoke(credential, "user deactivated")

    def _arm(self) -> None:
        if not self._expiries:
            return
        due = self._expiries[0][0]
        if self._timer is not None and self._timer_at is not None and self._timer_at <= due:
            return
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        self._timer_at = due
        self._timer = loop.call_at(
            loop.time() + max(0.0, due - time.time()), self._expire, context=contextvars.Context()
        )

    def _expire(self) -> None:
        self._timer = self._timer_at = None
        now = time.time()
        while self._expiries and self._expiries[0][0] <= now:
            _, _, credential = heapq.heappop(self._expiries)
            if credential.on_revoked is not _closed:
                self.revoke(credential, "expired")
            # Now closed either way, and out of the heap.
            self._stale -= 1
        self._arm()

    async def _check_loop(self) -> None:
        try:
            while self._by_key:
                await asyncio.sleep(settings.CHAT["RESYNC_SECONDS"])
                try:
                    await self._check_all()
                except Exception:
                    logger.exception("credential check failed")
        finally:
            self._check = None

    async def _check_all(self) -> None:
        credentials = [c for holders in self._by_key.values() for c in holders]
        if not credentials:
            return
        started = time.time()
        tokens, sessions, users = await in_thread(credentials_valid)(
            token_digests={c.token_digest for c in credentials if c.token_digest},
            session_keys={c.session_key for c in credentials if c.session_key},
            user_ids={c.user_id for c in credentials},
        )
        for credential in credentials:
            if credential.revoked:
                continue
            valid = (
                credential.token_digest in tokens
                if credential.token_digest is not None
                else sessions is None or credential.session_key in sessions
            )
            if not valid or credential.user_id not in users:
                self.revoke(credential, "no longer valid")
            elif credential.expires_at is not None and credential.expires_at <= started:
                self.revoke(credential, "expired")


def _closed() -> None:
    """The ``on_revoked`` of a credential whose socket has gone."""


def _holder_discard(
    index: dict[K, set[LiveCredential]], key: K, credential: LiveCredential
) -> None:
    holders = index.get(key)
    if holders is not None:
        holders.discard(credential)
        if not holders:
            del index[key]


_index = loop_local(_Index)


async def credential_register(credential: LiveCredential) -> None:
    """Index a socket's credential: ``on_revoked`` is called (once) when it ends."""
    await _index().add(credential)


def credential_unregister(credential: LiveCredential) -> None:
    """Forget a closed socket's credential."""
    _index().discard(credential)
