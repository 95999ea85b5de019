"""``manage.py expire_client_ids``: free the sendMessage clientIds older than a day."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from chat.posting import CLIENT_ID_KEEP, client_ids_expire


class Command(BaseCommand):
    help = (
        "Free the clientIds of messages posted more than 24 hours ago (run it hourly): a "
        "retry with such a key posts again. Keys are honoured until freed, so a late run "
        "keeps them longer, never shorter."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        freed = client_ids_expire(before=timezone.now() - CLIENT_ID_KEEP)
        self.stdout.write(f"freed {freed} clientIds")
