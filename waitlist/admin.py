"""Staff see each event's waiting list in order; the offering service alone writes it."""

from __future__ import annotations

from django.contrib import admin

from queueing.admin import ReadOnlyAdmin
from waitlist.models import WaitlistEntry


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ReadOnlyAdmin):
    list_display = ["event", "user", "state", "joined_at", "offered_at", "offer_expires_at"]
    list_filter = ["state", "event"]
    search_fields = ["user__email"]
    list_select_related = ["event", "user"]
    ordering = ["event", "pk"]
    show_full_result_count = False
