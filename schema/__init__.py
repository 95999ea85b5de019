"""The GraphQL API. ``from schema import schema`` builds the schema (schema/build.py) on
first use, so that importing one module of the API (its errors, its HTTP view) does not."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from schema.build import schema

__all__ = ["schema"]


def __getattr__(name: str) -> Any:
    if name == "schema":
        from schema.build import schema

        return schema
    raise AttributeError(f"module 'schema' has no attribute {name!r}")
