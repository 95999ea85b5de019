from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.defaultfilters import truncatechars
from django.utils.functional import cached_property

from chat.accounts import users_deactivate
from chat.errors import ChatError
from chat.eventlog import room_lock
from chat.messaging import message_staff_delete, message_staff_edit
from chat.models import AuthToken, Message, Room, RoomEvent
from chat.services import message_text_check, room_access_narrowed, room_members_staff_changed


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    """Membership changed here is logged as inviteToRoom and removeFromRoom log it
    (MemberJoined, MemberLeft with removedBy), with the admin user as the actor."""

    list_display = ["name", "last_seq", "last_event_seq", "created_at", "last_activity_at"]
    search_fields = ["name"]
    # The counters are handed out under the room's lock by the services alone.
    readonly_fields = ["last_seq", "last_event_seq", "access_version"]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        room = form.instance
        # In the admin's transaction: the room's lock is held from here to its commit.
        room_lock(room.pk)
        before = set(room.members.values_list("pk", flat=True))
        super().save_related(request, form, formsets, change)
        after = set(room.members.values_list("pk", flat=True))
        room_members_staff_changed(room=room, before=before, after=after, staff=request.user)  # type: ignore[arg-type]
        if change:
            # Made private or members removed here: live subscriptions are re-checked
            # (any edit counts: cheaper than diffing, and rare).
            room_access_narrowed(room=room)


class EstimatedCountPaginator(Paginator):
    """Counts an unfiltered list over a large PostgreSQL table from the planner's
    estimate (pg_class.reltuples): count(*) reads every row; a page does not need it."""

    # Below this many rows (as estimated), count them.
    ESTIMATE_ABOVE = 100_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if isinstance(queryset, QuerySet) and not queryset.query.where:
            connection = connections[queryset.db]
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                        [queryset.model._meta.db_table],
                    )
                    row = cursor.fetchone()
                # -1: never analysed.
                if row is not None and row[0] >= self.ESTIMATE_ABOVE:
                    return int(row[0])
        return super().count


class MessageForm(forms.ModelForm):
    class Meta:
        model = Message
        fields = ["text"]

    def clean_text(self) -> str:
        try:
            return message_text_check(self.cleaned_data["text"])
        except ChatError as error:
            raise ValidationError(error.message) from error


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Messages change only through chat.messaging, as editMessage and deleteMessage do:
    an edit logs MessageEdited, a deletion (one or the bulk action) leaves the tombstone
    and logs MessageDeleted, both with the admin user as the actor.

    There is no "add": a message is someone speaking in a room, with the room's next seq,
    its membership and rate limits; staff who want to say something use the chat, and
    the admin does not post in someone else's name.
    """

    form = MessageForm
    list_display = ["excerpt", "room", "author", "created_at", "seq", "edited_at", "deleted"]
    list_select_related = ["room", "author"]
    # Newest first by the primary key's index (created_at has none).
    ordering = ["-pk"]
    # A word matches the text anywhere, or the start of a room name or an author's name.
    search_fields = ["text", "^room__name", "^author__username"]
    # No second count(*) of the whole table beside the search's; and the whole table's
    # count is the planner's estimate (EstimatedCountPaginator).
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    fields = ["room", "seq", "author", "created_at", "edited_at", "deleted", "reply_to", "text"]
    readonly_fields = ["room", "seq", "author", "created_at", "edited_at", "deleted", "reply_to"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="text", ordering="text")
    def excerpt(self, obj: Message) -> str:
        return "(deleted)" if obj.deleted else truncatechars(obj.text, 80)

    def get_readonly_fields(self, request: HttpRequest, obj: Message | None = None) -> list[str]:
        # A tombstone's text stays empty.
        if obj is not None and obj.deleted:
            return [*self.readonly_fields, "text"]
        return list(self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: Message, form: Any, change: bool) -> None:
        if "text" in form.changed_data:
            message_staff_edit(message_id=obj.pk, editor=request.user, text=obj.text)  # type: ignore[arg-type]

    def delete_model(self, request: HttpRequest, obj: Message) -> None:
        message_staff_delete(message_id=obj.pk, deleter=request.user)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        for message_id in queryset.order_by("pk").values_list("pk", flat=True):
            message_staff_delete(message_id=message_id, deleter=request.user)  # type: ignore[arg-type]

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # The row stays (a tombstone): nothing cascades, and no permission on the
        # reactions or room events it would otherwise take with it is needed.
        listed = [f"Message: {message}" for message in objs]
        return listed, {Message._meta.verbose_name_plural: len(listed)}, set(), []

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # A refusal by the service (the message deleted meanwhile): the admin's transaction
        # rolled back, so nothing changed; say why instead of a 500.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ChatError as error:
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


@admin.register(RoomEvent)
class RoomEventAdmin(admin.ModelAdmin):
    """The room event log, read-only: events are written by the services alone."""

    list_display = ["room", "seq", "kind", "at", "actor", "message", "user", "emoji", "removed_by"]
    list_filter = ["kind"]
    list_select_related = ["room", "actor", "message", "user", "removed_by"]
    search_fields = ["room__name"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuthToken)
class AuthTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at", "expires_at", "revoked_at"]
    readonly_fields = ["digest", "user", "created_at"]


admin.site.unregister(User)


@admin.register(User)
class ChatUserAdmin(UserAdmin):
    """Django's user admin, with deactivation as a moderation action: a deactivated user
    can no longer sign in, and their open sockets close (4403) in every process. Clearing
    "Active" on the change form does the same (chat.signals)."""

    actions = ["deactivate"]

    @admin.action(
        description="Deactivate selected users (closes their open sockets)",
        permissions=["change"],
    )
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        staff = request.user
        ids = list(queryset.values_list("pk", flat=True))
        users = users_deactivate(user_ids=ids, staff=staff)  # type: ignore[arg-type]
        for user in users:
            self.log_change(request, user, "Deactivated; open sockets closed.")
        self.message_user(request, f"Deactivated {len(users)} user(s).", messages.SUCCESS)
        if staff.pk in ids:
            self.message_user(request, "You cannot deactivate yourself.", messages.WARNING)
