"""The GraphQL schema: one ``strawberry.Schema`` built from the role modules (imported as
``from schema import schema``)."""

from __future__ import annotations

import strawberry

from schema.caches import ValidationCache
from schema.cost import cost_limiter
from schema.errors import ErrorCodes
from schema.introspection import introspection_switch
from schema.limits import depth_limiter, max_tokens_limiter
from schema.mutations import Mutation
from schema.operations import OperationSelection
from schema.queries import Query
from schema.signaltypes import SIGNAL_TYPES
from schema.subscriptions import Subscription
from schema.types import ROOM_EVENT_TYPES

__all__ = ["schema"]

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=ROOM_EVENT_TYPES + SIGNAL_TYPES,
    # Clients send the same few documents over and over: validate each once (a cache
    # bounded in bytes, see schema/caches.py). (Strawberry's ParserCache would also help,
    # but its parse errors skip ErrorCodes' code.)
    # The websocket fast paths replicate exactly these (REPLICATED_EXTENSIONS in
    # internals/fastpaths/registry.py) and decline every operation while the schema has
    # any other: an extension added here sees every operation, on the standard path, until
    # the fast paths replicate it too.
    extensions=[
        depth_limiter,
        cost_limiter,
        max_tokens_limiter,
        introspection_switch,
        ValidationCache,
        # After ValidationCache: see OperationSelection.on_validate.
        OperationSelection,
        ErrorCodes,
    ],
)
