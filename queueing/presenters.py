"""How a fan's place in line is shown: shared by the queue page, its status partial and the WebSocket.

Pure functions, no reads or writes: views and the consumer fetch through the selectors and pass in
what they got.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from queueing.selectors import QueueState, QueueStatus


def progress_session_key(event_id: int) -> str:
    """Where the queue page remembers the fan's first place in line (the start of the progress bar)."""
    return f"queue-start-{event_id}"


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
