"""Join and leave a waiting list from the event page (the page shows the fan's entry and offer)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.exceptions import ApplicationError
from core.ratelimit import ratelimit
from queueing.views import _event_or_404, fan_required, join_rate
from waitlist import services


@require_POST
@fan_required
@ratelimit(key="user", rate=join_rate, method="POST")
def waitlist_join_view(request: HttpRequest, slug: str) -> HttpResponseRedirect:
    event = _event_or_404(slug)
    try:
        _entry, created = services.waitlist_join(user=request.user, event=event)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        if created:
            messages.success(
                request, _("You are on the waiting list. We will e-mail you if seats come back.")
            )
        else:
            messages.info(request, _("You are already on the waiting list."))
    return redirect(event.get_absolute_url())


@require_POST
@fan_required
def waitlist_leave_view(request: HttpRequest, slug: str) -> HttpResponseRedirect:
    event = _event_or_404(slug)
    try:
        services.waitlist_leave(user=request.user, event=event)
    except ApplicationError as error:
        messages.info(request, error.message)
    else:
        messages.success(request, _("You left the waiting list."))
    return redirect(event.get_absolute_url())
