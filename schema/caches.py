"""Caches of what is derived from a GraphQL document, bounded in bytes.

Anyone may send any document, so a cache keyed by document text is an open door to the
server's memory: a 1 MB string literal is a handful of tokens, and a cache of 512 such
documents held gigabytes. Here every cache is keyed by a digest of the document (and of
anything else the entry depends on, such as the operation name), and holds at most
``CHAT_QUERY_CACHE_BYTES`` by an estimate of what its entries keep alive: a parsed document
keeps its text and every token (graphql-core links them from ``loc``), and so does anything
that holds one of its nodes.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from django.conf import settings
from graphql import GraphQLSchema, Node, Token, validate
from strawberry.extensions import SchemaExtension

__all__ = ["DocumentCache", "ValidationCache", "document_cost", "document_key"]

V = TypeVar("V")

# What a token of a parsed document costs (measured with tracemalloc on graphql-core 3.3:
# ~390 bytes a token with its AST nodes), and what an entry costs besides (key, links).
TOKEN_BYTES = 400
ENTRY_BYTES = 200


def document_key(query: str, *parts: str | None) -> bytes:
    """A digest of the document text and ``parts`` (e.g. the operation name)."""
    digest = hashlib.blake2b(digest_size=16)
    for text in (query, *parts):
        # Lone surrogates are valid in a JSON string, and so in a document.
        data = b"\xff" if text is None else text.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.digest()


def document_cost(node: Node | None) -> int:
    """Bytes an entry that keeps ``node`` alive costs, roughly: a node keeps its whole
    document's text and tokens (through ``loc``)."""
    if node is None or node.loc is None:
        return ENTRY_BYTES
    first: Token | None = node.loc.start_token
    while first is not None and first.prev is not None:
        first = first.prev
    tokens = 0
    while first is not None:
        tokens += 1
        first = first.next
    return ENTRY_BYTES + 2 * len(node.loc.source.body) + TOKEN_BYTES * tokens


class DocumentCache(Generic[V]):
    """Least recently used entries, at most ``max_bytes`` of them by their cost."""

    def __init__(self, max_bytes: int | None = None) -> None:
        self._max_bytes = max_bytes
        self._entries: OrderedDict[Any, tuple[V, int]] = OrderedDict()
        self._bytes = 0

    @property
    def max_bytes(self) -> int:
        if self._max_bytes is None:
            # Read late: the limit may be changed by tests (override_settings).
            return int(settings.CHAT["QUERY_CACHE_BYTES"])
        return self._max_bytes

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Any, make: Callable[[], V], cost: Callable[[V], int | None]) -> V:
        """The cached value for ``key``, else ``make()``, cached if ``cost`` gives its
        size (None: not to be cached) and it fits."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            return entry[0]
        value = make()
        size = cost(value)
        limit = self.max_bytes
        if size is None or size > limit:
            return value
        self._entries[key] = (value, size)
        self._bytes += size
        while self._bytes > limit:
            _, (_, dropped) = self._entries.popitem(last=False)
            self._bytes -= dropped
        return value

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0


_validations: DocumentCache[bool] = DocumentCache()


def _no_graphql_schema(schema: Any) -> GraphQLSchema | None:
    return None


# The graphql-core schema of a Strawberry schema, or None when unknown (Strawberry has no
# public accessor): internals/strawberry.py installs it at start-up under its hook, and
# without it Strawberry validates every document itself.
graphql_schema_of: Callable[[Any], GraphQLSchema | None] = _no_graphql_schema


class ValidationCache(SchemaExtension):
    """Strawberry's ValidationCache, keyed by a digest of the document text and bounded
    in bytes; only documents that validate are remembered (an entry costs its key)."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        query, document = context.query, context.graphql_document
        known = graphql_schema_of(context.schema)
        if isinstance(query, str) and document is not None and known is not None:
            graphql_schema = known
            rules = tuple(context.validation_rules)
            key = (document_key(query), rules)
            errors: list[Any] = []

            def valid() -> bool:
                errors.extend(validate(graphql_schema, document, rules))
                return not errors

            if _validations.get(key, valid, lambda ok: ENTRY_BYTES if ok else None):
                context.pre_execution_errors = []
            else:
                context.pre_execution_errors = errors
        yield
