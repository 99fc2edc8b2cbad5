"""Staff views of the waiting room: read-mostly records, and queue controls as actions."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from boxoffice.services import sale_admit_now, sale_pause, sale_resume
from queueing import services
from queueing.models import AdmissionPass, EventQueue, QueueEntry


class ReadOnlyAdmin(admin.ModelAdmin):
    """Queue records are written by the queue services only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(QueueEntry)
class QueueEntryAdmin(ReadOnlyAdmin):
    list_display = ["event", "user", "sequence", "state", "joined_at", "admitted_at"]
    list_filter = ["state", "event"]
    search_fields = ["user__email"]
    list_select_related = ["event", "user"]
    ordering = ["event", "sequence", "pk"]
    show_full_result_count = False


@admin.register(AdmissionPass)
class AdmissionPassAdmin(ReadOnlyAdmin):
    list_display = ["event", "user", "issued_at", "expires_at", "ended_at"]
    list_filter = ["event"]
    search_fields = ["user__email"]
    list_select_related = ["event", "user"]
    show_full_result_count = False


@admin.register(EventQueue)
class EventQueueAdmin(ReadOnlyAdmin):
    list_display = ["event", "admission", "opened_at", "last_admission_at", "admitted_total"]
    list_filter = ["is_paused"]
    search_fields = ["event__name", "event__slug"]
    list_select_related = ["event"]
    actions = ["pause", "resume", "admit_batch_now", "rebuild_from_database"]

    # Words, not a red cross: a queue that is not paused is the normal case.
    @admin.display(description=_("admission"), ordering="is_paused")
    def admission(self, state: EventQueue) -> str:
        return str(_("Paused")) if state.is_paused else str(_("Running"))

    # The controls go through the box office: the same rules and an audit row as on its dashboard.
    @admin.action(description=_("Pause admission"), permissions=["view"])
    def pause(self, request: HttpRequest, queryset: QuerySet[EventQueue]) -> None:
        for state in queryset.select_related("event"):
            self.message_user(
                request, sale_pause(event=state.event, actor=request.user).message, messages.SUCCESS
            )

    @admin.action(description=_("Resume admission"), permissions=["view"])
    def resume(self, request: HttpRequest, queryset: QuerySet[EventQueue]) -> None:
        for state in queryset.select_related("event"):
            self.message_user(
                request, sale_resume(event=state.event, actor=request.user).message, messages.SUCCESS
            )

    @admin.action(description=_("Admit a batch now"), permissions=["view"])
    def admit_batch_now(self, request: HttpRequest, queryset: QuerySet[EventQueue]) -> None:
        for state in queryset.select_related("event"):
            result = sale_admit_now(event=state.event, actor=request.user)
            level = messages.SUCCESS if result.level == "success" else messages.WARNING
            self.message_user(request, f"{state.event}: {result.message}", level)

    @admin.action(description=_("Rebuild the Redis queue from the database"), permissions=["view"])
    def rebuild_from_database(self, request: HttpRequest, queryset: QuerySet[EventQueue]) -> None:
        for state in queryset.select_related("event"):
            waiting = services.queue_rebuild_from_database(event=state.event)
            self.message_user(request, f"{state.event}: rebuilt, {waiting} fan(s) waiting.", messages.SUCCESS)
