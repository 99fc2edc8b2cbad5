"""How a fan's place in line is shown: shared by the queue page, its status partial and the WebSocket.

Pure functions, no reads or writes: views and the consumer fetch through the selectors and pass in
what they got.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from queueing.selectors import QueueState, QueueStatus

# The first (largest) place the fan was seen at, the start of the progress bar: a signed cookie per
# event, not the session, so joining and polling write nothing on the server. Forging it only changes
# the fan's own progress bar; the signature keeps other sites' values out.
PROGRESS_COOKIE_SALT = "queueing.progress"
PROGRESS_COOKIE_MAX_AGE = 2 * 24 * 3600


def progress_cookie_name(event_id: int) -> str:
    return f"queue-start-{event_id}"


def _signer(cookie_name: str) -> signing.TimestampSigner:
    return signing.get_cookie_signer(salt=f"{PROGRESS_COOKIE_SALT}:{cookie_name}")


def progress_start_from_cookies(cookies: dict[str, str], event_id: int) -> int | None:
    """The start position a fan's cookies carry for this event (``None``: absent, tampered, stale)."""
    name = progress_cookie_name(event_id)
    raw = cookies.get(name)
    if not raw:
        return None
    try:
        value = _signer(name).unsign(raw, max_age=PROGRESS_COOKIE_MAX_AGE)
    except signing.BadSignature:
        return None
    return int(value) if value.isdigit() and int(value) > 0 else None


def progress_cookie_set(response: HttpResponse, *, event_id: int, start_position: int | None) -> None:
    """Remember (or, with ``None``, forget) where this fan's progress bar starts for the event."""
    name = progress_cookie_name(event_id)
    if start_position is None:
        response.delete_cookie(name, samesite="Lax")
        return
    response.set_cookie(
        name,
        _signer(name).sign(str(start_position)),
        max_age=PROGRESS_COOKIE_MAX_AGE,
        secure=settings.SECURE_COOKIES,
        httponly=True,
        samesite="Lax",
    )


def progress_percent(*, start_position: int | None, position: int | None) -> int:
    """How much of the line that was ahead of the fan at the start has moved on, 0-100."""
    if not position or not start_position or start_position <= position:
        return 0
    return min(100, max(0, round(100 * (start_position - position) / start_position)))


def wait_text(seconds: int | None) -> str:
    """A human-readable estimated wait: "less than a minute", "about 4 minutes", "about 1 h 20 min"."""
    if seconds is None:
        return _("not known yet")
    if seconds < 60:
        return _("less than a minute")
    minutes = round(seconds / 60)
    if minutes < 60:
        return ngettext("about %(count)d minute", "about %(count)d minutes", minutes) % {"count": minutes}
    hours, minutes = divmod(minutes, 60)
    if not minutes:
        return ngettext("about %(count)d hour", "about %(count)d hours", hours) % {"count": hours}
    return _("about %(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}


def status_message(
    *,
    status: QueueStatus,
    progress: int,
    is_paused: bool,
    exact: bool,
    redirect_url: str,
    position: int | None = None,
    queue_size: int | None = None,
    estimated_wait_seconds: int | None = None,
) -> dict[str, Any]:
    """The WebSocket ``status`` message. ``position`` and friends override the exact values of
    ``status`` when the consumer estimated them from a broadcast."""
    if position is None:
        position = status.position
    if estimated_wait_seconds is None:
        estimated_wait_seconds = status.estimated_wait_seconds
    message: dict[str, Any] = {
        "type": "status",
        "eventId": status.event_id,
        "status": status.status,
        "position": position,
        "usersAhead": position - 1 if position is not None else None,
        "queueSize": status.queue_size if queue_size is None else queue_size,
        "estimatedWaitTime": estimated_wait_seconds,
        "progress": 100 if status.status == QueueState.ADMITTED else progress,
        "isPaused": is_paused,
        "exact": exact,
    }
    if status.status == QueueState.ADMITTED and status.admission_expires_at is not None:
        message["expiresAt"] = status.admission_expires_at.isoformat()
        message["redirectUrl"] = redirect_url
    return message


def join_form_context(*, user: Any, event: Any, button_label: str) -> dict[str, Any]:
    """What ``queueing/_join_form.html`` needs: where to post, whether the ALTCHA widget runs, and
    whether the fan must verify their e-mail address first."""
    return {
        "join_url": reverse("queueing:join", kwargs={"slug": event.slug}),
        "challenge_url": reverse("queueing:challenge", kwargs={"slug": event.slug})
        if event.queue_challenge_difficulty > 0
        else None,
        "needs_verified_email": settings.ACCOUNTS_REQUIRE_VERIFIED_EMAIL and not user.email_verified,
        "button_label": button_label,
    }
