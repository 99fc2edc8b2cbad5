from __future__ import annotations

import dataclasses

import pytest

from bookings.models import Booking
from boxoffice.selectors import (
    Sample,
    drain_seconds,
    queue_counters,
    rates_from_samples,
    sale_dashboard,
    sale_samples,
    sales_figures,
)
from boxoffice.services import sale_pause, sale_sample_record
from payments.models import Payment, Refund
from queueing.models import QueueEntry
from queueing.services import queue_admit_batch, queue_join

pytestmark = pytest.mark.django_db(transaction=True)


def sample(t: float, *, joins: int = 0, admitted: int = 0, requests: int = 0, errors: int = 0) -> Sample:
    return Sample(
        t=t,
        waiting=0,
        prequeue=0,
        admitted_now=0,
        joins_total=joins,
        admitted_total=admitted,
        seats_sold=0,
        seats_held=0,
        net_minor=0,
        http_requests=requests,
        http_errors=errors,
    )


def test_rates_are_counter_differences_over_about_a_minute():
    samples = [
        sample(1000, joins=10, admitted=0, requests=100),
        sample(1030, joins=40, admitted=2, requests=400, errors=1),
        sample(1060, joins=70, admitted=4, requests=700, errors=3),
        sample(1065, joins=80, admitted=4, requests=800, errors=3),
    ]

    rates = rates_from_samples(samples)

    # Newest (t=1065) against the newest sample at least 60 s older (t=1000).
    assert rates.joins_per_minute == pytest.approx(70 * 60 / 65, abs=0.1)
    assert rates.admissions_per_minute == pytest.approx(4 * 60 / 65, abs=0.1)
    assert rates.http_error_ratio == pytest.approx(3 / 700, abs=1e-4)
    assert rates.http_requests_per_second == pytest.approx(700 / 65, abs=0.1)


def test_rates_are_unknown_with_a_single_sample():
    rates = rates_from_samples([sample(1000, joins=5)])
    assert rates.joins_per_minute is None
    assert rates.admissions_per_minute is None


def test_the_admission_rate_counts_real_admissions_not_the_batch_size(event, make_fans):
    """The issue: 4 fans admitted read as ~100 fans/min (the batch size). Now: what really went in."""
    for fan in make_fans(4):
        queue_join(user=fan, event=event)
    before = sale_sample_record(event=event, force=True)
    assert queue_admit_batch(event=event)  # a batch of 50 that finds 4 fans
    after = sale_sample_record(event=event, force=True)
    assert before is not None
    assert after is not None

    rates = rates_from_samples([dataclasses.replace(before, t=after.t - 60), after])

    assert rates.admissions_per_minute == pytest.approx(4.0)
    assert after.admitted_total - before.admitted_total == 4


def test_queue_counters_match_the_queue(event, make_fans):
    fans = make_fans(7)
    for fan in fans:
        queue_join(user=fan, event=event)
    queue_admit_batch(event=event, size=3)

    counters = queue_counters(event=event)

    assert counters.waiting == QueueEntry.objects.filter(event=event, state="waiting").count() == 4
    assert counters.admitted_now == 3
    assert counters.joins_total == 7
    assert counters.admitted_total == 3
    assert not counters.is_paused


def test_drain_time_uses_the_measured_rate_and_stops_while_paused(event):
    assert drain_seconds(event=event, waiting=600, is_paused=False, admissions_per_minute=60) == 600
    # Nothing measured yet: the configured 50 fans every 30 s.
    assert drain_seconds(event=event, waiting=600, is_paused=False, admissions_per_minute=None) == 360
    assert drain_seconds(event=event, waiting=600, is_paused=True, admissions_per_minute=60) is None
    assert drain_seconds(event=event, waiting=0, is_paused=True, admissions_per_minute=None) == 0


def test_sales_figures_of_a_scripted_sale(scripted_sale):
    figures = sales_figures(event=scripted_sale.event, currency="INR")

    # 12,500 + 7,500 + 2 x 2,500 paid; the 7,500 booking refunded. In paise.
    assert figures.gross_minor == 2_500_000
    assert figures.refunded_minor == 750_000
    assert figures.net.display == "₹17,500"
    assert figures.payments_succeeded == Payment.objects.filter(status__in=Payment.PAID_STATUSES).count() == 3
    assert figures.payments_declined == Payment.objects.filter(status="failed").count() == 1
    assert figures.bookings_confirmed == Booking.objects.filter(status="confirmed").count() == 2
    assert Refund.objects.get().status == "succeeded"


def test_the_dashboard_figures_of_a_scripted_sale(scripted_sale, staff_user):
    sale_pause(event=scripted_sale.event, actor=staff_user)

    dashboard = sale_dashboard(event=scripted_sale.event)

    assert dashboard.queue.waiting == 6
    assert dashboard.queue.is_paused
    assert dashboard.drain_seconds is None
    assert dashboard.seats_sold == 3  # Platinum, and two Silver (the Gold one was refunded)
    assert dashboard.seats_total == 10
    assert {c.name: c.sold_seats for c in dashboard.categories} == {"Platinum": 1, "Gold": 0, "Silver": 2}


def test_samples_are_kept_newest_last_and_at_most_one_per_period(event):
    first = sale_sample_record(event=event)
    assert first is not None
    assert sale_sample_record(event=event) is None  # another process sampled just now
    second = sale_sample_record(event=event, force=True)
    assert second is not None

    assert [s.t for s in sale_samples(event=event)] == [first.t, second.t]


def test_seat_counts_agree_with_the_events_availability(scripted_sale):
    """The dashboard's cheaper count gives the same figures as the seat map's definition."""
    from bookings.services import seats_hold
    from boxoffice.selectors import seat_counts_by_category
    from events.models import Seat
    from events.selectors import seat_availability_for_events

    event = scripted_sale.event
    holder = scripted_sale.fans[3]  # admitted; their payment was declined, so they may hold again
    free = Seat.objects.filter(event=event, category__name="Silver").order_by("-pk").first()
    seats_hold(user=holder, event=event, seat_ids=[free.pk])

    cheap = seat_counts_by_category(event_ids=[event.pk])[event.pk]
    reference = seat_availability_for_events(event_ids=[event.pk])[event.pk]

    assert cheap == reference
    assert sum(category.held_seats for category in cheap) >= 1
    assert sum(category.sold_seats for category in cheap) == 3
