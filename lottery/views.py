"""The lottery's public page and its JSON download (the same data as the API)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from core.public_cache import public_page
from events.models import Event
from events.selectors import event_get_public_cached
from lottery.models import PrequeueLottery
from lottery.selectors import ALGORITHM, lottery_first_places, lottery_for_event, lottery_publication

DRAWN_MAX_AGE = 3600
FIRST_PLACES_SHOWN = 100


def _event_and_lottery(slug: str, *, with_order: bool = True) -> tuple[Event, PrequeueLottery]:
    event = event_get_public_cached(slug=slug)
    lottery = lottery_for_event(event=event, with_order=with_order) if event is not None else None
    if event is None or lottery is None:
        raise Http404(_("This event has no pre-queue lottery."))
    return event, lottery


@require_GET
@public_page
def lottery_page(request: HttpRequest, slug: str) -> HttpResponse:
    event, lottery = _event_and_lottery(slug, with_order=False)
    entrant_count, first_places = lottery_first_places(lottery=lottery, count=FIRST_PLACES_SHOWN)
    context = {
        "event": event,
        "lottery": lottery,
        "algorithm": ALGORITHM,
        "entrant_count": entrant_count,
        "first_places": first_places,
    }
    return render(request, "lottery/lottery_page.html", context)


@require_GET
def lottery_download(request: HttpRequest, slug: str) -> JsonResponse:
    # Not through the public page cache: after a big draw this is megabytes, too much to keep in every
    # process. A drawn lottery never changes (the database refuses it), so clients and CDNs keep it.
    _event, lottery = _event_and_lottery(slug)
    response = JsonResponse(lottery_publication(lottery=lottery))
    response["Content-Disposition"] = f'attachment; filename="lottery-{slug}.json"'
    patch_cache_control(response, public=True, max_age=DRAWN_MAX_AGE if lottery.is_drawn else 5)
    return response
