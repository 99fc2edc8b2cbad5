"""Template helpers of the waiting lists: the event page's button and the fan's offer."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from events.models import Event
from queueing.notify import admitted_redirect_url
from waitlist.selectors import event_has_waitlist, event_is_sold_out, waitlist_entry_for, waitlist_status

register = template.Library()


def _sold_out(context: template.Context, event: Event) -> bool:
    """From the counts the event page already has (kept per process for a second), else PostgreSQL."""
    categories = context.get("categories")
    if categories is not None:  # as event_is_sold_out: seats exist and none is free
        return any(category.total_seats for category in categories) and all(
            category.available_seats == 0 for category in categories
        )
    return event_is_sold_out(event=event)


@register.inclusion_tag("waitlist/_waitlist.html", takes_context=True)
def waitlist_call_to_action(
    context: template.Context, event: Event, offer_only: bool = False
) -> dict[str, Any]:
    """Logged-in fans of a sold-out sale: join the list, their place on it, or their open offer."""
    user = context["request"].user
    result: dict[str, Any] = {"action": None, "event": event}
    if not user.is_authenticated or event.sale_phase() != Event.SalePhase.ON_SALE:
        return result
    sold_out = not offer_only and _sold_out(context, event)  # the queue page only shows offers
    # Nobody on the list (per process, about a second): no offer to show, and while seats remain no
    # list to join either, so no query for this fan. A sold-out event is always looked at exactly.
    if not sold_out and not event_has_waitlist(event=event):
        return result
    entry = waitlist_entry_for(user=user, event=event)
    if entry is not None:
        current = waitlist_status(entry=entry)
        if current.state == "offered":
            return {
                **result,
                "action": "offer",
                "status": current,
                "seat_map_url": admitted_redirect_url(event),
            }
        if current.state == "waiting" and not offer_only:
            leave_url = reverse("waitlist:leave", kwargs={"slug": event.slug})
            return {**result, "action": "waiting", "status": current, "leave_url": leave_url}
        return result
    if not sold_out:
        return result
    return {**result, "action": "join", "join_url": reverse("waitlist:join", kwargs={"slug": event.slug})}
