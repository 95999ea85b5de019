"""Persisted queries: Apollo's automatic persisted queries (APQ) and an allow-list.

A client sends ``extensions.persistedQuery = {"version": 1, "sha256Hash": <hex>}`` with no
query; the server answers ``PersistedQueryNotFound`` (code PERSISTED_QUERY_NOT_FOUND, which
Apollo's persisted-queries link looks for) until the client sends the hash with its
query once, which registers it. Registered documents are shared by every process (Redis,
with REDIS_URL; one process's memory in the embedded run), bounded in bytes and age.

With CHAT_PERSISTED_QUERIES_ONLY, only documents registered ahead of time (``manage.py
persisted_queries_register``, from graphql-codegen's persisted-documents.json) run, by
hash or by their exact text; nothing a client sends is registered.

One entry point for every transport, ``persisted_document``.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import OrderedDict
from typing import Any

from django.conf import settings
from graphql import GraphQLError

from chat.redisclients import redis_async_client
from realtime.loops import loop_local
from schema.errors import error_record
from schema.limits import query_size_error

__all__ = [
    "PERSISTED_QUERY_INVALID",
    "PERSISTED_QUERY_NOT_ALLOWED",
    "PERSISTED_QUERY_NOT_FOUND",
    "PersistedQueryError",
    "document_hash",
    "persisted_document",
    "persisted_documents_register",
    "persisted_payload_apply",
    "persisted_store_clear",
]

PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_INVALID = "PERSISTED_QUERY_INVALID"
PERSISTED_QUERY_NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"

_HASH = re.compile(r"[0-9a-f]{64}")


class PersistedQueryError(GraphQLError):
    """A request the persisted-query rules refuse: sent as its GraphQL error."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, extensions={"code": code})
        self.code = code


def document_hash(document: str) -> str:
    """The SHA-256 of a document's UTF-8 text, in hex (as Apollo's link sends it)."""
    return hashlib.sha256(document.encode()).hexdigest()


def _refuse(message: str, code: str) -> PersistedQueryError:
    error_record(code)
    return PersistedQueryError(message, code)


# The memory store (embedded run): hash -> (document, registered at), oldest first, and
# the documents' total bytes.
_memory: OrderedDict[str, tuple[str, float]] = OrderedDict()
_memory_bytes = [0]
_memory_allowed: dict[str, str] = {}

# Registers a document and drops those past the age bound, then the oldest while the
# documents' bytes are over the bound, atomically. KEYS: documents (hash), registration
# times (sorted set), their total bytes (counter).
_REGISTER = """
local previous = redis.call('HSTRLEN', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local total = redis.call('INCRBY', KEYS[3], string.len(ARGV[2]) - previous)
local function drop(h)
  total = redis.call('DECRBY', KEYS[3], redis.call('HSTRLEN', KEYS[1], h))
  redis.call('HDEL', KEYS[1], h)
  redis.call('ZREM', KEYS[2], h)
end
for _, h in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[3] - ARGV[4])) do drop(h) end
while total > tonumber(ARGV[5]) do
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if not oldest then break end
  drop(oldest)
end
"""

# The first shard's master, a URL or found through Sentinel (chat.redisclients), as the
# rate limits use it. redis.asyncio clients belong to the loop they were made on.
_client = loop_local(lambda: redis_async_client(settings.REDIS_SHARDS[0]))


def _redis() -> Any:  # redis-py types its replies loosely
    return _client() if settings.REDIS_SHARDS else None


def _keys() -> tuple[str, str, str, str]:
    prefix = settings.CHAT["REDIS_PREFIX"]
    # One hash slot ({apq}), for the script's keys on a cluster.
    base = f"{prefix}:{{apq}}"
    return f"{base}:docs", f"{base}:times", f"{base}:bytes", f"{base}:allowed"


async def _lookup(sha: str) -> str | None:
    """The document registered under ``sha``: ahead of time, or (not in allow-list mode)
    by a client within the bounds."""
    chat = settings.CHAT
    only = chat["PERSISTED_QUERIES_ONLY"]
    client = _redis()
    if client is None:
        if sha in _memory_allowed or only:
            return _memory_allowed.get(sha)
        entry = _memory.get(sha)
        if entry is None or entry[1] < time.time() - chat["PERSISTED_QUERY_TTL_SECONDS"]:
            return None
        return entry[0]
    docs, times, _, allowed = _keys()
    async with client.pipeline(transaction=False) as pipe:
        pipe.hget(allowed, sha)
        pipe.hget(docs, sha)
        pipe.zscore(times, sha)
        registered, document, at = await pipe.execute()
    if registered is not None or only:
        return registered.decode() if registered is not None else None
    if document is None or at is None or at < time.time() - chat["PERSISTED_QUERY_TTL_SECONDS"]:
        return None
    return str(document.decode())


