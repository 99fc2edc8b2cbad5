"""The lottery's public page and its JSON download (the same data as the API)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from core.public_cache import public_page
from events.models import Event
from events.selectors import event_get_public_cached
from lottery.models import PrequeueLottery
from lottery.selectors import ALGORITHM, lottery_for_event, lottery_publication


def _event_and_lottery(slug: str) -> tuple[Event, PrequeueLottery]:
    event = event_get_public_cached(slug=slug)
    lottery = lottery_for_event(event=event) if event is not None else None
    if event is None or lottery is None:
        raise Http404(_("This event has no pre-queue lottery."))
    return event, lottery


@require_GET
@public_page
def lottery_page(request: HttpRequest, slug: str) -> HttpResponse:
    event, lottery = _event_and_lottery(slug)
    context = {"event": event, "lottery": lottery, "algorithm": ALGORITHM, "order": lottery.order[:100]}
    return render(request, "lottery/lottery_page.html", context)


@require_GET
@public_page
def lottery_download(request: HttpRequest, slug: str) -> JsonResponse:
    _event, lottery = _event_and_lottery(slug)
    response = JsonResponse(lottery_publication(lottery=lottery))
    response["Content-Disposition"] = f'attachment; filename="lottery-{slug}.json"'
    return response
