from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Annotated

import strawberry
from django.contrib.auth import alogin, alogout
from django.contrib.auth.models import User

from chat import accounts, direct, messaging, posting, reads, services
from chat.db import in_thread
from chat.errors import InvalidInput, Unauthenticated
from chat.inflight import work
from chat.models import Message
from chat.signin import user_sign_in, user_sign_up
from realtime.batcher import batched
from realtime.signals import typing_set
from schema.context import ChatContext, ChatInfo
from schema.types import AuthPayload, MessageType, RoomType

__all__ = ["Mutation", "message_post", "message_send"]


async def _signed_in(context: ChatContext, user: User) -> AuthPayload:
    token = await in_thread(accounts.token_create)(user=user)
    if context.request is not None:
        # Browsers also get a session cookie, which the websocket handshake carries.
        await alogin(context.request, user, backend="django.contrib.auth.backends.ModelBackend")
    context.user = user
    if context.request is None:
        # A websocket: from now on it acts as this user, authenticated by this token, which
        # logout, revocation and deactivation then end like any other (realtime.credentials).
        context.token, context.session = token, None
        if context.token_adopt is not None:
            await context.token_adopt(token)
    return AuthPayload(user=user, token=token)  # type: ignore[arg-type]


def _signed_in_user(context: ChatContext, message: str) -> User:
    user = context.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise Unauthenticated(message)
    return user


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create an account and sign it in.")
    async def register(self, info: ChatInfo, username: str, password: str) -> AuthPayload:
        user = await user_sign_up(
            username=username, password=password, client_ip=info.context.client_ip
        )
        return await _signed_in(info.context, user)

    @strawberry.mutation(description="Sign in with a username and password.")
    async def login(self, info: ChatInfo, username: str, password: str) -> AuthPayload:
        user = await user_sign_in(
            username=username, password=password, client_ip=info.context.client_ip
        )
        return await _signed_in(info.context, user)

    @strawberry.mutation(
        description="Revoke the bearer token of this request and end the browser session; "
        "every socket they authenticated closes (4403)."
    )
    async def logout(self, info: ChatInfo) -> bool:
        context = info.context
        if not context.is_authenticated:
            raise Unauthenticated("Not signed in.")
        if context.request is None:
            # A websocket: it closes (4403) once this answer is out.
            context.logout_task = asyncio.current_task()
        if context.token is not None:
            await in_thread(accounts.token_revoke)(raw=context.token)
        elif context.session is not None:
            await in_thread(accounts.session_logout)(session=context.session)
        if context.request is not None:
            await alogout(context.request)
        return True

    @strawberry.mutation(description="Create a room, public or private; you become a member.")
    async def create_room(self, info: ChatInfo, name: str, private: bool = False) -> RoomType:
        user = _signed_in_user(info.context, "Sign in to create rooms.")
        return await in_thread(services.room_create)(name=name, private=private, creator=user)  # type: ignore[return-value]

    @strawberry.mutation(description="Add a user to a room you can see.")
    async def invite_to_room(self, info: ChatInfo, room: str, username: str) -> RoomType:
        user = _signed_in_user(info.context, "Sign in to invite.")
        return await in_thread(services.room_invite)(  # type: ignore[return-value]
            name=room, username=username, inviter=user
        )

    @strawberry.mutation(
        description="Remove a member from a private room you created; "
        "their live subscriptions to it complete."
    )
    async def remove_from_room(self, info: ChatInfo, room: str, username: str) -> RoomType:
        user = _signed_in_user(info.context, "Sign in to remove members.")
        return await in_thread(services.room_member_remove)(  # type: ignore[return-value]
            name=room, username=username, remover=user
        )

    @strawberry.mutation(description="Join a public room (private rooms need an invitation).")
    async def join_room(self, info: ChatInfo, room: str) -> RoomType:
        user = _signed_in_user(info.context, "Sign in to join rooms.")
        return await in_thread(services.room_join)(name=room, user=user)  # type: ignore[return-value]

    @strawberry.mutation(description="Leave a room; your live subscriptions to it complete.")
    async def leave_room(self, info: ChatInfo, room: str) -> bool:
        user = _signed_in_user(info.context, "Sign in to leave rooms.")
        await in_thread(services.room_leave)(name=room, user=user)
        return True

    @strawberry.mutation(
        description="Say you are typing in a room (a member, for private rooms), or "
        "stopped: roomSignals subscribers see TypingChanged. Typing ends "
        "CHAT_TYPING_SECONDS (6) after your last `true`, and when you post; send `true` "
        "every few seconds while typing. Returns `typing`."
    )
    async def set_typing(self, info: ChatInfo, room: str, typing: bool) -> bool:
        user = _signed_in_user(info.context, "Sign in to say you are typing.")
        checked = await in_thread(services.typing_check)(name=room, user=user)
        await typing_set(
            room=checked.name, user_id=user.pk, username=user.get_username(), typing=typing
        )
        return typing

    @strawberry.mutation(
        description="Mark the room read up to `seq` (its lastSeq at most): your marker only "
        "rises, a lower seq changes nothing. Your devices get the new unreadCount (inbox)."
    )
    async def mark_read(self, info: ChatInfo, room: str, seq: int) -> RoomType:
        user = _signed_in_user(info.context, "Sign in to mark rooms read.")
        return await in_thread(reads.read_mark)(room_name=room, user=user, seq=seq)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Your direct room with `username` (private, the two of you), made on "
        'first use: the same room whoever asks, named "dm-<lowerUserId>-<higherUserId>".'
    )
    async def direct_room(self, info: ChatInfo, username: str) -> RoomType:
        user = _signed_in_user(info.context, "Sign in to open direct rooms.")
        return await in_thread(direct.direct_room_open)(user=user, username=username)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Post a message; public rooms are created on first use. "
        "Requires a signed-in user (a member, for private rooms)."
    )
    async def send_message(
        self,
        info: ChatInfo,
        room: str,
        text: str,
        reply_to: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="A message of the same room this one replies to."),
        ] = None,
        client_id: Annotated[
            str | None,
            strawberry.argument(
                description="Your idempotency key for this post (1 to 64 of A-Z a-z 0-9 . _ : -,"
                " say a UUID): a retry with the same key within 24 hours returns the message "
                "first posted with it and posts nothing. Send a new one for each new message."
            ),
        ] = None,
    ) -> MessageType:
        return await message_send(  # type: ignore[return-value]
            info.context, room=room, text=text, reply_to=reply_to, client_id=client_id
        )

    @strawberry.mutation(description="Edit the text of your own message (as sendMessage's).")
    async def edit_message(self, info: ChatInfo, id: strawberry.ID, text: str) -> MessageType:
        user = _signed_in_user(info.context, "Sign in to edit messages.")
        return await in_thread(messaging.message_edit)(  # type: ignore[return-value]
            message_id=message_id_parse(id), user=user, text=text
        )

    @strawberry.mutation(
        description="Delete a message (yours, or any in a room you created; staff: any). It "
        "keeps its seq with an empty text; the original text is gone."
    )
    async def delete_message(self, info: ChatInfo, id: strawberry.ID) -> MessageType:
        user = _signed_in_user(info.context, "Sign in to delete messages.")
        return await in_thread(messaging.message_delete)(  # type: ignore[return-value]
            message_id=message_id_parse(id), user=user
        )

    @strawberry.mutation(
        description="React with one emoji (or a :short_name:); reacting again changes nothing."
    )
    async def add_reaction(
        self, info: ChatInfo, message_id: strawberry.ID, emoji: str
    ) -> MessageType:
        user = _signed_in_user(info.context, "Sign in to react.")
        return await in_thread(messaging.reaction_add)(  # type: ignore[return-value]
            message_id=message_id_parse(message_id), user=user, emoji=emoji
        )

    @strawberry.mutation(description="Take back your reaction; if you have none, nothing changes.")
    async def remove_reaction(
        self, info: ChatInfo, message_id: strawberry.ID, emoji: str
    ) -> MessageType:
        user = _signed_in_user(info.context, "Sign in to react.")
        return await in_thread(messaging.reaction_remove)(  # type: ignore[return-value]
            message_id=message_id_parse(message_id), user=user, emoji=emoji
        )


