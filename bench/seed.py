"""Bulk users, bearer tokens, rooms and memberships for the signal scenarios.

    DATABASE_URL=... python -m bench.seed SPEC.json OUT.json

SPEC: ``{"prefix": "u", "users": 5000, "rooms": [{"name": "r0", "members": [0, 1]}]}``
(members are user indexes). OUT: ``{"users": [[id, username, token], ...],
"rooms": [[id, name, members], ...]}``, in the order asked.

Registration hashes a password (PBKDF2, ~0.3 s of CPU here) and takes a transaction per
user; 5,000 of them would take longer than the scenarios. These users get an unusable
password and a token each, written with bulk inserts: what ``register`` would store
(user, username key, token digest), minus the hash nobody checks.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from datetime import timedelta
from typing import Any

__all__ = ["seed"]

BATCH = 2000


def seed(spec: dict[str, Any]) -> dict[str, Any]:
    """Create what ``spec`` asks for in one transaction; the users' ids, names and tokens
    and the rooms' ids."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import transaction
    from django.utils import timezone

    from chat.models import AuthToken, Room, UsernameKey
    from chat.selectors import token_digest
    from chat.usernames import username_fold, username_skeleton

    names = [f"{spec['prefix']}{n}" for n in range(spec["users"])]
    tokens = [secrets.token_urlsafe(32) for _ in names]
    expires = timezone.now() + timedelta(seconds=settings.CHAT["TOKEN_TTL_SECONDS"])
    with transaction.atomic():
        # PostgreSQL returns the ids of bulk-inserted rows.
        users = User.objects.bulk_create(
            [User(username=name, password="!") for name in names], batch_size=BATCH
        )
        UsernameKey.objects.bulk_create(
            [
                UsernameKey(
                    user=user,
                    folded=username_fold(user.username),
                    skeleton=username_skeleton(user.username),
                )
                for user in users
            ],
            batch_size=BATCH,
        )
        AuthToken.objects.bulk_create(
            [
                AuthToken(digest=token_digest(raw), user=user, expires_at=expires)
                for user, raw in zip(users, tokens, strict=True)
            ],
            batch_size=BATCH,
        )
        rooms = Room.objects.bulk_create(
            [Room(name=room["name"]) for room in spec.get("rooms", [])], batch_size=BATCH
        )
        # The through model, whatever it holds beside the two keys (defaults).
        through = Room.members.through
        through.objects.bulk_create(
            [
                through(room_id=room.pk, user_id=users[index].pk)
                for room, wanted in zip(rooms, spec.get("rooms", []), strict=True)
                for index in wanted.get("members", [])
            ],
            batch_size=BATCH,
        )
    return {
        "users": [[u.pk, u.username, raw] for u, raw in zip(users, tokens, strict=True)],
        "rooms": [
            [room.pk, room.name, wanted.get("members", [])]
            for room, wanted in zip(rooms, spec.get("rooms", []), strict=True)
        ],
    }


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    spec_path, out_path = sys.argv[1], sys.argv[2]
    with open(spec_path) as spec_file:
        spec = json.load(spec_file)
    result = seed(spec)
    with open(out_path, "w") as out:
        json.dump(result, out)


if __name__ == "__main__":
    main()
