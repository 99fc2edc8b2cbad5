"""Fan pages of seats and bookings: the seat map (holds, releases, checkout) and the fan's bookings.

Thin, like every view here: parse the input, call ``bookings.services`` / ``bookings.selectors``, render
the page or its htmx partial. Live availability comes from the WebSocket (``bookings.consumers``); the
JSON states endpoint is what the page polls when the socket is unavailable.

Holds and releases answer with the summary partial (``#seat-summary``): the fan's held seats, total,
countdown and checkout button, and in ``data-held-ids`` / ``data-taken-ids`` what the map must show.
Errors keep their HTTP status (403 not admitted, 409 seat taken or too many seats, 503 busy...) and still
carry the summary with a readable message; ``seatmap.js`` swaps those in. Seats already held are never
lost by a failed request: the summary is always re-read from the database.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db.models import Count, Min
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from bookings.exceptions import FanSeatLimitReached, PendingBookingExists, SeatUnavailable, TooManySeats
from bookings.models import Booking
from bookings.selectors import (
    booking_for_user,
    bookings_for_user,
    held_seat_ids_for,
    holds_for,
    pending_booking_for,
    seat_map_for_event,
    seat_states_for_event,
    turn_ran_out_at,
)
from bookings.services import booking_cancel, booking_create, seats_hold, seats_release
from bookings.templatetags.seat_map_tags import DrawnSeats, draw_seats
from core.exceptions import ApplicationError
from core.local_cache import LocalCache
from core.ratelimit import ratelimit
from events.models import Event, Seat
from events.selectors import (
    event_get_public,
    event_get_public_cached,
    seat_availability_by_category_cached,
)
from queueing.models import AdmissionPass
from queueing.selectors import admission_pass_for

# Venues up to this size are drawn whole; bigger ones open on their first section (tabs switch).
WHOLE_MAP_SEAT_LIMIT = 3000
ALL_SECTIONS = "all"
# A hard cap on one request; the event's own limit (max_seats_per_order) is enforced by the service.
MAX_SEAT_IDS_PER_REQUEST = 100
SUMMARY_ID = "seat-summary"
MAP_ID = "seat-map"


def hold_rate(group: str, request: HttpRequest) -> str | None:
    """Per-fan web limits share the API's settings (``BOOKING_THROTTLE_*``); ``None`` = no limit."""
    return settings.BOOKING_THROTTLE_RATES["holds"] if settings.BOOKING_THROTTLE_ENABLE else None


def booking_rate(group: str, request: HttpRequest) -> str | None:
    return settings.BOOKING_THROTTLE_RATES["bookings"] if settings.BOOKING_THROTTLE_ENABLE else None


def _seat_map_url(slug: str) -> str:
    return reverse("bookings:seat_map", kwargs={"slug": slug})


def fan_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """``login_required`` that comes back to the seat map (never to a POST-only URL), with a full-page
    redirect for htmx requests instead of the login page swapped into a fragment."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        slug = kwargs.get("slug")
        if request.method == "GET" and not request.htmx:
            next_url = request.get_full_path()
        elif slug:
            next_url = _seat_map_url(slug)
        else:
            next_url = reverse("bookings:list")
        login = redirect_to_login(next_url)
        if request.htmx:
            return HttpResponseClientRedirect(login.url)
        return login

    return wrapped


def _event_or_404(slug: str, *, read_only: bool = False) -> Event:
    """``read_only``: the object this process's requests share for about a second (never change it)."""
    event = event_get_public_cached(slug=slug) if read_only else event_get_public(slug=slug)
    if event is None:
        raise Http404(_("No such event."))
    return event


def _seat_ids(request: HttpRequest) -> list[int] | None:
    """``seat_ids`` from the form: repeated fields or one comma-separated value. ``None`` if malformed."""
    raw = [part for value in request.POST.getlist("seat_ids") for part in value.split(",") if part.strip()]
    try:
        seat_ids = [int(value) for value in raw]
    except ValueError:
        return None
    if len(seat_ids) > MAX_SEAT_IDS_PER_REQUEST or any(seat_id < 1 for seat_id in seat_ids):
        return None
    return seat_ids


# --- Reads of the page (small, page-specific) -------------------------------------------------------


# The venue's layout, per process for about a second (core.local_cache): it changes only with a staff
# edit of the seats, which clears it (core.public_cache.bump_generation).
_venue_sections: LocalCache[list[tuple[str, int]]] = LocalCache()


def _sections(event: Event) -> list[tuple[str, int]]:
    """(section, number of seats), left to right as the venue is drawn: the seat map's tabs."""
    return _venue_sections.get_or_load(event.pk, lambda: _read_sections(event))


def _read_sections(event: Event) -> list[tuple[str, int]]:
    rows = (
        Seat.objects.filter(event=event)
        .values_list("section")
        .annotate(seats=Count("pk"), leftmost=Min("x"))
        .order_by("leftmost", "section")
    )
    return [(section, seats) for section, seats, _leftmost in rows]


