"""Prometheus metrics of this process (exposed at /metrics by project.metrics).

Each daphne process has its own registry (prometheus-client's default one, which also
carries the process_* and python_* collectors): scrape every process on its own port.

Metrics on the delivery path are O(1) per event, never per socket: the hub counts the
deliveries of one event with a single ``inc(n)`` and observes the event's latency once
per process, because anything per socket would multiply by the fan-out (1,000 sockets
per event in the benchmarks).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# No *_created samples: they double the output and no alert or dashboard here uses them.
disable_created_metrics()

__all__ = [
    "DELIVERIES",
    "DELIVERY_LATENCY",
    "FAST_PATH_OPERATIONS",
    "FAST_PATH_RESULTS",
    "GRAPHQL_ERRORS",
    "HTTP_STREAMS_OPEN",
    "INTERNALS_HOOK_ACTIVE",
    "LAYER_RECEIVE_FAILURES",
    "MESSAGES_PUBLISHED",
    "PUBLISH_FAILURES",
    "RESYNC_RECOVERIES",
    "ROOM_EVENTS_PUBLISHED",
    "SUBSCRIBER_OVERFLOWS",
    "SUBSCRIPTIONS_ACTIVE",
    "TOKEN_CACHE_LOOKUPS",
    "WEBSOCKETS_OPEN",
]

WEBSOCKETS_OPEN = Gauge("chat_websockets_open", "Accepted websocket connections now open.")
HTTP_STREAMS_OPEN = Gauge(
    "chat_http_streams_open",
    "Operations streamed over HTTP (SSE, multipart) now open.",
    ["transport"],
)
SUBSCRIPTIONS_ACTIVE = Gauge(
    "chat_subscriptions_active", "messageAdded subscriptions registered with the room hub."
)
DELIVERIES = Counter(
    "chat_deliveries",
    "Messages handed to subscriptions for sending: live (from the channel layer), replay "
    "(afterSeq history at start) or backfill (read from the database after a lost or "
    "reordered event, a full buffer or a resync).",
    ["source"],
)
# Bound children: the hub's per-event path does no label lookup.
DELIVERIES_LIVE = DELIVERIES.labels(source="live")
DELIVERIES_REPLAY = DELIVERIES.labels(source="replay")
DELIVERIES_BACKFILL = DELIVERIES.labels(source="backfill")
MESSAGES_PUBLISHED = Counter(
    "chat_messages_published", "Message events published to the channel layer after commit."
)
ROOM_EVENTS_PUBLISHED = Counter(
    "chat_room_events_published",
    "Room events other than posts (edits, deletions, reactions, membership) published to "
    "the channel layer after commit; a post's travels in its message event.",
)
PUBLISH_FAILURES = Counter(
    "chat_publish_failures",
    "Publishes that failed or timed out (Redis down); subscribers recover from the database.",
)
DELIVERY_LATENCY = Histogram(
    "chat_delivery_latency_seconds",
    "From publish (in the posting process) to the event's arrival at this process's room "
    "hub, once per event per process. Wall clocks: across machines, includes clock skew.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SUBSCRIBER_OVERFLOWS = Counter(
    "chat_subscriber_overflows",
    "Times a subscription's buffer filled up (CHAT_SUBSCRIBER_BUFFER) and it switched to "
    "catching up from the database.",
)
RESYNC_RECOVERIES = Counter(
    "chat_resync_recoveries",
    "Rooms whose committed tail never arrived through the channel layer and were caught up "
    "from the database by the periodic resync (CHAT_RESYNC_SECONDS).",
)
LAYER_RECEIVE_FAILURES = Counter(
    "chat_layer_receive_failures", "Failed reads of the channel layer by the room hub."
)
GRAPHQL_ERRORS = Counter(
    "chat_graphql_errors",
    "GraphQL errors sent to clients, by extensions.code (RATE_LIMITED: refused posts).",
    ["code"],
)

INTERNALS_HOOK_ACTIVE = Gauge(
    "chat_internals_hook_active",
    "1 if the hook into a library's internals is on, 0 if its standard public path runs "
    "(internals/hooks.py).",
    ["hook"],
)
FAST_PATH_OPERATIONS = Counter(
    "chat_fast_path_operations",
    "Operations by the fast path registered for their root field "
    '(internals/fastpaths/registry.py; field="*": any other query or mutation) and '
    "whether it served them (fast) or Strawberry's standard path did (standard): "
    "CHAT_FAST_PATHS=0, an extension the fast paths do not replicate, a hook off, or an "
    "operation the fast path cannot serve identically. Counted once per operation, by "
    "transport: ws (graphql-transport-ws) or http (a GraphQL POST the HTTP front got that "
    "far, internals/fastpaths/http.py).",
    ["field", "path", "transport"],
)
FAST_PATH_RESULTS = Counter(
    "chat_fast_path_results",
    "Results the subscription fast paths made of an event, by root field: rendered from "
    "the event's value (internals/fastpaths/render.py) or executed. One per distinct "
    "operation per event (per distinct viewer too where the selection depends on it), "
    "shared by every local subscriber of that operation.",
    ["field", "how"],
)
TOKEN_CACHE_LOOKUPS = Counter(
    "chat_token_cache_lookups",
    "Bearer tokens of HTTP requests verified from this process's cache (hit) or the "
    "database (miss: unknown, older than CHAT_TOKEN_CACHE_SECONDS, or dropped by a "
    "revocation notice) (realtime/tokens.py).",
    ["result"],
)
