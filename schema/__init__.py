"""The GraphQL schema: one ``strawberry.Schema`` built from the role modules."""

from __future__ import annotations

import strawberry
from strawberry.extensions import AddValidationRules

from schema.caches import ValidationCache
from schema.cost import cost_limiter
from schema.errors import ErrorCodes
from schema.introspection import IntrospectionSwitch
from schema.limits import depth_limiter, max_tokens_limiter
from schema.mutations import Mutation
from schema.queries import Query
from schema.subscriptions import Subscription

__all__ = ["schema"]

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    # Clients send the same few documents over and over: validate each once (a cache
    # bounded in bytes, see schema/caches.py). (Strawberry's ParserCache would also help,
    # but its parse errors skip ErrorCodes' code.)
    extensions=[
        depth_limiter,
        cost_limiter,
        max_tokens_limiter,
        lambda: AddValidationRules([IntrospectionSwitch]),
        ValidationCache,
        ErrorCodes,
    ],
)
