"""The GraphQL schema: one ``strawberry.Schema`` built from the role modules."""

from __future__ import annotations

import strawberry

from schema.errors import ErrorCodes
from schema.mutations import Mutation
from schema.queries import Query
from schema.subscriptions import Subscription

__all__ = ["schema"]

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    extensions=[ErrorCodes],
)
