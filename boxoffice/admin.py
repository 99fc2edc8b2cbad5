"""The audit trail of sale controls: read-only (the box-office services write it)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from boxoffice.models import SaleControlAction


@admin.register(SaleControlAction)
class SaleControlActionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "event", "actor", "action", "outcome", "message")
    list_filter = ("action", "outcome", "event")
    list_select_related = ("event", "actor")
    search_fields = ("event__name", "event__slug", "actor__email", "message")
    date_hierarchy = "created_at"
    fields = ("created_at", "event", "actor", "action", "outcome", "message", "details")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