async def _register(sha: str, document: str) -> None:
    chat = settings.CHAT
    now = time.time()
    client = _redis()
    if client is None:
        previous = _memory.pop(sha, None)
        _memory[sha] = (document, now)
        _memory_bytes[0] += len(document.encode()) - (len(previous[0].encode()) if previous else 0)
        cutoff = now - chat["PERSISTED_QUERY_TTL_SECONDS"]
        while _memory and (
            _memory_bytes[0] > chat["PERSISTED_QUERIES_BYTES"]
            or next(iter(_memory.values()))[1] < cutoff
        ):
            _, (dropped, _at) = _memory.popitem(last=False)
            _memory_bytes[0] -= len(dropped.encode())
        return
    docs, times, total, _ = _keys()
    await client.eval(
        _REGISTER,
        3,
        docs,
        times,
        total,
        sha,
        document,
        now,
        chat["PERSISTED_QUERY_TTL_SECONDS"],
        chat["PERSISTED_QUERIES_BYTES"],
    )


async def persisted_document(query: object, extensions: object) -> object:
    """The document to run for a request's ``query`` and ``extensions``: its own query, or
    the one registered under ``extensions.persistedQuery``. Raise PersistedQueryError
    for a hash not (or no longer) registered, a query that does not match its hash, and,
    in allow-list mode, any document not registered ahead of time."""
    persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    if persisted is None:
        if not settings.CHAT["PERSISTED_QUERIES_ONLY"] or not isinstance(query, str):
            return query
        if await _lookup(document_hash(query)) != query:
            raise _refuse(
                "Only registered documents may run on this server.", PERSISTED_QUERY_NOT_ALLOWED
            )
        return query
    sha = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise _refuse("Unsupported persisted query version.", PERSISTED_QUERY_INVALID)
    if not isinstance(sha, str) or not _HASH.fullmatch(sha):
        raise _refuse(
            "persistedQuery.sha256Hash must be 64 lower-case hex digits.", PERSISTED_QUERY_INVALID
        )
    if query is None:
        document = await _lookup(sha)
        if document is None:
            # Apollo's link matches this message or code, then sends the query with its hash.
            raise _refuse("PersistedQueryNotFound", PERSISTED_QUERY_NOT_FOUND)
        return document
    if not isinstance(query, str):
        return query  # the transport's own check reports it
    if document_hash(query) != sha:
        raise _refuse("provided sha does not match query", PERSISTED_QUERY_INVALID)
    if settings.CHAT["PERSISTED_QUERIES_ONLY"]:
        if await _lookup(sha) != query:
            raise _refuse(
                "Only registered documents may run on this server.", PERSISTED_QUERY_NOT_ALLOWED
            )
    elif query_size_error(query) is None:
        # (Too large: refused by the transport next, and never stored.)
        await _register(sha, query)
    return query


async def persisted_payload_apply(payload: object) -> PersistedQueryError | None:
    """``persisted_document`` for a websocket subscribe/start payload: its query replaced
    in place; the error to send instead, if any."""
    if not isinstance(payload, dict):
        return None
    try:
        payload["query"] = await persisted_document(payload.get("query"), payload.get("extensions"))
    except PersistedQueryError as error:
        return error
    return None


async def persisted_documents_register(documents: dict[str, str]) -> None:
    """Register ``documents`` (hash -> document, each hash checked) ahead of time."""
    for sha, document in documents.items():
        if document_hash(document) != sha:
            raise ValueError(f"{sha} is not the SHA-256 of its document")
    client = _redis()
    if client is None:
        _memory_allowed.update(documents)
        return
    if documents:
        await client.hset(_keys()[3], mapping=documents)


async def persisted_store_clear() -> None:
    """Forget every persisted document (tests)."""
    _memory.clear()
    _memory_bytes[0] = 0
    _memory_allowed.clear()
    client = _redis()
    if client is not None:
        await client.delete(*_keys())