# Everyone's view of a section (no seat drawn as "yours"), drawn once per process for about a second
# (core.local_cache): drawing 600 seats costs more than the rest of the page. The fan's own holds, read
# exactly, are drawn as theirs on it. A seat taken or freed in that second may show its old state until
# the map's socket (or its poll) sends every seat's state, as it does when it connects; a hold is decided
# under the seat's row lock, never on what a page showed. A drawn seat keeps ~0.9 KB (tracemalloc), so
# the cache holds a few events' maps and sections at a time.
_drawn_maps: LocalCache[DrawnSeats] = LocalCache(max_entries=32)


def _drawn_map(event: Event, section: str | None) -> DrawnSeats:
    return _drawn_maps.get_or_load(
        (event.pk, section), lambda: draw_seats(seat_map_for_event(event=event, section=section))
    )


def _chosen_section(request: HttpRequest, sections: list[tuple[str, int]]) -> str | None:
    """The section to draw (``None`` = all of them)."""
    names = [name for name, _count in sections]
    asked = request.GET.get("section")
    if asked == ALL_SECTIONS:
        return None
    if asked in names:
        return asked
    if sum(count for _name, count in sections) <= WHOLE_MAP_SEAT_LIMIT or not names:
        return None
    return names[0]


def _summary_context(
    request: HttpRequest,
    event: Event,
    *,
    error: ApplicationError | None = None,
    taken_ids: list[int] | None = None,
    admission: AdmissionPass | None = None,
) -> dict[str, Any]:
    """``admission``: the fan's pass when the caller already read it."""
    now = timezone.now()
    holds = holds_for(user=request.user, event=event, now=now)
    if admission is None:
        admission = admission_pass_for(user=request.user, event=event, now=now)
    return {
        "event": event,
        "now": now,
        "holds": holds,
        "held_ids_json": json.dumps(holds.seat_ids),
        "taken_ids_json": json.dumps(taken_ids or []),
        "expires_at": holds.expires_at or (admission.expires_at if admission else None),
        "admitted": admission is not None,
        "pending_booking": holds.pending_booking,
        "max_seats": event.max_seats_per_order,
        "seats_left_to_choose": max(event.max_seats_per_order - len(holds.seats), 0),
        "error": error,
        "error_message": _error_message(error, event) if error else "",
        "queue_url": reverse("queueing:page", kwargs={"slug": event.slug}),
        "hold_url": reverse("bookings:hold", kwargs={"slug": event.slug}),
        "release_url": reverse("bookings:release", kwargs={"slug": event.slug}),
        "checkout_url": reverse("bookings:checkout", kwargs={"slug": event.slug}),
    }


def _error_message(error: ApplicationError, event: Event) -> str:
    if isinstance(error, TooManySeats):
        return _("You can hold at most %(limit)s seats for this event.") % {
            "limit": event.max_seats_per_order
        }
    if isinstance(error, FanSeatLimitReached):
        return _(
            "One fan may have at most %(limit)s seats for this event, counting seats you already bought "
            "or are paying for (you have %(owned)s)."
        ) % {"limit": error.details["limit"], "owned": error.details["owned"]}
    if isinstance(error, SeatUnavailable):
        count = len(error.details.get("seatIds", []))
        if count == 1:
            return _("Sorry, that seat has just been taken. Please choose another.")
        return _("Sorry, some of these seats have just been taken. Please choose others.")
    return error.message


def _summary_response(
    request: HttpRequest, event: Event, *, error: ApplicationError | None = None
) -> HttpResponse:
    """The summary partial for htmx; for a plain form post, a message and the seat map page."""
    taken = list(error.details.get("seatIds", [])) if isinstance(error, SeatUnavailable) else []
    if not request.htmx:
        if error is not None:
            messages.error(request, _error_message(error, event))
        return redirect(_seat_map_url(event.slug))
    context = _summary_context(request, event, error=error, taken_ids=taken)
    status = error.status_code if error is not None else 200
    return render(request, "bookings/_summary.html", context, status=status)


# --- Seat map ----------------------------------------------------------------------------------------


