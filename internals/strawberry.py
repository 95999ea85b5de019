"""Hooks into Strawberry's internals.

Strawberry keeps the graphql-core schema it builds in ``Schema._schema`` and has no public
accessor for it; the validation cache and the fast paths need it.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLSchema

from internals.hooks import hook

__all__ = ["graphql_schema", "graphql_schema_install"]


def graphql_schema(schema: Any) -> GraphQLSchema:
    """Return the graphql-core schema a Strawberry schema executes against."""
    return schema._schema  # type: ignore[no-any-return]


def graphql_schema_install() -> None:
    """Hand schema/caches.py the graphql-core schema, so it can cache validations."""
    from schema import caches

    caches.graphql_schema_of = graphql_schema


@hook(
    "strawberry.graphql_schema",
    library="strawberry-graphql",
    versions=">=0.280,<0.400",
    purpose="the graphql-core schema (Schema._schema) for cached validation and fast paths",
    fallback="Strawberry validates every document itself; fast paths are off",
    install=graphql_schema_install,
)
def _check_graphql_schema() -> None:
    import strawberry

    @strawberry.type
    class Query:
        ok: bool = True

    built = graphql_schema(strawberry.Schema(query=Query))
    if not isinstance(built, GraphQLSchema) or "Query" not in built.type_map:
        raise TypeError(f"Schema._schema is {type(built).__name__}, not a GraphQLSchema")
