"""Reads of the box office: the live figures of one on-sale and their recent history.

Every figure is cheap whatever the queue length: the queue figures are O(1)/O(log N) Redis reads
(``ZCARD``, ``SCARD``, ``ZCOUNT``, ``GET``, ``HGET``) in one round trip, never a scan of the queue; the
seat, booking and payment figures are aggregates over the event's seats and bookings (bounded by the
venue's size, not by the crowd). Rates come from the samples ``boxoffice.services.sale_sample_record``
keeps in Redis (one per ``BOXOFFICE_SAMPLE_SECONDS``, one hour of them): the difference of two
counters, so an admission rate is real admissions per minute, not the configured batch size.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Sum
from django.utils import timezone
from django_redis import get_redis_connection

from bookings.models import Booking
from core.metrics import HTTP_COUNTERS_KEY
from events.models import Event
from events.money import minor_units_to_price, price_display
from events.selectors import CategoryAvailability
from payments.models import Payment, Refund
from queueing.redis_queue import READY, QueueKeys, as_int, queue_redis

# Rates are measured over about this long (the newest sample against the one this far back).
RATE_WINDOW_SECONDS = 60
# Passes ending within this long count as "expiring".
EXPIRING_SOON_SECONDS = 60


def samples_key(event_id: int) -> str:
    return f"boxoffice:{{{event_id}}}:samples"


def sample_lock_key(event_id: int) -> str:
    return f"boxoffice:{{{event_id}}}:sample-lock"


@dataclass(frozen=True)
class QueueCounters:
    """The event's queue as Redis counts it: one pipeline, O(1) or O(log N) each."""

    ready: bool
    waiting: int
    prequeue: int
    admitted_now: int
    expiring_soon: int
    joins_total: int
    admitted_total: int
    is_paused: bool


def queue_counters(*, event: Event, now_epoch: float | None = None) -> QueueCounters:
    """The queue's counts without touching PostgreSQL (a missing structure reads as zero)."""
    now_epoch = time.time() if now_epoch is None else now_epoch
    keys = QueueKeys(event.pk)
    pipe = queue_redis().pipeline(transaction=False)
    pipe.hmget(keys.meta, READY, "paused")
    pipe.get(keys.size)
    pipe.scard(keys.pre)
    pipe.zcount(keys.admitted, f"({now_epoch}", "+inf")
    pipe.zcount(keys.admitted, f"({now_epoch}", now_epoch + EXPIRING_SOON_SECONDS)
    pipe.get(keys.seq)
    pipe.hget(keys.stats, "admitted_total")
    (ready, paused), waiting, prequeue, admitted_now, expiring, seq, admitted_total = pipe.execute()
    return QueueCounters(
        ready=ready is not None,
        waiting=as_int(waiting),
        prequeue=prequeue,
        admitted_now=admitted_now,
        expiring_soon=expiring,
        # Every place ever given comes from the sequence counter; the pre-queue has none yet.
        joins_total=as_int(seq) + prequeue,
        admitted_total=as_int(admitted_total),
        is_paused=paused == b"1",
    )


def http_counters() -> tuple[int, int]:
    """(requests, server errors) answered by every web process since Redis started counting."""
    requests, errors = get_redis_connection("default").hmget(HTTP_COUNTERS_KEY, "requests", "errors")
    return as_int(requests), as_int(errors)


@dataclass(frozen=True)
class Money:
    amount_minor: int
    currency: str

    @property
    def display(self) -> str:
        return price_display(minor_units_to_price(self.amount_minor, self.currency), self.currency)


@dataclass(frozen=True)
class SalesFigures:
    """Bookings and money of one event, from PostgreSQL (aggregates over the event's bookings)."""

    currency: str
    bookings_pending: int
    bookings_confirmed: int
    bookings_other: int
    payments_succeeded: int
    payments_declined: int
    gross_minor: int
    refunded_minor: int

    @property
    def net_minor(self) -> int:
        return self.gross_minor - self.refunded_minor

    @property
    def gross(self) -> Money:
        return Money(self.gross_minor, self.currency)

    @property
    def refunded(self) -> Money:
        return Money(self.refunded_minor, self.currency)

    @property
    def net(self) -> Money:
        return Money(self.net_minor, self.currency)


