from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from events.models import Seat
from events.tests.factories import EventFactory, SeatCategoryFactory, SeatFactory, categories_for

pytestmark = pytest.mark.django_db


def test_event_list_shows_on_sale_and_upcoming_events_as_cards(client):
    on_sale = EventFactory(name="Open Night")
    categories_for(on_sale)
    EventFactory(name="Coming Soon", upcoming=True)

    response = client.get(reverse("events:list"))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Open Night" in content
    assert "Coming Soon" in content
    assert on_sale.venue.name in content
    assert '<span class="badge badge-on_sale">On sale</span>' in content
    assert '<span class="badge badge-upcoming">Sale opens soon</span>' in content
    assert "From <strong>₹2,500</strong>" in content
    assert on_sale.get_absolute_url() in content


def test_event_list_hides_drafts_cancelled_and_closed_events(client):
    EventFactory(name="Secret Draft", draft=True)
    EventFactory(name="Called Off", cancelled=True)
    EventFactory(name="Long Gone", closed=True)

    response = client.get(reverse("events:list"))

    content = response.content.decode()
    assert "Secret Draft" not in content
    assert "Called Off" not in content
    assert "Long Gone" not in content
    assert "No events are on sale right now" in content


def test_event_page_shows_venue_date_description_and_prices(client):
    event = EventFactory(name="Demo Night", description="Bring earplugs.")
    categories_for(event)

    response = client.get(event.get_absolute_url())

    assert response.status_code == 200
    content = response.content.decode()
    assert "<h1>Demo Night</h1>" in content
    assert event.venue.name in content
    assert "Bring earplugs." in content
    assert timezone.localtime(event.starts_at).strftime("%-d %B %Y") in content
    for name, price in [("Silver", "₹2,500"), ("Gold", "₹7,500"), ("Platinum", "₹12,500")]:
        assert name in content
        assert price in content
    assert "background: #6d28d9" in content
    assert "data-opens-at" not in content


def test_event_page_shows_seats_left_per_category(client):
    event = EventFactory()
    gold = SeatCategoryFactory(event=event, name="Gold", price=Decimal("7500"))
    SeatCategoryFactory(event=event, name="Silver", price=Decimal("2500"))
    Seat.objects.bulk_create(SeatFactory.build_batch(1200, event=event, category=gold))

    response = client.get(event.get_absolute_url())

    seats_left = {category.name: category.available_seats for category in response.context["categories"]}
    assert seats_left == {"Gold": 1200, "Silver": 0}
    content = response.content.decode()
    assert "<td>1,200</td>" in content
    assert "Sold out" in content


def test_upcoming_event_page_counts_down_to_the_sale(client):
    opens_at = (timezone.now() + timedelta(days=2, hours=3)).replace(microsecond=0)
    event = EventFactory(sale_opens_at=opens_at)

    response = client.get(event.get_absolute_url())

    content = response.content.decode()
    assert '<span class="badge badge-upcoming">Sale opens soon</span>' in content
    assert f'data-opens-at="{timezone.localtime(opens_at).isoformat()}"' in content
    assert "Sale opens in" in content
    assert "2\xa0days, 2\xa0hours" in content or "2\xa0days, 3\xa0hours" in content
    assert "window.location.reload" in content


def test_closed_event_page_says_the_sale_is_over(client):
    event = EventFactory(closed=True)

    response = client.get(event.get_absolute_url())

    assert response.status_code == 200
    assert "The sale for this event has closed." in response.content.decode()


@pytest.mark.parametrize("trait", ["draft", "cancelled"])
def test_unpublished_event_page_is_a_readable_404(client, trait):
    event = EventFactory(**{trait: True})

    response = client.get(reverse("events:detail", kwargs={"slug": event.slug}))

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_unknown_event_page_is_404(client):
    response = client.get(reverse("events:detail", kwargs={"slug": "nothing-here"}))

    assert response.status_code == 404
