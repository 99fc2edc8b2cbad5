from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Count, RestrictedError
from django.utils import timezone

from core.exceptions import Conflict
from events.exceptions import SeatMapAlreadyExists, SeatMapInvalid
from events.models import Event, Seat, SeatCategory
from events.services import (
    SECTION_GAP,
    CategorySpec,
    EventSpec,
    SeatMapLayout,
    event_create,
    event_create_demo,
    row_label,
    seat_map_generate,
)
from events.tests.factories import (
    EventFactory,
    SeatCategoryFactory,
    SeatFactory,
    VenueFactory,
    categories_for,
    seat_map_spec,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    return EventFactory()


@pytest.fixture
def categories(event):
    return categories_for(event)


def demo_spec(categories, **overrides):
    platinum, gold, silver = categories
    options = {
        "sections": ("North", "East", "South", "West"),
        "rows_per_section": 25,
        "seats_per_row": 24,
        "category_rows": [(1, 5, platinum), (6, 15, gold), (16, 25, silver)],
        **overrides,
    }
    return seat_map_spec(**options)


@pytest.mark.parametrize(
    ("row_number", "label"),
    [
        (1, "A"),
        (2, "B"),
        (26, "Z"),
        (27, "AA"),
        (28, "AB"),
        (52, "AZ"),
        (53, "BA"),
        (702, "ZZ"),
        (703, "AAA"),
    ],
)
def test_row_labels_run_from_a_to_z_then_double_letters(row_number, label):
    assert row_label(row_number) == label


def test_seat_map_creates_every_seat_of_every_section(event, categories):
    created = seat_map_generate(event=event, spec=demo_spec(categories))

    assert created == 4 * 25 * 24
    assert Seat.objects.filter(event=event).count() == 2400
    per_section = dict(
        Seat.objects.filter(event=event).values_list("section").annotate(n=Count("pk")).order_by()
    )
    assert per_section == {"North": 600, "East": 600, "South": 600, "West": 600}


def test_seat_map_assigns_categories_by_row_range(event, categories):
    platinum, gold, silver = categories

    seat_map_generate(event=event, spec=demo_spec(categories))

    rows_by_category = {
        category.name: set(Seat.objects.filter(category=category).values_list("row", flat=True))
        for category in categories
    }
    assert rows_by_category == {
        "Platinum": set("ABCDE"),
        "Gold": set("FGHIJKLMNO"),
        "Silver": set("PQRSTUVWXY"),
    }
    assert Seat.objects.filter(category=platinum).count() == 4 * 5 * 24
    assert Seat.objects.filter(category=gold).count() == 4 * 10 * 24
    assert Seat.objects.filter(category=silver).count() == 4 * 10 * 24


def test_seat_map_draws_sections_side_by_side_and_rows_top_to_bottom(event, categories):
    seat_map_generate(event=event, spec=demo_spec(categories))

    def seat(section, row, number):
        return Seat.objects.get(event=event, section=section, row=row, number=number)

    assert (seat("North", "A", 1).x, seat("North", "A", 1).y) == (0, 0)
    assert (seat("North", "A", 24).x, seat("North", "A", 24).y) == (23, 0)
    assert (seat("North", "Y", 1).x, seat("North", "Y", 1).y) == (0, 24)
    assert seat("East", "A", 1).x == 24 + SECTION_GAP
    assert seat("West", "C", 5).x == 3 * (24 + SECTION_GAP) + 4
    assert seat("West", "C", 5).y == 2
    positions = Seat.objects.filter(event=event).values_list("x", "y")
    assert len(set(positions)) == 2400, "two seats drawn on the same spot"


def test_seat_map_of_ten_thousand_seats_is_one_bulk_insert_in_batches(
    event, categories, django_assert_max_num_queries
):
    platinum, gold, silver = categories
    spec = seat_map_spec(
        sections=("A", "B", "C", "D", "E"),
        rows_per_section=40,
        seats_per_row=50,
        category_rows=[(1, 10, platinum), (11, 25, gold), (26, 40, silver)],
    )

    # savepoint + event lock + "has seats?" + 5 INSERTs of 2,000 rows + release
    with django_assert_max_num_queries(9):
        created = seat_map_generate(event=event, spec=spec)

    assert created == 10_000
    assert Seat.objects.filter(event=event).count() == 10_000


def test_seat_map_is_refused_when_the_event_already_has_seats(event, categories):
    SeatFactory(event=event, category=categories[0])

    with pytest.raises(SeatMapAlreadyExists) as raised:
        seat_map_generate(event=event, spec=demo_spec(categories))

    assert isinstance(raised.value, Conflict)
    assert raised.value.status_code == 409
    assert Seat.objects.filter(event=event).count() == 1


def test_generating_twice_is_refused_and_keeps_the_first_map(event, categories):
    seat_map_generate(event=event, spec=demo_spec(categories))

    with pytest.raises(SeatMapAlreadyExists):
        seat_map_generate(event=event, spec=demo_spec(categories, seats_per_row=10))

    assert Seat.objects.filter(event=event).count() == 2400


def test_seat_map_is_refused_when_a_row_has_no_category(event, categories):
    platinum, gold, _silver = categories
    spec = demo_spec(categories, category_rows=[(1, 5, platinum), (6, 15, gold)])

    with pytest.raises(SeatMapInvalid, match=r"Rows without a category: 16, 17, .*25"):
        seat_map_generate(event=event, spec=spec)

    assert not Seat.objects.filter(event=event).exists()


def test_seat_map_is_refused_when_row_ranges_overlap(event, categories):
    platinum, gold, silver = categories
    spec = demo_spec(categories, category_rows=[(1, 5, platinum), (5, 15, gold), (16, 25, silver)])

    with pytest.raises(SeatMapInvalid, match="Row 5 is in two categories"):
        seat_map_generate(event=event, spec=spec)


def test_seat_map_is_refused_when_a_range_goes_past_the_last_row(event, categories):
    platinum, gold, silver = categories
    spec = demo_spec(categories, category_rows=[(1, 5, platinum), (6, 15, gold), (16, 30, silver)])

    with pytest.raises(SeatMapInvalid, match="16-30 is not within rows 1-25"):
        seat_map_generate(event=event, spec=spec)


def test_seat_map_is_refused_for_a_category_of_another_event(event, categories):
    platinum, gold, _silver = categories
    foreign = SeatCategoryFactory(name="Silver")
    spec = demo_spec(categories, category_rows=[(1, 5, platinum), (6, 15, gold), (16, 25, foreign)])

    with pytest.raises(SeatMapInvalid, match="does not belong to this event"):
        seat_map_generate(event=event, spec=spec)

    assert not Seat.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sections": ()}, "at least one section"),
        ({"sections": ("A", " ")}, "cannot be empty"),
        ({"sections": ("North", "north")}, "must be different"),
        ({"sections": ("X" * 41,)}, "at most 40 characters"),
        ({"rows_per_section": 0}, "Rows per section must be between"),
        ({"seats_per_row": 0}, "Seats per row must be between"),
        ({"sections": tuple(f"S{n}" for n in range(10)), "seats_per_row": 500}, "at most 100000"),
        ({"category_rows": []}, "Assign a category"),
    ],
)
def test_seat_map_is_refused_for_an_invalid_spec(event, categories, overrides, message):
    with pytest.raises(SeatMapInvalid, match=message):
        seat_map_generate(event=event, spec=demo_spec(categories, **overrides))

    assert not Seat.objects.filter(event=event).exists()


