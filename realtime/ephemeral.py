"""Where presence and typing live: shared by every process (Redis, with expiry) or, for
the embedded default's one process, in its memory. Neither is durable.

Presence is per room: a user is online while some process holds them (they have a live
subscription to the room there). Each process's hold is a Redis entry with a deadline that
the process renews; a process killed without releasing its holds has them reaped once they
pass their deadline, by whoever looks next (a process serving the room's signals, or an
``onlineCount`` read). A user goes online on their first hold and offline on their last
release or reap: the store says which, so exactly one process announces each change.

Typing is per room too: who is typing, each until a deadline.
"""

from __future__ import annotations

import binascii
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings

from chat.redisclients import redis_async_client
from realtime.loops import loop_local

__all__ = ["EphemeralStore", "MemoryStore", "RedisStore", "get_store", "store_reset"]

# Reaped at most this many holds per room per call (the rest on the next).
_REAP_BATCH = 500

# KEYS: holds (zset "proc|uid" -> deadline), counts (hash uid -> holds), online (zset
# uid -> first seen), names (hash uid -> username). ARGV: proc, then (uid, username)
# pairs..., with ARGV[2] the deadline, ARGV[3] now, ARGV[4] key ttl ms.
# Returns the uids that came online.
_HOLD = """
local came = {}
for i = 5, #ARGV, 2 do
  local uid = ARGV[i]
  if redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1] .. '|' .. uid) == 1 then
    if redis.call('HINCRBY', KEYS[2], uid, 1) == 1 then
      redis.call('ZADD', KEYS[3], ARGV[3], uid)
      redis.call('HSET', KEYS[4], uid, ARGV[i + 1])
      table.insert(came, uid)
    end
  end
end
for k = 1, 4 do redis.call('PEXPIRE', KEYS[k], ARGV[4]) end
return came
"""

# The same KEYS; ARGV: proc, uid. Returns the username if the user went offline.
_RELEASE = """
if redis.call('ZREM', KEYS[1], ARGV[1] .. '|' .. ARGV[2]) == 0 then return false end
if redis.call('HINCRBY', KEYS[2], ARGV[2], -1) > 0 then return false end
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[2])
local name = redis.call('HGET', KEYS[4], ARGV[2])
redis.call('HDEL', KEYS[4], ARGV[2])
return name or ''
"""

# The same KEYS; ARGV: now, batch. Reaps holds past their deadline; returns
# {online count, uid, username, uid, username...} of the users that went offline.
_REAP = """
local gone = {0}
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(dead) do
  redis.call('ZREM', KEYS[1], member)
  local uid = string.match(member, '|(.*)$')
  if redis.call('HINCRBY', KEYS[2], uid, -1) <= 0 then
    redis.call('HDEL', KEYS[2], uid)
    redis.call('ZREM', KEYS[3], uid)
    table.insert(gone, uid)
    table.insert(gone, redis.call('HGET', KEYS[4], uid) or '')
    redis.call('HDEL', KEYS[4], uid)
  end
end
gone[1] = redis.call('ZCARD', KEYS[3])
return gone
"""


Member = tuple[int, str]  # (user id, username)


class EphemeralStore(Protocol):
    async def presence_hold(
        self, room: str, members: list[Member], *, deadline: float, now: float
    ) -> list[int]:
        """Hold (or renew) this process's hold of each member until ``deadline``;
        return the ids of those who came online."""

    async def presence_release(self, room: str, user_id: int) -> str | None:
        """Drop this process's hold; the username if the user went offline."""

    async def presence_reap(self, room: str, *, now: float) -> tuple[int, list[Member]]:
        """Drop holds past their deadline: the online count, and who went offline."""

    async def presence_renew(
        self, holds: dict[str, list[Member]], reap: list[str], *, deadline: float, now: float
    ) -> tuple[dict[str, list[int]], dict[str, list[Member]]]:
        """presence_hold for each room of ``holds`` and presence_reap for each of ``reap``,
        together: per room, who came online, and who went offline."""

    async def presence_list(self, room: str, first: int) -> list[Member]:
        """Up to ``first`` online users, longest online first."""

    async def typing_set(self, room: str, member: Member, until: float) -> None:
        """``member`` types until ``until`` (0: stopped)."""

    async def typing_get(self, room: str, *, now: float) -> dict[int, tuple[str, float]]:
        """Who types in ``room`` now: user id -> (username, until)."""


def _reaped(reply: list[Any]) -> list[Member]:
    """Who _REAP's reply says went offline (after the online count)."""
    return [(int(reply[i]), reply[i + 1].decode()) for i in range(1, len(reply), 2)]


