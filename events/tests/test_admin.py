import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.tests.factories import UserFactory
from events.models import Seat
from events.services import seat_map_generate
from events.tests.factories import EventFactory, SeatFactory, VenueFactory, categories_for, seat_map_spec

pytestmark = pytest.mark.django_db

GENERATOR_FORM = {
    "sections": "North, East",
    "rows_per_section": "25",
    "seats_per_row": "24",
    "category_rows": "1-5 Platinum\r\n6-15 Gold\r\n16-25 Silver",
}


@pytest.fixture
def event():
    event = EventFactory(name="Demo Night")
    categories_for(event)
    return event


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def generator_url(event):
    return reverse("admin:events_event_seat_map", args=[event.pk])


def change_url(event):
    return reverse("admin:events_event_change", args=[event.pk])


def test_staff_sees_events_with_sale_phase_and_seat_count(staff_client, event):
    SeatFactory(event=event, category=event.categories.first())

    response = staff_client.get(reverse("admin:events_event_changelist"))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Demo Night" in content
    assert "On sale" in content
    assert '<td class="field-seat_count">1</td>' in content


def test_staff_can_search_events_by_venue_name(staff_client, event):
    EventFactory(name="Elsewhere", venue=VenueFactory(name="Other Hall"))

    response = staff_client.get(reverse("admin:events_event_changelist"), {"q": event.venue.name})

    assert "Demo Night" in response.content.decode()
    assert "Elsewhere" not in response.content.decode()


def test_event_change_page_shows_counts_per_category_and_the_generator_link(staff_client, event):
    response = staff_client.get(change_url(event))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Queue settings" in content
    assert "Platinum" in content
    assert "₹12,500" in content
    assert generator_url(event) in content


def test_event_add_page_opens(staff_client):
    response = staff_client.get(reverse("admin:events_event_add"))

    assert response.status_code == 200
    assert "Save the event with its categories first" in response.content.decode()


def test_generator_page_suggests_row_ranges_for_the_event_categories(staff_client, event):
    response = staff_client.get(generator_url(event))

    assert response.status_code == 200
    assert "1-8 Platinum\n9-16 Gold\n17-25 Silver" in response.content.decode()


def test_staff_generates_a_seat_map_and_returns_to_the_event(staff_client, event):
    response = staff_client.post(generator_url(event), GENERATOR_FORM, follow=True)

    assert response.redirect_chain == [(change_url(event), 302)]
    assert "Created 1200 seats." in [str(message) for message in response.context["messages"]]
    assert Seat.objects.filter(event=event).count() == 2 * 25 * 24
    assert Seat.objects.filter(event=event, row="A", category__name="Platinum").count() == 48


@pytest.mark.parametrize(
    ("category_rows", "error"),
    [
        ("1-5 Platinum\n6-15 Gold\n16-25 Bronze", "“Bronze” is not a category of this event"),
        ("1-5 Platinum\n6-15 Gold", "Rows without a category: 16, 17"),
        ("1-5 Platinum\nsix to fifteen Gold", "is not like “1-5 Platinum”"),
        ("1-5 Platinum\n15-6 Gold\n16-25 Silver", "the first row comes after the last"),
    ],
)
def test_invalid_row_ranges_are_shown_on_the_form_and_create_nothing(
    staff_client, event, category_rows, error
):
    response = staff_client.post(generator_url(event), {**GENERATOR_FORM, "category_rows": category_rows})

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Seat.objects.filter(event=event).exists()


def test_generator_writes_nothing_over_existing_seats_without_the_replace_button(staff_client, event):
    platinum, gold, silver = event.categories.order_by("-price")
    seat_map_generate(
        event=event,
        spec=seat_map_spec(
            sections=("A",),
            rows_per_section=3,
            seats_per_row=2,
            category_rows=[(1, 1, platinum), (2, 2, gold), (3, 3, silver)],
        ),
    )

    page = staff_client.get(generator_url(event))
    response = staff_client.post(generator_url(event), GENERATOR_FORM)

    assert "already has 6 seats" in page.content.decode()
    assert response.status_code == 200
    assert "already has 6 seats" in response.content.decode()
    assert Seat.objects.filter(event=event).count() == 6


def test_fan_is_sent_to_the_admin_login_and_cannot_generate(client, fan, event):
    client.force_login(fan)

    page = client.get(generator_url(event))
    post = client.post(generator_url(event), GENERATOR_FORM)

    for response in (page, post):
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))
    assert not Seat.objects.exists()


def test_anonymous_visitor_is_sent_to_the_admin_login(client, event):
    response = client.post(generator_url(event), GENERATOR_FORM)

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
    assert not Seat.objects.exists()


def test_staff_without_change_permission_cannot_generate(client, event):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_event"))
    client.force_login(viewer)

    response = client.post(generator_url(event), GENERATOR_FORM)

    assert response.status_code == 403
    assert not Seat.objects.exists()