def event_spec(**overrides):
    now = timezone.now()
    options = {
        "slug": "demo-night",
        "name": "Demo Night",
        "venue": VenueFactory(),
        "starts_at": now + timedelta(days=30),
        "sale_opens_at": now - timedelta(hours=1),
        "categories": [
            CategorySpec(name="Platinum", price=Decimal("12500"), colour="#6d28d9", rows=(1, 2)),
            CategorySpec(name="Silver", price=Decimal("2500"), colour="#9ca3af", rows=(3, 4)),
        ],
        "layout": SeatMapLayout(sections=["Left", "Right"], rows_per_section=4, seats_per_row=5),
        **overrides,
    }
    return EventSpec(**options)


def test_event_create_makes_the_event_its_categories_and_seat_map():
    event = event_create(spec=event_spec(queue_settings={"admission_batch_size": 20}))

    assert event.status == Event.Status.PUBLISHED
    assert event.admission_batch_size == 20
    assert list(event.categories.values_list("name", "price", "sort_order")) == [
        ("Platinum", Decimal("12500.00"), 0),
        ("Silver", Decimal("2500.00"), 1),
    ]
    assert event.seats.count() == 2 * 4 * 5
    assert event.seats.filter(category__name="Platinum", row__in=["A", "B"]).count() == 20


def test_event_create_refuses_a_sale_opening_after_the_show_and_saves_nothing():
    now = timezone.now()

    with pytest.raises(ValidationError):
        event_create(
            spec=event_spec(starts_at=now + timedelta(days=1), sale_opens_at=now + timedelta(days=2))
        )

    assert not Event.objects.exists()


def test_event_create_demo_keeps_an_existing_event_untouched():
    first, created_first = event_create_demo(spec=event_spec())

    second, created_second = event_create_demo(spec=event_spec(name="Renamed", layout=None))

    assert (created_first, created_second) == (True, False)
    assert second.pk == first.pk
    second.refresh_from_db()
    assert second.name == "Demo Night"
    assert Event.objects.count() == 1
    assert Seat.objects.count() == 40


def test_deleting_an_event_removes_its_categories_and_seat_map(event, categories):
    seat_map_generate(event=event, spec=demo_spec(categories))

    event.delete()

    assert not Seat.objects.exists()
    assert not SeatCategory.objects.filter(pk__in=[category.pk for category in categories]).exists()


def test_a_category_with_seats_cannot_be_deleted_on_its_own(event, categories):
    seat_map_generate(event=event, spec=demo_spec(categories))

    with pytest.raises(RestrictedError):
        categories[0].delete()

    assert Seat.objects.filter(event=event).count() == 2400