# Held and sold as ``events.selectors.seats_held`` / ``seats_sold`` define them (a live hold row; an
# active line item of a confirmed booking), counted per category from the few holds and line items
# through their event indexes. Plain SQL: the ORM spent ~8 ms of CPU compiling the nested subqueries,
# more than PostgreSQL spends running them. A test checks it against the events selector.
_SEAT_COUNTS_SQL = """
WITH total AS (
  SELECT category_id, count(*) AS n FROM events_seat
  WHERE event_id = ANY(%(event_ids)s) GROUP BY category_id
), held AS (
  SELECT s.category_id, count(DISTINCT h.seat_id) AS n
  FROM bookings_seathold h JOIN events_seat s ON s.id = h.seat_id
  WHERE h.event_id = ANY(%(event_ids)s) AND h.expires_at > %(now)s GROUP BY s.category_id
), sold AS (
  SELECT s.category_id, count(DISTINCT i.seat_id) AS n
  FROM bookings_booking b
  JOIN bookings_bookingitem i ON i.booking_id = b.id
  JOIN events_seat s ON s.id = i.seat_id
  WHERE b.event_id = ANY(%(event_ids)s) AND b.status = %(confirmed)s AND i.is_active GROUP BY s.category_id
)
SELECT c.id, c.event_id, c.name, c.price, c.currency, c.colour, c.sort_order,
  coalesce(total.n, 0), coalesce(held.n, 0), coalesce(sold.n, 0)
FROM events_seatcategory c
LEFT JOIN total ON total.category_id = c.id
LEFT JOIN held ON held.category_id = c.id
LEFT JOIN sold ON sold.category_id = c.id
WHERE c.event_id = ANY(%(event_ids)s)
ORDER BY c.event_id, c.sort_order, c.price, c.id
"""


def seat_counts_by_category(*, event_ids: list[int]) -> dict[int, list[CategoryAvailability]]:
    """Per event, its categories with total, held and sold seats: the figures of
    ``events.selectors.seat_availability_for_events``, in one cheap statement."""
    if not event_ids:
        return {}
    by_event: dict[int, list[CategoryAvailability]] = {event_id: [] for event_id in event_ids}
    params: dict[str, Any] = {
        "now": timezone.now(),
        "confirmed": Booking.Status.CONFIRMED.value,
        "event_ids": list(event_ids),
    }
    with connection.cursor() as cursor:
        cursor.execute(_SEAT_COUNTS_SQL, params)
        rows = cursor.fetchall()
    for pk, event_id, name, price, currency, colour, sort_order, total, held, sold in rows:
        by_event[event_id].append(
            CategoryAvailability(
                id=pk,
                event_id=event_id,
                name=name,
                price=price,
                currency=currency,
                colour=colour,
                sort_order=sort_order,
                total_seats=total,
                held_seats=held,
                sold_seats=sold,
            )
        )
    return by_event


def event_currency(*, event: Event, categories: list[CategoryAvailability] | None = None) -> str:
    if categories:
        return categories[0].currency
    first = event.categories.order_by("sort_order", "pk").values_list("currency", flat=True).first()
    return first or "INR"


