"""The queue page: the fan's place in line, joining and leaving. Live updates come from the WebSocket
(``queueing.consumers``) with htmx polling of the status partial as the fallback."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.services import EmailNotVerified, email_verified_require
from core.exceptions import Busy
from core.ratelimit import ratelimit
from events.models import Event
from events.selectors import event_get_public_cached
from queueing import selectors, services
from queueing.challenges import ChallengeInvalid, ChallengeRequired, challenge_issue, challenge_redeem
from queueing.exceptions import NotInQueue, SaleClosed
from queueing.notify import admitted_redirect_url
from queueing.presenters import (
    join_form_context,
    progress_cookie_set,
    progress_percent,
    progress_start_from_cookies,
)

# What the status panel shows besides the queue states of ``selectors.QueueState``.
NOT_IN_QUEUE = "none"
SALE_OVER = "closed"


def join_rate(group: str, request: HttpRequest) -> str:
    return settings.QUEUE_PAGE_JOIN_RATE


def status_rate(group: str, request: HttpRequest) -> str:
    return settings.QUEUE_PAGE_STATUS_RATE


def fan_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Like ``login_required``, but back to the queue page after logging in (never to a POST-only URL),
    and a full-page redirect for htmx requests instead of the login page swapped into the panel."""

    @wraps(view)
    def wrapped(request: HttpRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, slug, *args, **kwargs)
        login = redirect_to_login(reverse("queueing:page", kwargs={"slug": slug}))
        if request.htmx:
            return HttpResponseClientRedirect(login.url)
        return login

    return wrapped


def _event_or_404(slug: str) -> Event:
    event = event_get_public_cached(slug=slug)
    if event is None:
        raise Http404(_("No such event."))
    return event


def _panel_context(request: HttpRequest, event: Event) -> dict[str, Any]:
    now = timezone.now()
    phase = event.sale_phase(now)
    status = selectors.queue_status(user=request.user, event=event)
    state = status.status if status is not None else NOT_IN_QUEUE
    sale_running = phase in (Event.SalePhase.UPCOMING, Event.SalePhase.ON_SALE)
    if not sale_running and state != selectors.QueueState.ADMITTED:
        state = SALE_OVER
    context: dict[str, Any] = {
        "event": event,
        "now": now,
        "state": state,
        "queue": status,
        "progress": 0,
        "is_paused": False,
        "seat_map_url": admitted_redirect_url(event),
        "status_url": reverse("queueing:status", kwargs={"slug": event.slug}),
        **join_form_context(user=request.user, event=event, button_label=""),
        "leave_url": reverse("queueing:leave", kwargs={"slug": event.slug}),
        "ws_path": f"/ws/queue/{event.pk}/",
    }
    if state == selectors.QueueState.WAITING and status is not None and status.position is not None:
        start = progress_start_from_cookies(request.COOKIES, event.pk)
        if start is None or start < status.position:
            # The first (largest) place this fan was seen at: where the progress bar starts.
            start = context["new_progress_start"] = status.position
        context["progress"] = progress_percent(start_position=start, position=status.position)
        context["is_paused"] = status.is_paused
    return context


@never_cache
@require_GET
@fan_required
@ratelimit(key="user", rate=status_rate, method="GET")
def queue_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The queue page; its status panel alone for htmx (polling when the WebSocket is unavailable)."""
    event = _event_or_404(slug)
    context = _panel_context(request, event)
    template = "queueing/_status.html" if request.htmx else "queueing/queue_page.html"
    response = render(request, template, context)
    if "new_progress_start" in context:
        progress_cookie_set(response, event_id=event.pk, start_position=context["new_progress_start"])
    return response


@require_POST
@fan_required
@ratelimit(key="user", rate=join_rate, method="POST")
def queue_join_view(request: HttpRequest, slug: str) -> HttpResponseRedirect:
    event = _event_or_404(slug)
    page = reverse("queueing:page", kwargs={"slug": event.slug})
    if event.queue_challenge_difficulty > 0 and selectors.queue_place_to_return(
        user=request.user, event=event
    ):
        # Never asked twice: the fan's place, without a challenge.
        messages.info(request, _("You already have a place in this queue: here it is."))
        return redirect(page)
    try:
        email_verified_require(user=request.user)  # type: ignore[arg-type]
        challenge_redeem(user_id=request.user.pk, event=event, payload=request.POST.get("altcha"))
        joined = services.queue_join(user=request.user, event=event)
    except (SaleClosed, EmailNotVerified, ChallengeRequired, ChallengeInvalid) as error:
        messages.error(request, error.message)
        return redirect(page)
    except Busy as error:
        messages.warning(request, error.message)
        return redirect(event.get_absolute_url())
    response = redirect(page)
    if joined.already_in_queue:
        messages.info(request, _("You already have a place in this queue: here it is."))
    else:
        # A new place (first join, or after leaving or a finished turn): the progress bar starts here.
        progress_cookie_set(response, event_id=event.pk, start_position=joined.position)
        messages.success(request, _("You are in the queue. Keep this page open: it updates by itself."))
    return response


@never_cache
@require_GET
@fan_required
@ratelimit(key="user", rate=join_rate, method="GET")
def queue_challenge_view(request: HttpRequest, slug: str) -> JsonResponse:
    """The challenge the join form's widget fetches (same origin, the fan's session)."""
    event = _event_or_404(slug)
    issued = challenge_issue(user_id=request.user.pk, event=event)
    if issued.challenge is None:
        raise Http404(_("This queue asks for no challenge."))
    return JsonResponse(issued.challenge)


@require_POST
@fan_required
def queue_leave_view(request: HttpRequest, slug: str) -> HttpResponseRedirect:
    event = _event_or_404(slug)
    try:
        services.queue_leave(user=request.user, event=event)
    except NotInQueue as error:
        messages.info(request, error.message)
    else:
        messages.success(request, _("You left the queue. Your place has been given up."))
    response = redirect(event.get_absolute_url())
    progress_cookie_set(response, event_id=event.pk, start_position=None)
    return response
