"""Template helpers of the waiting room: the event page's call to action and wait formatting."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils.translation import gettext as _

from events.models import Event
from queueing import selectors
from queueing.notify import admitted_redirect_url
from queueing.presenters import join_form_context, wait_text

register = template.Library()


@register.filter
def wait(seconds: int | None) -> str:
    """{{ queue.estimated_wait_seconds|wait }} -> "about 4 minutes"."""
    return wait_text(seconds)


@register.inclusion_tag("queueing/_event_call_to_action.html", takes_context=True)
def queue_call_to_action(context: template.Context, event: Event) -> dict[str, Any]:
    """What the event page offers: join, go to your place, choose seats, or log in first."""
    request = context["request"]
    phase = event.sale_phase()
    result: dict[str, Any] = {"event": event, "action": None}
    if phase not in (Event.SalePhase.UPCOMING, Event.SalePhase.ON_SALE):
        return result
    queue_url = reverse("queueing:page", kwargs={"slug": event.slug})
    if not request.user.is_authenticated:
        login_url = f"{reverse('accounts:login')}?{urlencode({'next': event.get_absolute_url()})}"
        return {**result, "action": "log_in", "login_url": login_url}
    # An ended turn and "never joined" both get the join button: no need to ask PostgreSQL which.
    status = selectors.queue_status(user=request.user, event=event, in_line_only=True)
    if status is not None and status.status == selectors.QueueState.ADMITTED:
        return {**result, "action": "choose_seats", "seat_map_url": admitted_redirect_url(event)}
    if status is not None and status.status in (selectors.QueueState.PREQUEUE, selectors.QueueState.WAITING):
        return {**result, "action": "go_to_place", "queue_url": queue_url}
    return {
        **result,
        **join_form_context(user=request.user, event=event, button_label=_("Join the queue")),
        "action": "join",
        "request": request,
        "is_prequeue": phase == Event.SalePhase.UPCOMING,
    }