def sales_figures(*, event: Event, currency: str) -> SalesFigures:
    """Bookings by status, payments succeeded/declined, revenue gross/refunded/net in minor units.

    Gross counts every payment that succeeded (also those refunded since); refunded counts refunds the
    provider completed. Payments in another currency than the event's are left out of the money.
    """
    by_status = dict(
        Booking.objects.filter(event=event).order_by().values_list("status").annotate(n=Count("pk"))
    )
    payments = (
        Payment.objects.filter(booking__event=event)
        .order_by()
        .values_list("status", "currency")
        .annotate(n=Count("pk"), total=Sum("amount_minor"))
    )
    succeeded = declined = gross = 0
    for status, payment_currency, count, total in payments:
        if status in Payment.PAID_STATUSES:
            succeeded += count
            if payment_currency == currency:
                gross += total or 0
        elif status == Payment.Status.FAILED:
            declined += count
    refunded = (
        Refund.objects.filter(
            payment__booking__event=event, status=Refund.Status.SUCCEEDED, currency=currency
        ).aggregate(total=Sum("amount_minor"))["total"]
        or 0
    )
    pending = by_status.get(Booking.Status.PENDING_PAYMENT, 0)
    confirmed = by_status.get(Booking.Status.CONFIRMED, 0)
    return SalesFigures(
        currency=currency,
        bookings_pending=pending,
        bookings_confirmed=confirmed,
        bookings_other=sum(by_status.values()) - pending - confirmed,
        payments_succeeded=succeeded,
        payments_declined=declined,
        gross_minor=gross,
        refunded_minor=refunded,
    )


@dataclass(frozen=True)
class Sample:
    """One point of the charts (see ``boxoffice.services.sale_sample_record``)."""

    t: float
    waiting: int
    prequeue: int
    admitted_now: int
    joins_total: int
    admitted_total: int
    seats_sold: int
    seats_held: int
    net_minor: int
    http_requests: int
    http_errors: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


def sale_samples(*, event: Event, limit: int | None = None) -> list[Sample]:
    """The event's samples, oldest first (at most an hour of them)."""
    raw = get_redis_connection("default").lrange(samples_key(event.pk), 0, -1 if limit is None else limit - 1)
    samples = []
    for item in raw:
        try:
            samples.append(Sample(**json.loads(item)))
        except (TypeError, ValueError):  # a sample of an older shape: skip it
            continue
    samples.reverse()
    return samples


@dataclass(frozen=True)
class Rates:
    joins_per_minute: float | None
    admissions_per_minute: float | None
    http_error_ratio: float | None
    http_requests_per_second: float | None

    @property
    def http_error_percent(self) -> float | None:
        return None if self.http_error_ratio is None else round(self.http_error_ratio * 100, 2)


def _per_minute(new: int, old: int, seconds: float) -> float:
    return round(max(new - old, 0) * 60 / seconds, 1)


def rates_from_samples(samples: list[Sample], *, window_seconds: float = RATE_WINDOW_SECONDS) -> Rates:
    """Counter differences between the newest sample and the newest one at least the window older
    (the oldest when the history is shorter). ``None`` until there are two samples."""
    if len(samples) < 2:
        return Rates(None, None, None, None)
    newest = samples[-1]
    older = [sample for sample in samples[:-1] if sample.t <= newest.t - window_seconds]
    base = older[-1] if older else samples[0]
    seconds = newest.t - base.t
    if seconds <= 0:
        return Rates(None, None, None, None)
    requests = max(newest.http_requests - base.http_requests, 0)
    errors = max(newest.http_errors - base.http_errors, 0)
    return Rates(
        joins_per_minute=_per_minute(newest.joins_total, base.joins_total, seconds),
        admissions_per_minute=_per_minute(newest.admitted_total, base.admitted_total, seconds),
        http_error_ratio=round(errors / requests, 4) if requests else None,
        http_requests_per_second=round(requests / seconds, 1),
    )


def drain_seconds(
    *, event: Event, waiting: int, is_paused: bool, admissions_per_minute: float | None
) -> int | None:
    """How long the current queue takes to be admitted: at the measured rate when fans are being
    admitted, else at the configured one (batch size per interval). ``None`` while paused."""
    if waiting == 0:
        return 0
    if is_paused:
        return None
    per_second = (
        admissions_per_minute or 0
    ) / 60 or event.admission_batch_size / event.admission_interval_seconds
    return round(waiting / per_second)


