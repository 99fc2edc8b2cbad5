"""Staff see the lottery; nobody edits it (the database refuses changes too, see ``lottery.models``)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import F, Func, IntegerField, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from lottery.models import PrequeueLottery
from queueing.admin import ReadOnlyAdmin


@admin.register(PrequeueLottery)
class PrequeueLotteryAdmin(ReadOnlyAdmin):
    list_display = ["event", "commitment", "committed_at", "drawn_at", "entrant_count"]
    fields = ["event", "commitment", "committed_at", "drawn_at", "published_seed", "entrant_count"]
    readonly_fields = fields
    list_select_related = ["event"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PrequeueLottery]:
        # The count from PostgreSQL: the order itself can be a long list.
        entrants = Func(F("order"), function="jsonb_array_length", output_field=IntegerField())
        return super().get_queryset(request).defer("order").annotate(entrants=entrants)

    @admin.display(description=_("seed"))
    def published_seed(self, obj: PrequeueLottery) -> str:
        # Secret until the draw, from staff too: whoever knows it early knows the order of any pre-queue.
        return obj.seed if obj.is_drawn else str(_("hidden until the draw"))

    @admin.display(description=_("entrants"))
    def entrant_count(self, obj: PrequeueLottery) -> int:
        return obj.entrants  # type: ignore[attr-defined]  # annotated in get_queryset
