"""Test data, made through the services so it is what the service itself would store."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.contrib.auth.hashers import BasePasswordHasher, get_hasher, make_password
from django.contrib.auth.models import User

from chat import accounts, posting
from chat.models import Message

PASSWORD = "correct horse battery staple"


@dataclass
class Member:
    user: User
    token: str

    @property
    def username(self) -> str:
        return self.user.get_username()


def member(username: str) -> Member:
    """A registered user with a bearer token (what ``register`` makes)."""
    username = accounts.user_register_check(username=username, password=PASSWORD)
    user = accounts.user_create(username=username, password_hash=_password_hash(get_hasher()))
    return Member(user=user, token=accounts.token_create(user=user))


@functools.cache
def _password_hash(hasher: BasePasswordHasher) -> str:
    # The same hash for every test user (per hasher): it costs what a real one does to
    # check at login, but hashing it anew for every user made up much of the suite's time.
    return make_password(PASSWORD, hasher=hasher)


def messages(*, room: str, author: User, count: int) -> list[Message]:
    return [
        posting.message_create(room_name=room, author=author, text=f"message {n}")
        for n in range(1, count + 1)
    ]