def _process_id() -> str:
    return uuid.uuid4().hex[:16]


class RedisStore:
    """The shared store: each room's keys on one Redis (by a hash of the room's name,
    when the layer is sharded), all in one hash slot."""

    def __init__(self, shards: list[dict[str, Any]], prefix: str) -> None:
        self.process = _process_id()
        # With Sentinel, one master name per shard: a room stays on its shard across a
        # failover (the promoted replica has its keys, up to replication lag).
        self._clients = [redis_async_client(shard) for shard in shards]
        self._prefix = prefix
        self._scripts: dict[tuple[int, str], Any] = {}

    def _shard(self, room: str) -> int:
        return binascii.crc32(room.encode()) % len(self._clients)

    def _client(self, room: str) -> Any:  # redis-py types its replies loosely
        return self._clients[self._shard(room)]

    def _script(self, room: str, source: str) -> Any:
        index = self._shard(room)
        script = self._scripts.get((index, source))
        if script is None:
            script = self._scripts[(index, source)] = self._clients[index].register_script(source)
        return script

    def _presence_keys(self, room: str) -> list[str]:
        base = f"{self._prefix}:presence:{{{room}}}"
        return [f"{base}:holds", f"{base}:counts", f"{base}:online", f"{base}:names"]

    def _typing_keys(self, room: str) -> list[str]:
        base = f"{self._prefix}:typing:{{{room}}}"
        return [f"{base}:until", f"{base}:names"]

    def _hold_args(self, members: list[Member], *, deadline: float, now: float) -> list[Any]:
        ttl_ms = int(max(deadline - now, 1) * 3 * 1000)
        args: list[Any] = [self.process, deadline, now, ttl_ms]
        for user_id, username in members:
            args += [user_id, username]
        return args

    async def presence_hold(
        self, room: str, members: list[Member], *, deadline: float, now: float
    ) -> list[int]:
        if not members:
            return []
        args = self._hold_args(members, deadline=deadline, now=now)
        came = await self._script(room, _HOLD)(keys=self._presence_keys(room), args=args)
        return [int(uid) for uid in came]

    async def presence_renew(
        self, holds: dict[str, list[Member]], reap: list[str], *, deadline: float, now: float
    ) -> tuple[dict[str, list[int]], dict[str, list[Member]]]:
        # One pipeline per shard: a process renews all its rooms every third of the TTL,
        # and a round trip (and a pooled connection taken and given back) per room cost
        # as much as the rest of presence.
        calls: dict[int, list[tuple[str, str]]] = {}
        for room, members in holds.items():
            if members:
                calls.setdefault(self._shard(room), []).append(("hold", room))
        for room in reap:
            calls.setdefault(self._shard(room), []).append(("reap", room))
        came: dict[str, list[int]] = {}
        gone: dict[str, list[Member]] = {}
        for index, shard_calls in calls.items():
            async with self._clients[index].pipeline(transaction=False) as pipe:
                for what, room in shard_calls:
                    if what == "hold":
                        args = self._hold_args(holds[room], deadline=deadline, now=now)
                        source = _HOLD
                    else:
                        args, source = [now, _REAP_BATCH], _REAP
                    await self._script(room, source)(
                        keys=self._presence_keys(room), args=args, client=pipe
                    )
                replies = await pipe.execute()
            for (what, room), reply in zip(shard_calls, replies, strict=True):
                if what == "hold":
                    came[room] = [int(uid) for uid in reply]
                else:
                    gone[room] = _reaped(reply)
        return came, gone

    async def presence_release(self, room: str, user_id: int) -> str | None:
        name = await self._script(room, _RELEASE)(
            keys=self._presence_keys(room), args=[self.process, user_id]
        )
        return None if name is None else name.decode()

    async def presence_reap(self, room: str, *, now: float) -> tuple[int, list[Member]]:
        reply = await self._script(room, _REAP)(
            keys=self._presence_keys(room), args=[now, _REAP_BATCH]
        )
        return int(reply[0]), _reaped(reply)

    async def presence_list(self, room: str, first: int) -> list[Member]:
        keys = self._presence_keys(room)
        client = self._client(room)
        uids = await client.zrange(keys[2], 0, first - 1)
        if not uids:
            return []
        names = await client.hmget(keys[3], uids)
        return [(int(uid), (name or b"").decode()) for uid, name in zip(uids, names, strict=True)]

    async def typing_set(self, room: str, member: Member, until: float) -> None:
        until_key, names_key = self._typing_keys(room)
        user_id, username = member
        async with self._client(room).pipeline(transaction=True) as pipe:
            if until:
                pipe.zadd(until_key, {str(user_id): until})
                pipe.hset(names_key, str(user_id), username)
                # A room nobody types in any more forgets its keys.
                ttl = max(int(until - time.time()), 1) + 60
                pipe.expire(until_key, ttl)
                pipe.expire(names_key, ttl)
            else:
                pipe.zrem(until_key, str(user_id))
                pipe.hdel(names_key, str(user_id))
            await pipe.execute()

    async def typing_get(self, room: str, *, now: float) -> dict[int, tuple[str, float]]:
        until_key, names_key = self._typing_keys(room)
        client = self._client(room)
        entries = await client.zrangebyscore(until_key, now, "+inf", withscores=True)
        if not entries:
            return {}
        names = await client.hmget(names_key, [uid for uid, _ in entries])
        return {
            int(uid): ((name or b"").decode(), until)
            for (uid, until), name in zip(entries, names, strict=True)
        }