@dataclass(frozen=True)
class Dashboard:
    event: Event
    queue: QueueCounters
    categories: list[CategoryAvailability]
    sales: SalesFigures
    rates: Rates
    drain_seconds: int | None
    sale_phase: str
    generated_at: float = field(default_factory=time.time)

    @property
    def seats_total(self) -> int:
        return sum(category.total_seats for category in self.categories)

    @property
    def seats_sold(self) -> int:
        return sum(category.sold_seats for category in self.categories)

    @property
    def seats_held(self) -> int:
        return sum(category.held_seats for category in self.categories)

    @property
    def seats_available(self) -> int:
        return sum(category.available_seats for category in self.categories)


def sale_dashboard(*, event: Event) -> Dashboard:
    """Everything the dashboard shows, in one Redis round trip (plus the samples) and four queries."""
    queue = queue_counters(event=event)
    categories = seat_counts_by_category(event_ids=[event.pk])[event.pk]
    sales = sales_figures(event=event, currency=event_currency(event=event, categories=categories))
    rates = rates_from_samples(sale_samples(event=event, limit=RATE_WINDOW_SECONDS * 2 // sample_seconds()))
    return Dashboard(
        event=event,
        queue=queue,
        categories=categories,
        sales=sales,
        rates=rates,
        drain_seconds=drain_seconds(
            event=event,
            waiting=queue.waiting,
            is_paused=queue.is_paused,
            admissions_per_minute=rates.admissions_per_minute,
        ),
        sale_phase=str(event.sale_phase(timezone.now()).label),
    )


def sample_seconds() -> int:
    return max(int(settings.BOXOFFICE_SAMPLE_SECONDS), 1)


# --- Prometheus figures (core.metrics.SaleCollector) ------------------------------------------------


@dataclass
class LiveSaleFigures:
    rows: list[tuple[str, str, str, dict[str, str], float]] = field(default_factory=list)

    def add(self, name: str, kind: str, help_text: str, labels: dict[str, str], value: float) -> None:
        self.rows.append((name, kind, help_text, labels, float(value)))

    def metric_families(self) -> list:
        from core.metrics import metric_families_for

        return metric_families_for(self.rows)


def live_events() -> list[Event]:
    """Events on sale now or with a queue in use whose sale has not ended (a bounded set)."""
    from queueing.selectors import events_with_live_queue, events_with_running_sale

    # One query: the union of the admission job's events and the status broadcast's.
    either = (events_with_running_sale() | events_with_live_queue()).distinct().order_by("pk")
    return list(either.only("pk", "slug"))


def live_sale_figures(*, events: list[Event] | None = None) -> LiveSaleFigures:
    """Every live sale's figures for a scrape: one Redis round trip and six queries."""
    from queueing.models import EventQueue, QueueEntry

    events = live_events() if events is None else events
    figures = LiveSaleFigures()
    if not events:
        return figures
    ids = [event.pk for event in events]
    slug = {event.pk: event.slug for event in events}
    now_epoch = time.time()
    pipe = queue_redis().pipeline(transaction=False)
    for event in events:
        keys = QueueKeys(event.pk)
        pipe.hget(keys.meta, "paused")
        pipe.get(keys.size)
        pipe.scard(keys.pre)
        pipe.zcount(keys.admitted, f"({now_epoch}", "+inf")
        pipe.zcount(keys.admitted, f"({now_epoch}", now_epoch + EXPIRING_SOON_SECONDS)
        pipe.get(keys.seq)
    replies = pipe.execute()
    states = {
        event_id: (is_paused, total)
        for event_id, is_paused, total in EventQueue.objects.filter(event_id__in=ids).values_list(
            "event_id", "is_paused", "admitted_total"
        )
    }
    expired = dict(
        QueueEntry.objects.filter(event_id__in=ids, state=QueueEntry.State.EXPIRED)
        .order_by()
        .values_list("event_id")
        .annotate(n=Count("pk"))
    )
    for index, event in enumerate(events):
        _paused, waiting, prequeue, active, expiring, seq = replies[index * 6 : index * 6 + 6]
        labels = {"event": slug[event.pk]}
        figures.add("turnstile_queue_waiting", "gauge", "Fans waiting in line.", labels, as_int(waiting))
        figures.add(
            "turnstile_queue_prequeue", "gauge", "Fans in the pre-queue (before opening).", labels, prequeue
        )
        figures.add(
            "turnstile_queue_admitted_active", "gauge", "Fans holding a valid admission pass.", labels, active
        )
        figures.add(
            "turnstile_queue_passes_expiring",
            "gauge",
            "Admission passes ending within a minute.",
            labels,
            expiring,
        )
        figures.add(
            "turnstile_queue_paused",
            "gauge",
            "1 while admission is paused.",
            labels,
            states.get(event.pk, (False, 0))[0],
        )
        figures.add(
            "turnstile_queue_joins",
            "counter",
            "Places given in the queue (pre-queue included).",
            labels,
            as_int(seq) + prequeue,
        )
        figures.add(
            "turnstile_queue_admissions",
            "counter",
            "Fans admitted (PostgreSQL).",
            labels,
            states.get(event.pk, (False, 0))[1],
        )
        figures.add(
            "turnstile_queue_expirations",
            "counter",
            "Admission passes that ran out (PostgreSQL).",
            labels,
            expired.get(event.pk, 0),
        )
    for event_id, categories in seat_counts_by_category(event_ids=ids).items():
        for category in categories:
            for state, value in (
                ("available", category.available_seats),
                ("held", category.held_seats),
                ("sold", category.sold_seats),
            ):
                figures.add(
                    "turnstile_seats",
                    "gauge",
                    "Seats by category and state.",
                    {"event": slug[event_id], "category": category.name, "state": state},
                    value,
                )
    bookings = (
        Booking.objects.filter(event_id__in=ids)
        .order_by()
        .values_list("event_id", "status")
        .annotate(n=Count("pk"))
    )
    for event_id, status, count in bookings:
        figures.add(
            "turnstile_bookings",
            "gauge",
            "Bookings by status.",
            {"event": slug[event_id], "status": status},
            count,
        )
    payments = (
        Payment.objects.filter(booking__event_id__in=ids)
        .order_by()
        .values_list("booking__event_id", "status", "currency")
        .annotate(n=Count("pk"), total=Sum("amount_minor"))
    )
    gross: dict[tuple[int, str], int] = {}
    for event_id, status, currency, count, total in payments:
        figures.add(
            "turnstile_payments",
            "gauge",
            "Payments by status.",
            {"event": slug[event_id], "status": status},
            count,
        )
        if status in Payment.PAID_STATUSES:
            gross[(event_id, currency)] = gross.get((event_id, currency), 0) + (total or 0)
    refunds = (
        Refund.objects.filter(payment__booking__event_id__in=ids)
        .order_by()
        .values_list("payment__booking__event_id", "status", "currency")
        .annotate(n=Count("pk"), total=Sum("amount_minor"))
    )
    refunded: dict[tuple[int, str], int] = {}
    for event_id, status, currency, count, total in refunds:
        figures.add(
            "turnstile_refunds",
            "gauge",
            "Refunds by status.",
            {"event": slug[event_id], "status": status},
            count,
        )
        if status == Refund.Status.SUCCEEDED:
            refunded[(event_id, currency)] = refunded.get((event_id, currency), 0) + (total or 0)
    for event_id, currency in sorted(set(gross) | set(refunded)):
        paid_in = gross.get((event_id, currency), 0)
        paid_out = refunded.get((event_id, currency), 0)
        for kind, value in (("gross", paid_in), ("refunded", paid_out), ("net", paid_in - paid_out)):
            figures.add(
                "turnstile_revenue_minor_units",
                "gauge",
                "Revenue in minor units (paise, cents).",
                {"event": slug[event_id], "currency": currency, "kind": kind},
                value,
            )
    return figures


def admitted_in_last(*, event: Event, seconds: int) -> int:
    """Fans admitted to the event in the last ``seconds``, from the passes PostgreSQL recorded."""
    from queueing.models import AdmissionPass

    since = timezone.now() - timedelta(seconds=seconds)
    return AdmissionPass.objects.filter(event=event, issued_at__gte=since).count()