def message_id_parse(value: str) -> int:
    """A message ID as the schema gives them (ASCII digits), or BAD_USER_INPUT."""
    if not (isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18):
        raise InvalidInput("Invalid message id.")
    return int(value)


async def message_send(
    context: ChatContext,
    *,
    room: str,
    text: str,
    reply_to: str | None = None,
    client_id: str | None = None,
) -> Message:
    """``sendMessage``; also called by the websocket fast path (internals/fastpaths/post.py)."""
    user = _signed_in_user(context, "Sign in to send messages.")
    reply_to_id = None if reply_to is None else message_id_parse(reply_to)
    return await message_post(
        room_name=room, author=user, text=text, reply_to_id=reply_to_id, client_id=client_id
    )


async def message_post(
    *,
    room_name: str,
    author: User,
    text: str,
    reply_to_id: int | None = None,
    client_id: str | None = None,
) -> Message:
    """posting.message_create from async code, batched with the loop's other posts."""
    # Work in flight from here, not only once in an ORM thread: a graceful stop waits for
    # the posts still queued for the next batch too (realtime.draining).
    with work():
        return await _post(
            posting.Post(
                room_name=room_name,
                author=author,
                text=text,
                reply_to_id=reply_to_id,
                client_id=client_id,
            )
        )


def _messages_create(posts: Sequence[posting.Post]) -> list[Message | Exception]:
    # Looked up on each batch, so that tests can replace it.
    return posting.messages_create(posts)


# Posts from async code reach the database in batches (realtime.batcher).
_post = batched(_messages_create, each=lambda _, message: posting.message_posted_log(message))
