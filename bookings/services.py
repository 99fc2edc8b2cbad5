"""Writes of seat holds and bookings. Every view, API view, task and admin action calls these.

Public interface (keyword-only; each commits its own work and may run inside a caller's transaction):

- ``seats_hold(user=, event=, seat_ids=) -> HoldResult`` — all-or-nothing. ``NotAdmitted`` (403),
  ``SaleClosed`` (409), ``UnknownSeats`` (400), ``TooManySeats`` (409), ``FanSeatLimitReached`` (409),
  ``SeatUnavailable`` (409, ``details.seatIds``), ``Busy`` (503). Seats the fan already holds stay
  held; holds end with the pass.
- ``seats_release(user=, event=, seat_ids=None) -> HoldResult`` — the fan's remaining holds.
  Releasing named seats that are in the fan's pending booking raises ``SeatsInPendingBooking`` (409);
  releasing everything (``seat_ids=None``) leaves those seats with the booking.
- ``booking_create(user=, event=) -> Booking`` — from the fan's live holds; idempotent (the same
  pending booking comes back while its seats equal the holds). ``NotAdmitted``, ``NoSeatsHeld`` (409),
  ``FanSeatLimitReached`` (409),
  ``PendingBookingExists`` (409, the fan's pending booking has other seats: pay or cancel it first).
- ``booking_cancel(booking=, by_staff=False) -> Booking`` — pending (fans) or pending/confirmed (staff)
  → cancelled, seats back on sale. Cancelling a cancelled booking changes nothing.
  ``BookingNotCancellable`` (409) otherwise. Refunds are the payments app's business.
- ``booking_confirm_paid(booking=) -> Booking`` — for payments: pending → confirmed (also after the
  window); an expired booking whose seats are still free is re-activated and confirmed;
  ``SeatsNoLongerAvailable`` (409) when some were taken meanwhile, ``BookingNotPayable`` (409) for a
  cancelled or refunded booking — in both cases the payment must be refunded. Idempotent.
- ``bookings_expire(now=None) -> int`` and ``holds_release_expired(now=None) -> int`` — the sweeps run
  by Celery beat; one short transaction per booking / per batch, never waiting for a busy row.

Lock order (one global order, as in Zulip and pretix, so concurrent calls cannot deadlock):

    event row → the fan's admission pass → seats by primary key → seat holds by seat → bookings by pk
    (→ their items)

Nothing here locks the event row: holds of different fans must not queue behind one row. The admission
pass row serialises the requests of one fan for one event (two tabs cannot both pass the seat limit, nor
the cap per fan across bookings, ``Event.max_seats_per_fan``: a fan has one valid pass per event, and
every hold and booking of theirs counts their seats under its lock).
Every lock wait is bounded by ``settings.DB_LOCK_TIMEOUT_MS`` and becomes ``Busy`` (503, retry).

Seat states, as every read sees them (``bookings.selectors`` and ``events.selectors``): *sold* = an
active item of a confirmed booking; *held* = a hold row with ``expires_at > now`` (a pending booking keeps
the holds it was made from, with the same expiry); everything else is *available* — expired holds and
pending bookings past their expiry free their seats before any sweep runs, and the next hold on such a
seat expires the stale booking under the seat's lock.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from bookings import notify
from bookings.exceptions import (
    BookingNotCancellable,
    BookingNotPayable,
    FanSeatLimitReached,
    NoSeatsHeld,
    NotAdmitted,
    PendingBookingExists,
    SeatsInPendingBooking,
    SeatsNoLongerAvailable,
    SeatUnavailable,
    TooManySeats,
    UnknownSeats,
)
from bookings.models import Booking, BookingItem, SeatHold, Ticket
from core.exceptions import Busy, Conflict
from events.models import Event, Seat
from queueing.exceptions import SaleClosed
from queueing.models import AdmissionPass

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

PENDING = Booking.Status.PENDING_PAYMENT
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
REFERENCE_LENGTH = 8
LOCK_NOT_AVAILABLE = "55P03"
SWEEP_BATCH_SIZE = 1000


@dataclass(frozen=True)
class HoldResult:
    """The fan's live holds for the event after the operation.

    ``seat_ids``: every seat the fan holds now (sorted); ``added_seat_ids``: those this call added;
    ``expires_at``: when the holds end (the admission pass's expiry), ``None`` without holds.
    """

    event_id: int
    seat_ids: list[int]
    added_seat_ids: list[int]
    released_seat_ids: list[int]
    expires_at: datetime | None


# --- Locking helpers ------------------------------------------------------------------------------


def _is_lock_timeout(exc: BaseException) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE


def busy_on_lock_timeout(function: Callable[P, R]) -> Callable[P, R]:
    """Turn PostgreSQL's lock timeout into ``Busy``, outside the (rolled back) atomic block."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except OperationalError as exc:
            if _is_lock_timeout(exc):
                raise Busy(details={"retryAfter": 1}) from exc
            raise

    return wrapper


def _set_lock_timeout() -> None:
    milliseconds = int(settings.DB_LOCK_TIMEOUT_MS)
    with connection.cursor() as cursor:
        # SET takes no bind parameters; the value is an int from settings.
        cursor.execute(f"SET LOCAL lock_timeout = {milliseconds}")


def _lock_admission_pass(*, user, event: Event, now: datetime) -> AdmissionPass:
    """The fan's valid pass, locked: one fan's two tabs take turns past the seat limit."""
    locked = (
        AdmissionPass.objects.select_for_update(no_key=True)
        .filter(event=event, user=user, ended_at__isnull=True, expires_at__gt=now)
        .order_by("-expires_at")
        .first()
    )
    if locked is None:
        raise NotAdmitted()
    # PostgreSQL re-checks the filter on the row it waited for, so a pass that ended meanwhile is None.
    return locked


def _lock_seats(seat_ids: Iterable[int], *, event_id: int | None = None) -> list[Seat]:
    """Lock seat rows in primary-key order (PostgreSQL locks them as the sorted rows come out)."""
    seats = (
        Seat.objects.select_for_update(no_key=True, of=("self",))
        .select_related("category")
        .filter(pk__in=sorted(set(seat_ids)))
        .order_by("pk")
    )
    if event_id is not None:
        seats = seats.filter(event_id=event_id)
    return list(seats)


def _lock_holds(seat_ids: Iterable[int]) -> dict[int, SeatHold]:
    holds = SeatHold.objects.select_for_update().filter(seat_id__in=sorted(set(seat_ids))).order_by("seat_id")
    return {hold.seat_id: hold for hold in holds}


def _lock_bookings(booking_ids: Iterable[int]) -> dict[int, Booking]:
    ids = sorted(set(booking_ids))
    if not ids:
        return {}
    return {b.pk: b for b in Booking.objects.select_for_update().filter(pk__in=ids).order_by("pk")}


def _stale_booking_ids_on(seat_ids: Collection[int], *, now: datetime) -> set[int]:
    """Pending bookings past their expiry that still keep some of these seats (their sweep is late)."""
    return set(
        BookingItem.objects.filter(
            seat_id__in=seat_ids, is_active=True, booking__status=PENDING, booking__expires_at__lte=now
        ).values_list("booking_id", flat=True)
    )


def _end_booking(booking: Booking, *, status: str, now: datetime) -> list[int]:
    """Give up the seats of a locked booking; returns the seats it kept until now."""
    seat_ids = list(
        BookingItem.objects.filter(booking=booking, is_active=True).values_list("seat_id", flat=True)
    )
    BookingItem.objects.filter(booking=booking, is_active=True).update(is_active=False)
    booking.status = status
    update_fields = ["status", "updated_at"]
    if status == Booking.Status.CANCELLED:
        booking.cancelled_at = now
        update_fields.append("cancelled_at")
    booking.save(update_fields=update_fields)
    return seat_ids


def _expire_stale(bookings: Iterable[Booking], *, now: datetime) -> list[int]:
    freed: list[int] = []
    for booking in bookings:
        if booking.status == PENDING and booking.expires_at <= now:
            freed += _end_booking(booking, status=Booking.Status.EXPIRED, now=now)
    return freed


def _hold_result(
    *, user, event: Event, now: datetime, added: Iterable[int] = (), released: Iterable[int] = ()
) -> HoldResult:
    rows = list(
        SeatHold.objects.filter(user=user, event=event, expires_at__gt=now)
        .order_by("seat_id")
        .values_list("seat_id", "expires_at")
    )
    return HoldResult(
        event_id=event.pk,
        seat_ids=[seat_id for seat_id, _ in rows],
        added_seat_ids=sorted(added),
        released_seat_ids=sorted(released),
        expires_at=min((expires_at for _, expires_at in rows), default=None),
    )


# --- Holds ----------------------------------------------------------------------------------------


def _fan_seat_ids(*, user, event: Event, now: datetime) -> set[int]:
    """Seats the fan has for the event: in confirmed bookings, in unexpired pending bookings, and held.
    Call it under the fan's admission pass lock, so nothing of theirs changes meanwhile."""
    booked = BookingItem.objects.filter(booking__user=user, booking__event=event, is_active=True).filter(
        Q(booking__status=Booking.Status.CONFIRMED) | Q(booking__status=PENDING, booking__expires_at__gt=now)
    )
    held = SeatHold.objects.filter(user=user, event=event, expires_at__gt=now)
    return set(booked.values_list("seat_id", flat=True)) | set(held.values_list("seat_id", flat=True))


def _check_fan_cap(*, event: Event, owned: set[int], requested: Collection[int]) -> None:
    if len(owned | set(requested)) > event.max_seats_per_fan:
        raise FanSeatLimitReached(
            details={
                "limit": event.max_seats_per_fan,
                "owned": len(owned),
                "requested": len(set(requested) - owned),
            }
        )


@busy_on_lock_timeout
@transaction.atomic
def seats_hold(*, user, event: Event, seat_ids: Collection[int]) -> HoldResult:
    """Hold all of ``seat_ids`` for the fan until their admission pass expires, or none of them."""
    now = timezone.now()
    requested = sorted(set(seat_ids))
    _set_lock_timeout()
    if event.sale_phase(now) != Event.SalePhase.ON_SALE:
        raise SaleClosed()
    admission = _lock_admission_pass(user=user, event=event, now=now)

    seats = _lock_seats(requested, event_id=event.pk)
    unknown = sorted(set(requested) - {seat.pk for seat in seats})
    if unknown:
        raise UnknownSeats(details={"seatIds": unknown})

    my_live_holds = SeatHold.objects.filter(user=user, event=event, expires_at__gt=now)
    my_hold_expiries = dict(my_live_holds.values_list("seat_id", "expires_at"))
    already_mine = set(my_hold_expiries)
    if len(already_mine | set(requested)) > event.max_seats_per_order:
        raise TooManySeats(
            details={
                "limit": event.max_seats_per_order,
                "held": len(already_mine),
                "requested": len(requested),
            }
        )

    _check_fan_cap(event=event, owned=_fan_seat_ids(user=user, event=event, now=now), requested=requested)

    holds = _lock_holds(requested)
    # One read of the active line items on these seats (their rows cannot change: we hold the seat locks).
    items = list(
        BookingItem.objects.filter(seat_id__in=requested, is_active=True).values_list(
            "seat_id", "booking_id", "booking__status", "booking__user_id", "booking__expires_at"
        )
    )
    stale_ids = {booking for _, booking, status, _, expires in items if status == PENDING and expires <= now}
    freed = _expire_stale(_lock_bookings(stale_ids).values(), now=now)

    # Sold, or in someone else's unexpired pending booking (the fan's own pending booking keeps its seats).
    taken_by_booking = {
        seat_id
        for seat_id, booking_id, status, owner_id, _ in items
        if booking_id not in stale_ids and not (status == PENDING and owner_id == user.pk)
    }
    taken = sorted(
        seat_id
        for seat_id in requested
        if seat_id in taken_by_booking
        or (seat_id in holds and holds[seat_id].expires_at > now and holds[seat_id].user_id != user.pk)
    )
    if taken:
        raise SeatUnavailable(details={"seatIds": taken})

    to_hold = [
        seat_id
        for seat_id in requested
        if not (seat_id in holds and holds[seat_id].expires_at > now and holds[seat_id].user_id == user.pk)
    ]
    # Expired rows (anyone's) on these seats give way: one row per seat is a database constraint.
    expired_rows = [holds[seat_id].pk for seat_id in to_hold if seat_id in holds]
    if expired_rows:
        SeatHold.objects.filter(pk__in=expired_rows).delete()
    try:
        # No savepoint: an IntegrityError aborts the whole hold anyway (all or nothing).
        SeatHold.objects.bulk_create(
            SeatHold(
                event=event,
                seat_id=seat_id,
                user=user,
                admission_pass=admission,
                expires_at=admission.expires_at,
                created_at=now,
            )
            for seat_id in to_hold
        )
    except IntegrityError as exc:  # only reachable if someone bypassed the seat locks
        raise SeatUnavailable(details={"seatIds": to_hold}) from exc

    changes = [(seat_id, notify.AVAILABLE) for seat_id in freed if seat_id not in set(requested)]
    changes += [(seat_id, notify.HELD) for seat_id in to_hold]
    notify.notify_seats_changed_on_commit(event.pk, changes)
    # The fan's live holds are the earlier ones plus these, so the result needs no further read.
    return HoldResult(
        event_id=event.pk,
        seat_ids=sorted(already_mine | set(requested)),
        added_seat_ids=sorted(to_hold),
        released_seat_ids=[],
        expires_at=min([admission.expires_at, *my_hold_expiries.values()]),
    )


@busy_on_lock_timeout
@transaction.atomic
def seats_release(*, user, event: Event, seat_ids: Collection[int] | None = None) -> HoldResult:
    """Give back some (or, with ``None``, all) of the fan's holds. Seats not held by the fan are ignored.

    Seats in the fan's pending booking stay with it: naming them raises ``SeatsInPendingBooking``
    (cancel the booking to release them), releasing everything skips them.
    """
    now = timezone.now()
    _set_lock_timeout()
    live = SeatHold.objects.filter(user=user, event=event, expires_at__gt=now)
    if seat_ids is not None:
        live = live.filter(seat_id__in=set(seat_ids))
    candidates = sorted(live.values_list("seat_id", flat=True))
    if not candidates:
        return _hold_result(user=user, event=event, now=now)

    _lock_seats(candidates)
    holds = [
        hold for hold in _lock_holds(candidates).values() if hold.user_id == user.pk and hold.expires_at > now
    ]
    in_booking = set(
        BookingItem.objects.filter(
            seat_id__in=[hold.seat_id for hold in holds],
            is_active=True,
            booking__status=PENDING,
            booking__user=user,
        ).values_list("seat_id", flat=True)
    )
    if in_booking and seat_ids is not None:
        raise SeatsInPendingBooking(details={"seatIds": sorted(in_booking)})
    released = [hold for hold in holds if hold.seat_id not in in_booking]
    SeatHold.objects.filter(pk__in=[hold.pk for hold in released]).delete()
    released_ids = [hold.seat_id for hold in released]
    notify.notify_seats_changed_on_commit(event.pk, [(seat_id, notify.AVAILABLE) for seat_id in released_ids])
    return _hold_result(user=user, event=event, now=now, released=released_ids)


@busy_on_lock_timeout
def holds_release_expired(*, now: datetime | None = None) -> int:
    """Delete expired hold rows (reads already ignore them) and tell open seat maps. Returns how many.

    Batches of ``SWEEP_BATCH_SIZE`` rows, each its own transaction; rows locked by a running hold are
    skipped (that hold replaces them anyway), so the sweep never waits and never deadlocks.
    """
    now = now or timezone.now()
    total = 0
    while True:
        released = _release_expired_batch(now=now)
        total += released
        if released < SWEEP_BATCH_SIZE:
            return total


@transaction.atomic
def _release_expired_batch(*, now: datetime) -> int:
    rows = list(
        SeatHold.objects.select_for_update(skip_locked=True)
        .filter(expires_at__lte=now)
        .order_by("seat_id")
        .values_list("pk", "event_id", "seat_id")[:SWEEP_BATCH_SIZE]
    )
    if not rows:
        return 0
    SeatHold.objects.filter(pk__in=[pk for pk, _, _ in rows]).delete()
    by_event: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for _, event_id, seat_id in rows:
        by_event[event_id].append((seat_id, notify.AVAILABLE))
    for event_id, changes in by_event.items():
        notify.notify_seats_changed_on_commit(event_id, changes)
    return len(rows)


# --- Bookings -------------------------------------------------------------------------------------


def _new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def _constraint_name(exc: IntegrityError) -> str | None:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


def _insert_booking(**fields: object) -> Booking:
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Booking.objects.create(reference=_new_reference(), **fields)
        except IntegrityError as exc:
            if _constraint_name(exc) == "bookings_one_pending_booking_per_fan_and_event":
                raise PendingBookingExists() from exc
            if "reference" not in (_constraint_name(exc) or ""):
                raise
    raise Conflict("Could not allocate a booking reference.")  # 32^8 codes: practically unreachable


@busy_on_lock_timeout
@transaction.atomic
def booking_create(*, user, event: Event) -> Booking:
    """Turn the fan's live holds into a booking pending payment, priced on the server.

    A double click returns the same pending booking. The booking expires with the holds.
    """
    now = timezone.now()
    _set_lock_timeout()
    _lock_admission_pass(user=user, event=event, now=now)
    held = sorted(
        SeatHold.objects.filter(user=user, event=event, expires_at__gt=now).values_list("seat_id", flat=True)
    )
    if not held:
        raise NoSeatsHeld()

    seats = _lock_seats(held, event_id=event.pk)
    holds = [hold for hold in _lock_holds(held).values() if hold.user_id == user.pk and hold.expires_at > now]
    held_ids = {hold.seat_id for hold in holds}
    if not held_ids:  # staff cancelled them while we waited
        raise NoSeatsHeld()
    seats = [seat for seat in seats if seat.pk in held_ids]

    pending_id = (
        Booking.objects.filter(user=user, event=event, status=PENDING).values_list("pk", flat=True).first()
    )
    stale_ids = _stale_booking_ids_on(held_ids, now=now)
    bookings = _lock_bookings(stale_ids | ({pending_id} if pending_id else set()))
    pending = bookings.get(pending_id) if pending_id else None
    if pending is not None and pending.status == PENDING and pending.expires_at > now:
        booked = set(
            BookingItem.objects.filter(booking=pending, is_active=True).values_list("seat_id", flat=True)
        )
        if booked == held_ids:
            return pending
        raise PendingBookingExists(details={"bookingId": pending.pk, "reference": pending.reference})
    _expire_stale(bookings.values(), now=now)
    # Holds made before another booking of the fan was confirmed, or before staff lowered the cap.
    _check_fan_cap(
        event=event, owned=_fan_seat_ids(user=user, event=event, now=now) - held_ids, requested=held_ids
    )

    currencies = {seat.category.currency for seat in seats}
    if len(currencies) != 1:
        raise Conflict("Seats priced in different currencies cannot be booked together.")
    booking = _insert_booking(
        user=user,
        event=event,
        status=PENDING,
        total_amount=sum((seat.category.price for seat in seats), Decimal("0")),
        currency=currencies.pop(),
        expires_at=min(hold.expires_at for hold in holds),
    )
    try:
        with transaction.atomic():
            BookingItem.objects.bulk_create(
                BookingItem(booking=booking, seat=seat, category=seat.category, price=seat.category.price)
                for seat in seats
            )
    except IntegrityError as exc:  # the database refuses a second active item for a seat
        raise SeatUnavailable(details={"seatIds": sorted(held_ids)}) from exc
    SeatHold.objects.filter(pk__in=[hold.pk for hold in holds]).update(booking=booking)
    return booking


def _booking_seat_ids(booking: Booking) -> list[int]:
    return sorted(BookingItem.objects.filter(booking=booking).values_list("seat_id", flat=True))


@busy_on_lock_timeout
@transaction.atomic
def booking_cancel(*, booking: Booking, by_staff: bool = False) -> Booking:
    """Cancel a pending booking (fans) or a pending or confirmed one (staff): its seats go back on sale.

    Returns the booking as stored now (the argument is not refreshed).
    """
    now = timezone.now()
    _set_lock_timeout()
    seat_ids = _booking_seat_ids(booking)
    _lock_seats(seat_ids)
    _lock_holds(seat_ids)
    locked = _lock_bookings([booking.pk])[booking.pk]
    if locked.status == Booking.Status.CANCELLED:
        return locked
    cancellable = {PENDING, Booking.Status.CONFIRMED} if by_staff else {PENDING}
    if locked.status not in cancellable:
        raise BookingNotCancellable(details={"status": locked.status})
    freed = _end_booking(locked, status=Booking.Status.CANCELLED, now=now)
    SeatHold.objects.filter(booking=locked).delete()
    tickets_void(booking=locked, now=now)
    notify.notify_seats_changed_on_commit(locked.event_id, [(seat_id, notify.AVAILABLE) for seat_id in freed])
    return locked


def bookings_expire(*, now: datetime | None = None) -> int:
    """Expire pending bookings past their expiry (their seats go back on sale). Returns how many.

    One short transaction per booking; a booking whose rows are busy is left for the next run.
    """
    now = now or timezone.now()
    due = list(
        Booking.objects.filter(status=PENDING, expires_at__lte=now)
        .order_by("expires_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH_SIZE]
    )
    expired = 0
    for booking_id in due:
        try:
            expired += _booking_expire(booking_id=booking_id, now=now)
        except Busy:
            logger.info("Booking %s is busy; it will be expired on the next run.", booking_id)
    return expired


@busy_on_lock_timeout
@transaction.atomic
def _booking_expire(*, booking_id: int, now: datetime) -> int:
    _set_lock_timeout()
    seat_ids = sorted(BookingItem.objects.filter(booking_id=booking_id).values_list("seat_id", flat=True))
    _lock_seats(seat_ids)
    _lock_holds(seat_ids)
    booking = _lock_bookings([booking_id]).get(booking_id)
    if booking is None or booking.status != PENDING or booking.expires_at > now:
        return 0
    freed = _end_booking(booking, status=Booking.Status.EXPIRED, now=now)
    SeatHold.objects.filter(booking=booking).delete()
    notify.notify_seats_changed_on_commit(
        booking.event_id, [(seat_id, notify.AVAILABLE) for seat_id in freed]
    )
    return 1


@busy_on_lock_timeout
@transaction.atomic
def booking_confirm_paid(*, booking: Booking) -> Booking:
    """Mark a paid booking confirmed: its seats are sold. Idempotent.

    A booking that expired before the payment arrived is confirmed again if all its seats are still free;
    otherwise ``SeatsNoLongerAvailable`` (nothing changes). Cancelled or refunded: ``BookingNotPayable``.
    """
    now = timezone.now()
    _set_lock_timeout()
    seat_ids = _booking_seat_ids(booking)
    _lock_seats(seat_ids)
    holds = _lock_holds(seat_ids)
    others_stale = _stale_booking_ids_on(seat_ids, now=now) - {booking.pk}
    bookings = _lock_bookings(others_stale | {booking.pk})
    locked = bookings[booking.pk]

    if locked.status == Booking.Status.CONFIRMED:
        return locked
    if locked.status not in (PENDING, Booking.Status.EXPIRED):
        raise BookingNotPayable(details={"status": locked.status})
    if locked.status == Booking.Status.EXPIRED:
        freed = set(_expire_stale((bookings[pk] for pk in sorted(others_stale)), now=now))
        taken_by_booking = set(
            BookingItem.objects.filter(seat_id__in=seat_ids, is_active=True)
            .exclude(booking=locked)
            .values_list("seat_id", flat=True)
        )
        taken_by_hold = {
            seat_id
            for seat_id, hold in holds.items()
            if hold.expires_at > now and hold.user_id != locked.user_id and hold.booking_id != locked.pk
        }
        taken = sorted((taken_by_booking | taken_by_hold) - freed)
        if taken:
            raise SeatsNoLongerAvailable(details={"seatIds": taken})
        try:
            with transaction.atomic():
                BookingItem.objects.filter(booking=locked).update(is_active=True)
        except IntegrityError as exc:
            raise SeatsNoLongerAvailable(details={"seatIds": seat_ids}) from exc

    # Sold seats need no holds: the fan's, and any expired rows left on these seats, go.
    SeatHold.objects.filter(seat_id__in=seat_ids).delete()
    locked.status = Booking.Status.CONFIRMED
    locked.confirmed_at = now
    locked.save(update_fields=["status", "confirmed_at", "updated_at"])
    notify.notify_seats_changed_on_commit(locked.event_id, [(seat_id, notify.SOLD) for seat_id in seat_ids])
    return locked


# --- Tickets and the payments' side of a booking (called by payments.services) --------------------

TICKET_CODE_BYTES = 12  # 16 URL-safe characters, 96 random bits


@busy_on_lock_timeout
@transaction.atomic
def tickets_issue(*, booking: Booking) -> list[Ticket]:
    """One valid ticket per seat of a confirmed booking. Idempotent: existing valid tickets are kept.

    The booking row lock serialises two callers (a webhook and the fan's confirm call), so the database's
    one-valid-ticket-per-item constraint is never hit by a race.
    """
    _set_lock_timeout()
    locked = _lock_bookings([booking.pk])[booking.pk]
    if locked.status != Booking.Status.CONFIRMED:
        raise Conflict("Tickets are issued for confirmed bookings only.", details={"status": locked.status})
    items = list(BookingItem.objects.filter(booking=locked, is_active=True).order_by("pk"))
    ticketed = set(
        Ticket.objects.filter(booking=locked, voided_at__isnull=True).values_list("item_id", flat=True)
    )
    Ticket.objects.bulk_create(
        Ticket(booking=locked, item=item, code=secrets.token_urlsafe(TICKET_CODE_BYTES))
        for item in items
        if item.pk not in ticketed
    )
    return list(
        Ticket.objects.filter(booking=locked, voided_at__isnull=True)
        .select_related("item__seat", "item__category")
        .order_by("item__seat__section", "item__seat__row", "item__seat__number", "pk")
    )


def tickets_void(*, booking: Booking, now: datetime | None = None) -> int:
    """Void the booking's valid tickets (refund, cancellation). The caller holds the booking's lock."""
    return Ticket.objects.filter(booking=booking, voided_at__isnull=True).update(
        voided_at=now or timezone.now()
    )


@busy_on_lock_timeout
@transaction.atomic
def booking_release_unpaid(*, booking: Booking) -> Booking:
    """The payment failed or was canceled: a pending booking ends now as *expired*, and its seats go back
    on sale for everyone at once (the fan's holds of them go too). The fan may choose seats again while
    their admission pass lasts.

    Expired, not cancelled, on purpose: if the same payment still succeeds later (the fan retried the
    card), ``booking_confirm_paid`` treats it as a late payment and confirms the booking again when its
    seats are still free. Any other status is left unchanged (a confirmed sale is never undone here).
    """
    now = timezone.now()
    _set_lock_timeout()
    seat_ids = _booking_seat_ids(booking)
    _lock_seats(seat_ids)
    _lock_holds(seat_ids)
    locked = _lock_bookings([booking.pk])[booking.pk]
    if locked.status != PENDING:
        return locked
    freed = _end_booking(locked, status=Booking.Status.EXPIRED, now=now)
    Booking.objects.filter(pk=locked.pk).update(expires_at=now)
    locked.expires_at = now
    SeatHold.objects.filter(booking=locked).delete()
    notify.notify_seats_changed_on_commit(locked.event_id, [(seat_id, notify.AVAILABLE) for seat_id in freed])
    return locked


@busy_on_lock_timeout
@transaction.atomic
def booking_mark_refunded(*, booking: Booking) -> Booking:
    """The booking's payment is being returned: refunded, tickets voided, seats (if it kept any) back on
    sale. Idempotent. The payments app calls this; it never talks to a payment provider.
    """
    now = timezone.now()
    _set_lock_timeout()
    seat_ids = _booking_seat_ids(booking)
    _lock_seats(seat_ids)
    _lock_holds(seat_ids)
    locked = _lock_bookings([booking.pk])[booking.pk]
    if locked.status == Booking.Status.REFUNDED:
        return locked
    freed = _end_booking(locked, status=Booking.Status.REFUNDED, now=now)
    SeatHold.objects.filter(booking=locked).delete()
    tickets_void(booking=locked, now=now)
    notify.notify_seats_changed_on_commit(locked.event_id, [(seat_id, notify.AVAILABLE) for seat_id in freed])
    return locked
