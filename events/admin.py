from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from boxoffice.selectors import admitted_in_last
from boxoffice.services import sale_pause, sale_resume
from events.exceptions import SeatMapInvalid
from events.forms import SeatMapForm
from events.models import Event, Seat, SeatCategory, Venue
from events.money import price_display
from events.selectors import seat_availability_by_category, seat_categories_with_counts
from events.services import seat_map_generate, seat_map_in_use, seat_map_preview, seat_map_regenerate
from queueing.selectors import queue_stats


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin):
    list_display = ("name", "city", "address", "event_count")
    list_filter = ("city",)
    search_fields = ("name", "city", "address")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Venue]:
        return super().get_queryset(request).annotate(event_count=Count("events"))

    @admin.display(description=_("events"), ordering="event_count")
    def event_count(self, venue: Venue) -> int:
        return venue.event_count  # type: ignore[attr-defined]


class SeatCategoryInline(admin.TabularInline):
    model = SeatCategory
    fields = ("name", "price", "currency", "colour", "sort_order")
    extra = 0


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    # Narrow enough for 1280x800 (the venue is a filter); the queue column carries the live figures.
    list_display = ("name", "starts_at", "sale_phase", "status", "seat_count", "queue_summary")
    list_filter = ("status", "venue")
    list_select_related = ("venue", "queue_state")
    search_fields = ("name", "slug", "venue__name")
    prepopulated_fields = {"slug": ("name",)}
    date_hierarchy = "starts_at"
    inlines = (SeatCategoryInline,)
    readonly_fields = ("seat_availability", "queue_figures")
    actions = ("pause_admission", "resume_admission")
    fieldsets = (
        (None, {"fields": ("name", "slug", "venue", "description", "status")}),
        (_("Dates"), {"fields": ("starts_at", "sale_opens_at", "sale_closes_at")}),
        (
            _("Queue settings"),
            {
                "fields": (
                    "admission_batch_size",
                    "admission_interval_seconds",
                    "booking_window_minutes",
                    "max_seats_per_order",
                    "max_seats_per_fan",
                    "queue_challenge_difficulty",
                )
            },
        ),
        (_("Queue now"), {"fields": ("queue_figures",)}),
        (_("Seats"), {"fields": ("seat_availability",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Event]:
        # A correlated count: evaluated only for the events on the page, not for every seat stored.
        seat_count = (
            Seat.objects.filter(event=OuterRef("pk"))
            .order_by()
            .values("event")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return super().get_queryset(request).annotate(seat_count=Coalesce(Subquery(seat_count), 0))

    @admin.display(description=_("sale phase"))
    def sale_phase(self, event: Event) -> str:
        return str(event.sale_phase().label)

    @admin.display(description=_("seats"), ordering="seat_count")
    def seat_count(self, event: Event) -> int:
        return event.seat_count  # type: ignore[attr-defined]

    @admin.display(description=_("Seats per category"))
    def seat_availability(self, event: Event) -> str:
        if event.pk is None:
            return gettext("Save the event with its categories first, then generate its seat map.")
        rows = seat_availability_by_category(event=event)
        if not rows:
            return gettext("No categories yet.")
        header = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            _("Category"),
            _("Price"),
            _("Total"),
            _("Sold"),
            _("Held"),
            _("Available"),
        )
        body = format_html_join(
            "",
            '<tr><td><span style="display:inline-block;width:.8em;height:.8em;background:{};'
            'border-radius:2px;margin-right:.4em"></span>{}</td><td>{}</td><td>{}</td><td>{}</td>'
            "<td>{}</td><td>{}</td></tr>",
            (
                (
                    row.colour,
                    row.name,
                    price_display(row.price, row.currency),
                    row.total_seats,
                    row.sold_seats,
                    row.held_seats,
                    row.available_seats,
                )
                for row in rows
            ),
        )
        return format_html('<table class="seat-availability">{}{}</table>', header, body)

    # --- Queue figures and controls (the box-office dashboard has them all, with charts) ----------

    # Pausing works before anyone has queued: the queue's state is created on demand.
    @admin.action(description=_("Pause admission"), permissions=["change"])
    def pause_admission(self, request: HttpRequest, queryset: QuerySet[Event]) -> None:
        for event in queryset.order_by("pk"):
            self.message_user(request, sale_pause(event=event, actor=request.user).message, messages.SUCCESS)

    @admin.action(description=_("Resume admission"), permissions=["change"])
    def resume_admission(self, request: HttpRequest, queryset: QuerySet[Event]) -> None:
        for event in queryset.order_by("pk"):
            self.message_user(request, sale_resume(event=event, actor=request.user).message, messages.SUCCESS)

    @admin.display(description=_("queue"))
    def queue_summary(self, event: Event) -> str:
        if not hasattr(event, "queue_state"):  # nobody has queued yet: no Redis read for this row
            return "—"
        stats = queue_stats(event=event)
        summary = gettext("%(waiting)s waiting · %(admitted)s admitted") % {
            "waiting": stats.queue_size + stats.prequeue_size,
            "admitted": stats.admitted_active,
        }
        return f"{summary} · {gettext('paused')}" if stats.is_paused else summary

    @admin.display(description=_("Queue figures"))
    def queue_figures(self, event: Event) -> str:
        if event.pk is None:
            return gettext("The queue opens once the event is saved and published.")
        stats = queue_stats(event=event)
        rows = (
            (_("Waiting in line"), stats.queue_size),
            (_("In the pre-queue"), stats.prequeue_size),
            (_("Admitted now (valid passes)"), stats.admitted_active),
            (_("Admitted in total"), stats.admitted_total),
            (_("Admitted in the last 5 minutes"), admitted_in_last(event=event, seconds=300)),
            (
                _("Configured rate (fans per minute)"),
                round(event.admission_batch_size * 60 / event.admission_interval_seconds, 1),
            ),
            (
                _("Average wait (seconds)"),
                "—" if stats.average_wait_seconds is None else stats.average_wait_seconds,
            ),
            (_("Admission"), gettext("paused") if stats.is_paused else gettext("running")),
        )
        body = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        return format_html('<table class="queue-figures">{}</table>', body)

    # --- Seat-map generator ------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        custom = [
            path(
                "<path:object_id>/seat-map/",
                self.admin_site.admin_view(self.seat_map_view),
                name=f"{opts.app_label}_{opts.model_name}_seat_map",
            ),
        ]
        return custom + super().get_urls()

    def seat_map_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        event = self.get_object(request, object_id)
        if event is None:
            raise Http404(_("No such event."))
        if not self.has_change_permission(request, event):
            raise PermissionDenied
        change_url = reverse("admin:events_event_change", args=[event.pk], current_app=self.admin_site.name)
        existing = event.seat_count  # type: ignore[attr-defined]
        form = SeatMapForm(request.POST if request.method == "POST" else None, event=event)
        preview = None
        if request.method == "POST" and form.is_valid():
            try:
                # With seats already there, only the explicit "replace" button writes.
                if "_preview" in request.POST or (existing and "_replace" not in request.POST):
                    preview = seat_map_preview(event=event, spec=form.spec)
                elif existing:
                    created = seat_map_regenerate(event=event, spec=form.spec)
                else:
                    created = seat_map_generate(event=event, spec=form.spec)
            except SeatMapInvalid as error:
                form.add_error(None, error.message)
            else:
                if preview is None:
                    verb = "Replaced the seat map with" if existing else "Generated a seat map of"
                    self.log_change(request, event, f"{verb} {created} seats.")
                    self.message_user(
                        request,
                        ngettext("Created %(count)d seat.", "Created %(count)d seats.", created)
                        % {"count": created},
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(change_url)
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": _("Generate seat map: %(event)s") % {"event": event.name},
            "opts": self.model._meta,
            "original": event,
            "form": form,
            "existing_seats": existing,
            "map_in_use": bool(existing) and seat_map_in_use(event=event),
            "preview": preview,
            "categories": seat_availability_by_category(event=event),
            "change_url": change_url,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/events/event/seat_map.html", context)


@admin.register(SeatCategory)
class SeatCategoryAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "event",
        "price",
        "currency",
        "colour_swatch",
        "total_seats",
        "sold_seats",
        "held_seats",
        "available_seats",
    )
    list_filter = ("currency", ("event", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("event",)
    search_fields = ("name", "event__name", "event__slug")
    autocomplete_fields = ("event",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[SeatCategory]:
        return seat_categories_with_counts(categories=super().get_queryset(request))

    @admin.display(description=_("colour"))
    def colour_swatch(self, category: SeatCategory) -> str:
        return format_html(
            '<span style="display:inline-block;width:1em;height:1em;background:{};border-radius:2px;'
            'vertical-align:middle"></span> {}',
            category.colour,
            category.colour,
        )

    @admin.display(description=_("seats"), ordering="total_seats")
    def total_seats(self, category: SeatCategory) -> int:
        return category.total_seats  # type: ignore[attr-defined]

    @admin.display(description=_("sold"), ordering="sold_seats")
    def sold_seats(self, category: SeatCategory) -> int:
        return category.sold_seats  # type: ignore[attr-defined]

    @admin.display(description=_("held"), ordering="held_seats")
    def held_seats(self, category: SeatCategory) -> int:
        return category.held_seats  # type: ignore[attr-defined]

    @admin.display(description=_("available"))
    def available_seats(self, category: SeatCategory) -> int:
        return max(category.total_seats - category.held_seats - category.sold_seats, 0)  # type: ignore[attr-defined]


class SeatAdminForm(forms.ModelForm):
    class Meta:
        model = Seat
        fields = ("event", "category", "section", "row", "number", "x", "y")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        event, category = cleaned.get("event"), cleaned.get("category")
        if event is not None and category is not None and category.event_id != event.pk:
            self.add_error("category", _("Choose a category of the seat's own event."))
        return cleaned


@admin.register(Seat)
class SeatAdmin(admin.ModelAdmin):
    form = SeatAdminForm
    list_display = ("__str__", "event", "category", "section", "row", "number", "x", "y")
    list_filter = (
        "event",
        ("category", admin.RelatedOnlyFieldListFilter),
        "section",
    )
    list_select_related = ("event", "category")
    search_fields = ("section", "row")
    autocomplete_fields = ("event", "category")
    list_per_page = 100
    # Counting every seat of every event on each page view is wasted work on big maps.
    show_full_result_count = False
