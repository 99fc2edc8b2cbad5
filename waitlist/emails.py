"""The waiting list's e-mail: an offer, sent after the offer committed."""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from queueing.notify import admitted_redirect_url
from waitlist.models import WaitlistEntry


def send_offer(*, entry_id: int) -> bool:
    entry = WaitlistEntry.objects.select_related("user", "event", "event__venue").get(pk=entry_id)
    if entry.state != WaitlistEntry.State.OFFERED or entry.offer_expires_at is None:
        return False
    expires_at = timezone.localtime(entry.offer_expires_at)
    context = {
        "event": entry.event,
        "expires_at": expires_at,
        "seat_map_path": admitted_redirect_url(entry.event),
    }
    EmailMultiAlternatives(
        subject=_("Seats for %(event)s: your offer until %(time)s")
        % {"event": entry.event.name, "time": expires_at.strftime("%H:%M")},
        body=render_to_string("emails/waitlist_offer.txt", context),
        to=[entry.user.email],
    ).send()
    return True
