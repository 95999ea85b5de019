"""Test data, made through the services so it is what the service itself would store."""

from __future__ import annotations

from dataclasses import dataclass

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
    user = accounts.user_register(username=username, password=PASSWORD)
    return Member(user=user, token=accounts.token_create(user=user))


def messages(*, room: str, author: User, count: int) -> list[Message]:
    return [
        posting.message_create(room_name=room, author=author, text=f"message {n}")
        for n in range(1, count + 1)
    ]
