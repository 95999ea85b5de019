"""`migrate` that runs one at a time per PostgreSQL database: replicas or deploy jobs that
start together no longer race to create the same tables."""

from __future__ import annotations

from typing import Any

from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import connections

__all__ = ["MIGRATE_LOCK", "Command"]

# The session-level advisory lock key (any 64-bit constant no other code of ours takes):
# "chatmigr" in ASCII.
MIGRATE_LOCK = 0x636861746D696772


class Command(DjangoMigrate):
    help = DjangoMigrate.help + " Holds a PostgreSQL advisory lock while it runs."

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            # SQLite (the embedded run) has one writer anyway.
            super().handle(*args, **options)
            return
        # Two concurrent runs on a fresh database both see no django_migrations table and
        # both create it, or the same app table: one fails ("relation ... already exists").
        # The lock is taken before Django reads the migration state, so the second run
        # waits, then finds everything applied.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [MIGRATE_LOCK])
            (locked,) = cursor.fetchone()
            if not locked:
                self.stderr.write("Another migrate is running: waiting for it to finish.")
                cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATE_LOCK])
        try:
            super().handle(*args, **options)
        finally:
            # Session-level: held across migrate's own transactions until released here.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK])
