from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from core.public_cache import public_page
from events.models import Event
from events.selectors import (
    event_get_public_cached,
    event_list_public_cached,
    seat_availability_by_category_cached,
)


@require_GET
@public_page
def event_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    events = event_list_public_cached()
    return render(request, "events/event_list.html", {"events": events, "now": now})


@require_GET
@public_page
def event_detail(request: HttpRequest, slug: str) -> HttpResponse:
    now = timezone.now()
    event = event_get_public_cached(slug=slug)
    if event is None:
        raise Http404(_("No such event."))
    context = {
        "event": event,
        "now": now,
        "sale_phase": event.sale_phase(now),
        "sale_phases": Event.SalePhase,
        "categories": seat_availability_by_category_cached(event=event),
    }
    return render(request, "events/event_detail.html", context)