def test_staff_with_change_permission_can_generate(client, event):
    editor = UserFactory(is_staff=True)
    editor.user_permissions.add(Permission.objects.get(codename="change_event"))
    client.force_login(editor)

    response = client.post(generator_url(event), GENERATOR_FORM)

    assert response.status_code == 302
    assert Seat.objects.filter(event=event).count() == 1200


def test_unknown_event_in_the_generator_is_404(staff_client):
    response = staff_client.get(reverse("admin:events_event_seat_map", args=[999_999]))

    assert response.status_code == 404


@pytest.mark.parametrize(
    "url_name",
    ["admin:events_venue_changelist", "admin:events_seatcategory_changelist", "admin:events_seat_changelist"],
)
def test_staff_can_list_venues_categories_and_seats(staff_client, event, url_name):
    SeatFactory(event=event, category=event.categories.first(), section="North")

    response = staff_client.get(reverse(url_name))

    assert response.status_code == 200


def test_category_list_shows_seat_counts(staff_client, event):
    platinum = event.categories.get(name="Platinum")
    SeatFactory.create_batch(3, event=event, category=platinum)

    response = staff_client.get(reverse("admin:events_seatcategory_changelist"), {"q": "Platinum"})

    assert '<td class="field-total_seats">3</td>' in response.content.decode()
    assert '<td class="field-available_seats">3</td>' in response.content.decode()


def test_generator_with_a_non_numeric_id_is_404(staff_client):
    response = staff_client.get("/admin/events/event/not-a-number/seat-map/")

    assert response.status_code == 404


def test_seat_cannot_be_given_a_category_of_another_event(staff_client, event):
    seat = SeatFactory(event=event, category=event.categories.first())
    foreign = categories_for(EventFactory())[0]

    response = staff_client.post(
        reverse("admin:events_seat_change", args=[seat.pk]),
        {
            "event": event.pk,
            "category": foreign.pk,
            "section": seat.section,
            "row": seat.row,
            "number": seat.number,
            "x": 0,
            "y": 0,
        },
    )

    assert response.status_code == 200
    assert "Choose a category of the seat&#x27;s own event." in response.content.decode()
    seat.refresh_from_db()
    assert seat.category_id != foreign.pk


def test_staff_can_delete_an_event_with_its_seat_map(staff_client, event):
    SeatFactory(event=event, category=event.categories.first())

    response = staff_client.post(reverse("admin:events_event_delete", args=[event.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not Seat.objects.exists()


def _small_map(event):
    platinum, gold, silver = event.categories.order_by("-price")
    seat_map_generate(
        event=event,
        spec=seat_map_spec(
            sections=("A",),
            rows_per_section=3,
            seats_per_row=2,
            category_rows=[(1, 1, platinum), (2, 2, gold), (3, 3, silver)],
        ),
    )


def test_preview_shows_the_map_and_its_counts_and_writes_nothing(staff_client, event):
    response = staff_client.post(generator_url(event), {**GENERATOR_FORM, "_preview": "Preview"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Preview: 1200 seats" in html
    assert "Platinum: 240" in html  # 5 rows x 24 seats x 2 sections
    assert html.count("<rect ") == 2 * 25  # one bar per row of each section
    assert not Seat.objects.filter(event=event).exists()


def test_staff_replace_a_seat_map_nobody_holds_or_bought(staff_client, event):
    _small_map(event)

    response = staff_client.post(generator_url(event), {**GENERATOR_FORM, "_replace": "Replace"}, follow=True)

    assert response.redirect_chain == [(change_url(event), 302)]
    assert Seat.objects.filter(event=event).count() == 1200


@pytest.mark.django_db(transaction=True)
def test_a_seat_map_with_a_held_seat_cannot_be_replaced(client, staff_user, event, fan):
    from bookings.services import seats_hold
    from bookings.tests.conftest import admit
    from events.exceptions import SeatMapInUse
    from events.services import seat_map_regenerate

    _small_map(event)
    admit(event, fan)
    seats_hold(user=fan, event=event, seat_ids=[Seat.objects.filter(event=event).order_by("pk").first().pk])
    client.force_login(staff_user)

    page = client.get(generator_url(event))
    response = client.post(generator_url(event), {**GENERATOR_FORM, "_replace": "Replace"})

    assert "cannot be replaced now" in page.content.decode()
    assert response.status_code == 200
    assert Seat.objects.filter(event=event).count() == 6
    platinum = event.categories.get(name="Platinum")
    with pytest.raises(SeatMapInUse):
        seat_map_regenerate(
            event=event,
            spec=seat_map_spec(
                sections=("Z",), rows_per_section=1, seats_per_row=1, category_rows=[(1, 1, platinum)]
            ),
        )
