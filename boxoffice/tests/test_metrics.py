"""/metrics: who may read it, and its figures against the database after a scripted sale."""

from __future__ import annotations

import pytest
from django.db.models import Count, Sum
from prometheus_client.parser import text_string_to_metric_families

from bookings.models import Booking, BookingItem
from payments.models import Payment, Refund
from queueing.models import AdmissionPass, QueueEntry

pytestmark = pytest.mark.django_db(transaction=True)


def scrape(client, **extra) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_are_refused_to_visitors_and_fans(client, fan):
    assert client.get("/metrics").status_code == 403
    client.force_login(fan)
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer guess"}).status_code == 403


def test_metrics_are_served_to_staff_a_token_and_allowed_addresses(client, staff_user, settings):
    settings.METRICS_TOKEN = "s3cret-token-for-prometheus"
    assert (
        client.get("/metrics", headers={"Authorization": "Bearer s3cret-token-for-prometheus"}).status_code
        == 200
    )
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403
    settings.METRICS_ALLOWED_ADDRESSES = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    client.force_login(staff_user)
    response = client.get("/metrics", REMOTE_ADDR="192.0.2.1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "turnstile_http_requests_total" in response.content.decode()


def test_metrics_match_the_database_after_a_scripted_sale(client, staff_user, scripted_sale):
    event = scripted_sale.event
    client.force_login(staff_user)

    metrics = scrape(client)

    def value(name: str, **labels: str) -> float:
        return metrics.get((name, tuple(sorted({"event": event.slug, **labels}.items()))), 0.0)

    assert (
        value("turnstile_queue_waiting")
        == QueueEntry.objects.filter(event=event, state="waiting").count()
        == 6
    )
    assert value("turnstile_queue_joins_total") == QueueEntry.objects.filter(event=event).count() == 10
    assert value("turnstile_queue_admissions_total") == AdmissionPass.objects.filter(event=event).count() == 4
    assert value("turnstile_queue_admitted_active") == 4
    assert value("turnstile_queue_paused") == 0
    sold = BookingItem.objects.filter(booking__event=event, is_active=True, booking__status="confirmed")
    by_category = dict(sold.values_list("category__name").annotate(n=Count("pk")))
    for category in ("Platinum", "Gold", "Silver"):
        assert value("turnstile_seats", category=category, state="sold") == by_category.get(category, 0)
    for status, count in Booking.objects.filter(event=event).values_list("status").annotate(n=Count("pk")):
        assert value("turnstile_bookings", status=status) == count
    for status, count in Payment.objects.values_list("status").annotate(n=Count("pk")):
        assert value("turnstile_payments", status=status) == count
    assert (
        value("turnstile_refunds", status="succeeded")
        == Refund.objects.filter(status="succeeded").count()
        == 1
    )
    gross = Payment.objects.filter(status__in=Payment.PAID_STATUSES).aggregate(s=Sum("amount_minor"))["s"]
    refunded = Refund.objects.filter(status="succeeded").aggregate(s=Sum("amount_minor"))["s"]
    assert value("turnstile_revenue_minor_units", currency="INR", kind="gross") == gross == 2_500_000
    assert value("turnstile_revenue_minor_units", currency="INR", kind="refunded") == refunded
    assert value("turnstile_revenue_minor_units", currency="INR", kind="net") == gross - refunded


def test_http_requests_are_counted_by_route_pattern_and_status(client, staff_user, event):
    client.force_login(staff_user)
    route = (("method", "GET"), ("route", "box-office/events/<int:event_id>/"), ("status", "200"))
    before = scrape(client).get(("turnstile_http_requests_total", route), 0.0)

    client.get(f"/box-office/events/{event.pk}/")
    client.get(f"/box-office/events/{event.pk}/")
    client.get("/no/such/page/at/all")

    after = scrape(client)
    assert after[("turnstile_http_requests_total", route)] == before + 2
    unmatched = (("method", "GET"), ("route", "unmatched"), ("status", "404"))
    assert after[("turnstile_http_requests_total", unmatched)] >= 1


def test_paused_sales_stay_reported_and_drafts_are_left_out(client, staff_user, event, fan):
    from boxoffice.services import sale_pause
    from events.tests.factories import EventFactory
    from queueing.services import queue_join

    queue_join(user=fan, event=event)
    sale_pause(event=event, actor=staff_user)
    draft = EventFactory(draft=True)
    client.force_login(staff_user)

    metrics = scrape(client)

    assert metrics[("turnstile_queue_paused", (("event", event.slug),))] == 1
    assert metrics[("turnstile_queue_waiting", (("event", event.slug),))] == 1
    assert not any(("event", draft.slug) in labels for _, labels in metrics)


def test_celery_task_outcomes_are_counted(event):
    from prometheus_client import REGISTRY

    from boxoffice import tasks
    from boxoffice.selectors import sale_samples

    labels = {"task": "boxoffice.tasks.sample_live_sales", "outcome": "success"}
    before = REGISTRY.get_sample_value("turnstile_celery_tasks_total", labels) or 0.0

    sampled = tasks.sample_live_sales.delay().get()

    assert sampled == 1
    assert len(sale_samples(event=event)) == 1
    assert REGISTRY.get_sample_value("turnstile_celery_tasks_total", labels) == before + 1