@dataclass
class _RoomPresence:
    holds: dict[str, float] = field(default_factory=dict)  # "proc|uid" -> deadline
    counts: dict[int, int] = field(default_factory=dict)
    online: dict[int, str] = field(default_factory=dict)  # insertion order: first seen


class MemoryStore:
    """The embedded default's store: one process, the same semantics."""

    def __init__(self) -> None:
        self.process = _process_id()
        self._presence: dict[str, _RoomPresence] = {}
        self._typing: dict[str, dict[int, tuple[str, float]]] = {}

    async def presence_hold(
        self, room: str, members: list[Member], *, deadline: float, now: float
    ) -> list[int]:
        state = self._presence.setdefault(room, _RoomPresence())
        came = []
        for user_id, username in members:
            key = f"{self.process}|{user_id}"
            new = key not in state.holds
            state.holds[key] = deadline
            if new:
                state.counts[user_id] = state.counts.get(user_id, 0) + 1
                if state.counts[user_id] == 1:
                    state.online[user_id] = username
                    came.append(user_id)
        return came

    def _drop(self, state: _RoomPresence, key: str) -> Member | None:
        if state.holds.pop(key, None) is None:
            return None
        user_id = int(key.rpartition("|")[2])
        state.counts[user_id] -= 1
        if state.counts[user_id] > 0:
            return None
        del state.counts[user_id]
        return user_id, state.online.pop(user_id, "")

    async def presence_release(self, room: str, user_id: int) -> str | None:
        state = self._presence.get(room)
        if state is None:
            return None
        gone = self._drop(state, f"{self.process}|{user_id}")
        if not state.holds:
            del self._presence[room]
        return None if gone is None else gone[1]

    async def presence_reap(self, room: str, *, now: float) -> tuple[int, list[Member]]:
        state = self._presence.get(room)
        if state is None:
            return 0, []
        dead = [key for key, deadline in state.holds.items() if deadline <= now][:_REAP_BATCH]
        gone = [member for key in dead if (member := self._drop(state, key)) is not None]
        return len(state.online), gone

    async def presence_renew(
        self, holds: dict[str, list[Member]], reap: list[str], *, deadline: float, now: float
    ) -> tuple[dict[str, list[int]], dict[str, list[Member]]]:
        came = {
            room: await self.presence_hold(room, members, deadline=deadline, now=now)
            for room, members in holds.items()
        }
        gone = {room: (await self.presence_reap(room, now=now))[1] for room in reap}
        return came, gone

    async def presence_list(self, room: str, first: int) -> list[Member]:
        state = self._presence.get(room)
        return [] if state is None else list(state.online.items())[:first]

    async def typing_set(self, room: str, member: Member, until: float) -> None:
        typing = self._typing.setdefault(room, {})
        if until:
            typing[member[0]] = (member[1], until)
        else:
            typing.pop(member[0], None)
            if not typing:
                del self._typing[room]

    async def typing_get(self, room: str, *, now: float) -> dict[int, tuple[str, float]]:
        typing = self._typing.get(room, {})
        return {uid: entry for uid, entry in typing.items() if entry[1] > now}


def _store_create() -> EphemeralStore:
    if settings.REDIS_SHARDS:
        return RedisStore(settings.REDIS_SHARDS, settings.CHAT["REDIS_PREFIX"])
    return MemoryStore()


_loop_store = loop_local(_store_create)


def get_store() -> EphemeralStore:
    """This event loop's store (one per process in production)."""
    return _loop_store()


def store_reset() -> None:
    """Forget the store of every loop (tests that change REDIS_URL)."""
    global _loop_store
    _loop_store = loop_local(_store_create)