@never_cache
@require_GET
@fan_required
@gzip_page
def seat_map_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The seat map; with ``HX-Target: seat-map`` (section tabs) only the map partial."""
    event = _event_or_404(slug, read_only=True)
    admission = admission_pass_for(user=request.user, event=event)
    if admission is None:
        return _not_admitted_page(request, event)

    sections = _sections(event)
    section = _chosen_section(request, sections)
    context: dict[str, Any] = {
        "event": event,
        "sections": sections,
        "section": section,
        "all_sections": ALL_SECTIONS,
        "seat_map_url": _seat_map_url(event.slug),
    }
    if request.htmx and request.htmx.target == MAP_ID:
        mine = held_seat_ids_for(user=request.user, event=event)
        context["seat_map_html"] = _drawn_map(event, section).html(held_by_me=mine)
        return render(request, "bookings/_seat_map.html", context)
    context.update(_summary_context(request, event, admission=admission))
    context["seat_map_html"] = _drawn_map(event, section).html(held_by_me=context["holds"].seat_ids)
    # The price list's counts may be a second old, like the drawn map; the fan's own holds are exact.
    context["categories"] = seat_availability_by_category_cached(event=event)
    context["states_url"] = reverse("bookings:states", kwargs={"slug": event.slug})
    context["ws_path"] = f"/ws/events/{event.pk}/seats/"
    return render(request, "bookings/seat_map.html", context)


def _not_admitted_page(request: HttpRequest, event: Event) -> HttpResponse:
    """Why there is no seat map: the fan's turn ran out (say when, and that the seats went back on
    sale), or they never had one. Both offer the way back: the queue."""
    now = timezone.now()
    context = {
        "event": event,
        "now": now,
        "turn_ended_at": turn_ran_out_at(user=request.user, event=event, now=now),
        "sale_open": event.sale_phase(now) == Event.SalePhase.ON_SALE,
        "queue_url": reverse("queueing:page", kwargs={"slug": event.slug}),
        "join_url": reverse("queueing:join", kwargs={"slug": event.slug}),
        "pending_booking": pending_booking_for(user=request.user, event=event, now=now),
    }
    template = "bookings/time_up.html" if context["turn_ended_at"] else "bookings/not_admitted.html"
    return render(request, template, context, status=403)


@never_cache
@require_GET
def seat_states(request: HttpRequest, slug: str) -> JsonResponse:
    """Every seat that is not available, like the WebSocket's snapshot: the polling fallback."""
    if not request.user.is_authenticated:
        return JsonResponse({"type": "error", "code": "NOT_AUTHENTICATED"}, status=401)
    event = _event_or_404(slug)
    states = seat_states_for_event(event=event, user=request.user)
    return JsonResponse(
        {"type": "snapshot", "eventId": event.pk, "states": [[pk, status] for pk, status in states.items()]}
    )


@require_POST
@fan_required
@ratelimit(key="user", rate=hold_rate, method="POST")
def seats_hold_view(request: HttpRequest, slug: str) -> HttpResponse:
    event = _event_or_404(slug)
    seat_ids = _seat_ids(request)
    if not seat_ids:
        return _summary_response(request, event, error=ApplicationError(_("Choose a seat first.")))
    try:
        seats_hold(user=request.user, event=event, seat_ids=seat_ids)
    except ApplicationError as error:
        return _summary_response(request, event, error=error)
    return _summary_response(request, event)


@require_POST
@fan_required
@ratelimit(key="user", rate=hold_rate, method="POST")
def seats_release_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Release the posted seats, or every seat the fan holds when none are posted."""
    event = _event_or_404(slug)
    seat_ids = _seat_ids(request)
    if seat_ids is None:
        return _summary_response(request, event, error=ApplicationError(_("Those are not seats.")))
    try:
        seats_release(user=request.user, event=event, seat_ids=seat_ids or None)
    except ApplicationError as error:
        return _summary_response(request, event, error=error)
    return _summary_response(request, event)


@require_POST
@fan_required
@ratelimit(key="user", rate=booking_rate, method="POST")
def checkout_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Turn the fan's held seats into a booking awaiting payment, then go straight to paying for it."""
    event = _event_or_404(slug)
    try:
        booking = booking_create(user=request.user, event=event)
    except PendingBookingExists as error:
        reference = error.details.get("reference")
        if reference:
            messages.error(request, error.message)
            return _redirect(request, reverse("bookings:detail", kwargs={"reference": reference}))
        return _summary_response(request, event, error=error)
    except ApplicationError as error:
        return _summary_response(request, event, error=error)
    return _redirect(request, reverse("payments:checkout", kwargs={"reference": booking.reference}))


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


# --- The fan's bookings ------------------------------------------------------------------------------


def _own_booking_or_404(request: HttpRequest, reference: str) -> Booking:
    booking_id = (
        Booking.objects.filter(user=request.user, reference=reference.upper())
        .values_list("pk", flat=True)
        .first()
    )
    if booking_id is None:  # unknown, or another fan's: the same answer
        raise Http404(_("No such booking."))
    return booking_for_user(user=request.user, booking_id=booking_id)


@never_cache
@require_GET
@fan_required
def booking_list(request: HttpRequest) -> HttpResponse:
    return render(request, "bookings/booking_list.html", {"bookings": bookings_for_user(user=request.user)})


@never_cache
@require_GET
@fan_required
def booking_detail(request: HttpRequest, reference: str) -> HttpResponse:
    booking = _own_booking_or_404(request, reference)
    now = timezone.now()
    context = {
        "booking": booking,
        "now": now,
        "is_pending": booking.status == Booking.Status.PENDING_PAYMENT and booking.expires_at > now,
        "seat_map_url": _seat_map_url(booking.event.slug),
    }
    return render(request, "bookings/booking_detail.html", context)


@require_POST
@fan_required
@ratelimit(key="user", rate=booking_rate, method="POST")
def booking_cancel_view(request: HttpRequest, reference: str) -> HttpResponse:
    booking = _own_booking_or_404(request, reference)
    try:
        booking_cancel(booking=booking)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Your booking was cancelled and its seats went back on sale."))
    return redirect(reverse("bookings:detail", kwargs={"reference": booking.reference}))
