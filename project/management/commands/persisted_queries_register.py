"""Register the documents graphql-codegen extracted, for CHAT_PERSISTED_QUERIES_ONLY."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from graphql import GraphQLError, build_schema, parse, validate

from schema import schema
from schema.persisted import persisted_documents_register


class Command(BaseCommand):
    help = (
        "Register persisted documents (graphql-codegen's persisted-documents.json: "
        "SHA-256 hash -> document) in the shared store, for every process."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="persisted-documents.json")

    def handle(self, *args: Any, path: str, **options: Any) -> None:
        if not settings.REDIS_SHARDS:
            # The embedded store is one process's memory: this command's, not the server's.
            raise CommandError(
                "Registering persisted documents needs REDIS_URL (or REDIS_SENTINELS)."
            )
        try:
            with open(path, encoding="utf-8") as file:
                documents = json.load(file)
        except (OSError, ValueError) as error:
            raise CommandError(f"{path}: {error}") from error
        if not isinstance(documents, dict) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in documents.items()
        ):
            raise CommandError(f"{path}: expected an object of hash -> document")
        graphql_schema = build_schema(schema.as_str())
        for sha, document in documents.items():
            try:
                errors = validate(graphql_schema, parse(document))
            except GraphQLError as error:
                errors = [error]
            if errors:
                raise CommandError(f"{sha}: {errors[0].message}")
        try:
            asyncio.run(persisted_documents_register(documents))
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Registered {len(documents)} persisted documents.")
