from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from events.models import Event, Seat, SeatCategory, Venue

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 costs ~0.3 s per demo account; these tests are about the data, not the hash.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_creates_an_on_sale_event_with_thousands_of_seats_in_three_prices():
    seed()

    event = Event.objects.get(slug="turnstile-live-demo")
    assert event.name == "Turnstile Live: Demo Night"
    assert event.sale_phase() == Event.SalePhase.ON_SALE
    assert event.seats.count() >= 2000
    prices = {
        category.name: (category.price, category.currency, category.seats.count())
        for category in event.categories.all()
    }
    assert prices == {
        "Silver": (Decimal("2500.00"), "INR", 960),
        "Gold": (Decimal("7500.00"), "INR", 960),
        "Platinum": (Decimal("12500.00"), "INR", 480),
    }


def test_seed_demo_adds_an_event_whose_sale_opens_later():
    seed()

    presale = Event.objects.get(slug="turnstile-live-presale")
    assert presale.sale_phase() == Event.SalePhase.UPCOMING
    assert presale.seats.exists()
    assert presale.venue == Event.objects.get(slug="turnstile-live-demo").venue


def test_seed_demo_creates_staff_and_fans_who_can_log_in():
    seed()

    users = get_user_model().objects
    staff = users.get(email="staff@turnstile.local")
    assert staff.is_staff
    assert staff.is_superuser
    assert staff.check_password("turnstile-staff")
    fans = users.filter(email__endswith="@turnstile.local", is_staff=False).order_by("email")
    assert [fan.email for fan in fans] == [f"fan{n}@turnstile.local" for n in range(1, 6)]
    assert all(fan.check_password("turnstile-fan") for fan in fans)


def test_seed_demo_run_twice_changes_nothing():
    first_output = seed()
    before = {
        model.__name__: model.objects.count()
        for model in (get_user_model(), Venue, Event, SeatCategory, Seat)
    }
    demo = Event.objects.get(slug="turnstile-live-demo")

    second_output = seed()

    after = {
        model.__name__: model.objects.count()
        for model in (get_user_model(), Venue, Event, SeatCategory, Seat)
    }
    assert after == before
    assert Event.objects.get(slug="turnstile-live-demo").sale_opens_at == demo.sale_opens_at
    assert "Created event: Turnstile Live: Demo Night" in first_output
    assert "Created" not in second_output
    assert "Found event: Turnstile Live: Demo Night (turnstile-live-demo): 2400 seats" in second_output


def test_seed_demo_keeps_a_changed_password():
    seed()
    staff = get_user_model().objects.get(email="staff@turnstile.local")
    staff.set_password("a-new-staff-secret-77")
    staff.save()

    seed()

    staff.refresh_from_db()
    assert staff.check_password("a-new-staff-secret-77")
