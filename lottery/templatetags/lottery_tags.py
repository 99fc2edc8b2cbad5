"""Template helpers of the pre-queue lottery: the event page's commitment, the fan's entrant id."""

from __future__ import annotations

from typing import Any

from django import template

from events.models import Event
from lottery.selectors import lottery_entrant_of, lottery_for_page

register = template.Library()


@register.inclusion_tag("lottery/_commitment.html")
def lottery_commitment(event: Event) -> dict[str, Any]:
    return {"event": event, "lottery": lottery_for_page(event=event)}


@register.inclusion_tag("lottery/_entrant.html", takes_context=True)
def lottery_entrant(context: template.Context, event: Event, state: str) -> dict[str, Any]:
    """On the queue page: the fan's entrant id while in the pre-queue, and their drawn place after."""
    lottery = lottery_for_page(event=event)
    user = context["request"].user
    if lottery is None or not user.is_authenticated:
        return {"show": False}
    entrant_id, place = lottery_entrant_of(lottery=lottery, user=user)
    show = state == "prequeue" or place is not None
    return {"show": show, "event": event, "entrant_id": entrant_id, "place": place}
