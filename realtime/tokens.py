"""Bearer tokens verified once a second per process, not once a request.

Verifying a token is a database read (chat.selectors.token_credential_get), which cost
more than a whole Django request: an authenticated ``{__typename}`` ran at less than half
the rate of an anonymous one. Each process keeps what it verified, for at most
``CHAT_TOKEN_CACHE_SECONDS`` (1 s by default), and drops it at once when an access notice
(chat.events.AccessChangedEvent: logout, token revocation or deletion, user deactivation,
from any process) names the token or its user. The notice is the fast way; the age limit
is what bounds revocation even when a notice is lost (Redis pub/sub delivers at most
once), the part the websocket path's periodic check plays for live sockets
(realtime/credentials.py).

Invalid tokens are remembered as long, apart from the valid ones: a request the HTTP front
(internals/fastpaths/http.py) declines for its token goes on to the standard path, which
asks again, and a flood of random tokens must not push the valid ones out. (A token exists
before anyone can present it, and once invalid it stays so: remembering that is safe.)
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

from chat.db import in_thread
from chat.events import ACCESS_CHANGED_EVENT_TYPE, AccessChangedEvent, Event, token_credential_key
from chat.metrics import TOKEN_CACHE_LOOKUPS
from chat.selectors import token_credential_get, token_digest
from realtime.hub import get_hub
from realtime.loops import loop_local
from realtime.publisher import local_listeners

if TYPE_CHECKING:
    from django.contrib.auth.models import User

__all__ = ["token_user_cached"]

logger = logging.getLogger(__name__)

# Valid tokens kept per process at most, and invalid ones (the least recently verified
# go first): a bound on memory whatever the number of clients.
MAX_TOKENS = 10_000

_HITS = TOKEN_CACHE_LOOKUPS.labels(result="hit")
_MISSES = TOKEN_CACHE_LOOKUPS.labels(result="miss")

# The clocks, replaced by tests.
monotonic = time.monotonic
wall = time.time


@dataclass(slots=True)
class _Entry:
    user: User
    # time.monotonic() after which the token is verified again.
    fresh_until: float
    # time.time() of the token's expiry.
    expires_at: float


class _TokenCache:
    def __init__(self) -> None:
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        # Invalid tokens, with the monotonic() after which they are read again.
        self._invalid: OrderedDict[str, float] = OrderedDict()
        # Bumped by every notice: a verification that started before one is not kept.
        self._generation = 0
        self._listening = False

    async def user(self, raw: str) -> User | None:
        digest = token_digest(raw)
        entry = self._entries.get(digest)
        if entry is not None:
            if entry.fresh_until > monotonic() and entry.expires_at > wall():
                _HITS.inc()
                return entry.user
            del self._entries[digest]
        invalid_until = self._invalid.get(digest)
        if invalid_until is not None:
            if invalid_until > monotonic():
                _HITS.inc()
                return None
            del self._invalid[digest]
        _MISSES.inc()
        max_age = float(settings.CHAT["TOKEN_CACHE_SECONDS"])
        if max_age > 0 and not self._listening:
            await self._listen()
        generation = self._generation
        started = monotonic()
        found = await in_thread(token_credential_get)(raw=raw)
        if found is None:
            if max_age > 0:
                self._invalid[digest] = started + max_age
                if len(self._invalid) > MAX_TOKENS:
                    self._invalid.popitem(last=False)
            return None
        user, expires = found
        if max_age > 0 and generation == self._generation:
            # Fresh from when the read started: it may have been answered just before a
            # revocation that took effect during it.
            self._entries[digest] = _Entry(user, started + max_age, expires.timestamp())
            if len(self._entries) > MAX_TOKENS:
                self._entries.popitem(last=False)
        return user

    async def _listen(self) -> None:
        hub = get_hub()
        try:
            await hub.access_listen()
        except Exception:
            # Redis down: the age limit still bounds revocation; the next miss retries.
            logger.exception("could not join the access notice group")
            return
        self._listening = True
        hub.access_listeners.append(self.notice)

    def notice(self, event: AccessChangedEvent) -> None:
        """Forget the token or the user an access notice names (from any process)."""
        self._generation += 1
        credential = event.get("credential")
        if credential is not None and credential.startswith(token_credential_key("")):
            self._entries.pop(credential.removeprefix(token_credential_key("")), None)
        user_id = event.get("user_id")
        if user_id is not None:
            for digest in [d for d, e in self._entries.items() if e.user.pk == user_id]:
                del self._entries[digest]


_cache = loop_local(_TokenCache)


def _local_notice(event: Event) -> None:
    # A revocation made by this process holds here before its request answers (logout,
    # then the same token at once), not a Redis round trip later.
    if event.get("type") == ACCESS_CHANGED_EVENT_TYPE and "room" not in event:
        _cache().notice(event)  # type: ignore[arg-type]


local_listeners.append(_local_notice)


async def token_user_cached(*, raw: str) -> User | None:
    """The active user a live token belongs to, or None (chat.selectors.token_credential_get),
    verified at most ``CHAT_TOKEN_CACHE_SECONDS`` ago and revoked at once by a notice."""
    return await _cache().user(raw)
