"""Writes for events: venues, events with their categories, and generated seat maps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from events.exceptions import SeatMapAlreadyExists, SeatMapInUse, SeatMapInvalid
from events.models import Event, Seat, SeatCategory, Venue

# Empty seat-sized columns drawn between two sections of the seat map.
SECTION_GAP = 2
MAX_SEATS_PER_MAP = 100_000
MAX_ROWS_PER_SECTION = 500
MAX_SEATS_PER_ROW = 500
SEAT_BULK_BATCH_SIZE = 2000
_SECTION_MAX_LENGTH = Seat._meta.get_field("section").max_length or 40


@dataclass(frozen=True)
class CategoryRowRange:
    """Rows `first_row`..`last_row` (1-based, inclusive) of every section are in `category`."""

    first_row: int
    last_row: int
    category: SeatCategory


@dataclass(frozen=True)
class SeatMapSpec:
    sections: Sequence[str]
    rows_per_section: int
    seats_per_row: int
    category_rows: Sequence[CategoryRowRange]

    @property
    def seat_count(self) -> int:
        return len(self.sections) * self.rows_per_section * self.seats_per_row


@dataclass(frozen=True)
class CategorySpec:
    """A category to create with an event; `rows` places it on the generated seat map."""

    name: str
    price: Decimal
    colour: str
    currency: str = "INR"
    rows: tuple[int, int] | None = None


@dataclass(frozen=True)
class SeatMapLayout:
    sections: Sequence[str]
    rows_per_section: int
    seats_per_row: int


@dataclass(frozen=True)
class EventSpec:
    slug: str
    name: str
    venue: Venue
    starts_at: datetime
    sale_opens_at: datetime
    categories: Sequence[CategorySpec]
    layout: SeatMapLayout | None = None
    description: str = ""
    sale_closes_at: datetime | None = None
    status: str = Event.Status.PUBLISHED
    queue_settings: dict[str, int] = field(default_factory=dict)


def row_label(row_number: int) -> str:
    """1 -> "A", 26 -> "Z", 27 -> "AA", 28 -> "AB" (spreadsheet column style)."""
    if row_number < 1:
        raise ValueError("Row numbers start at 1.")
    label = ""
    while row_number:
        row_number, remainder = divmod(row_number - 1, 26)
        label = chr(ord("A") + remainder) + label
    return label


def seat_map_spec_validate(*, event: Event, spec: SeatMapSpec) -> None:
    """Raise SeatMapInvalid (with a message a staff member can act on) unless `spec` is usable."""
    sections = [section.strip() for section in spec.sections]
    if not sections:
        raise SeatMapInvalid(_("Give at least one section."))
    if any(not section for section in sections):
        raise SeatMapInvalid(_("Section names cannot be empty."))
    too_long = [section for section in sections if len(section) > _SECTION_MAX_LENGTH]
    if too_long:
        raise SeatMapInvalid(
            _("Section names can have at most %(max)d characters: %(names)s.")
            % {"max": _SECTION_MAX_LENGTH, "names": ", ".join(too_long)}
        )
    if len({section.casefold() for section in sections}) != len(sections):
        raise SeatMapInvalid(_("Section names must be different from each other."))
    if not 1 <= spec.rows_per_section <= MAX_ROWS_PER_SECTION:
        raise SeatMapInvalid(
            _("Rows per section must be between 1 and %(max)d.") % {"max": MAX_ROWS_PER_SECTION}
        )
    if not 1 <= spec.seats_per_row <= MAX_SEATS_PER_ROW:
        raise SeatMapInvalid(_("Seats per row must be between 1 and %(max)d.") % {"max": MAX_SEATS_PER_ROW})
    if spec.seat_count > MAX_SEATS_PER_MAP:
        raise SeatMapInvalid(
            _("That makes %(count)d seats; a seat map can have at most %(max)d.")
            % {"count": spec.seat_count, "max": MAX_SEATS_PER_MAP}
        )
    _validate_category_rows(event=event, spec=spec)


def _validate_category_rows(*, event: Event, spec: SeatMapSpec) -> None:
    if not spec.category_rows:
        raise SeatMapInvalid(_("Assign a category to the rows."))
    category_of_row: dict[int, str] = {}
    for row_range in spec.category_rows:
        if row_range.category.event_id != event.pk:
            raise SeatMapInvalid(
                _("Category “%(name)s” does not belong to this event.") % {"name": row_range.category.name}
            )
        if not 1 <= row_range.first_row <= row_range.last_row <= spec.rows_per_section:
            raise SeatMapInvalid(
                _("Row range %(first)d-%(last)d is not within rows 1-%(rows)d.")
                % {"first": row_range.first_row, "last": row_range.last_row, "rows": spec.rows_per_section}
            )
        for row in range(row_range.first_row, row_range.last_row + 1):
            if row in category_of_row:
                raise SeatMapInvalid(
                    _("Row %(row)d is in two categories (%(first)s and %(second)s).")
                    % {"row": row, "first": category_of_row[row], "second": row_range.category.name}
                )
            category_of_row[row] = row_range.category.name
    missing = [row for row in range(1, spec.rows_per_section + 1) if row not in category_of_row]
    if missing:
        raise SeatMapInvalid(
            _("Rows without a category: %(rows)s.") % {"rows": ", ".join(str(row) for row in missing)}
        )


def _seats_for(*, event: Event, spec: SeatMapSpec) -> list[Seat]:
    category_of_row = {
        row: row_range.category
        for row_range in spec.category_rows
        for row in range(row_range.first_row, row_range.last_row + 1)
    }
    labels = {row: row_label(row) for row in category_of_row}
    section_width = spec.seats_per_row + SECTION_GAP
    return [
        Seat(
            event=event,
            category=category_of_row[row],
            section=section.strip(),
            row=labels[row],
            number=number,
            x=section_index * section_width + number - 1,
            y=row - 1,
        )
        for section_index, section in enumerate(spec.sections)
        for row in range(1, spec.rows_per_section + 1)
        for number in range(1, spec.seats_per_row + 1)
    ]


@transaction.atomic
def seat_map_generate(*, event: Event, spec: SeatMapSpec) -> int:
    """Create every seat of `spec` for an event that has none yet; return how many were created.

    Sections are drawn side by side (left to right, SECTION_GAP columns apart), rows top to bottom
    labelled A, B, ... Z, AA, ...; seats are numbered from 1 in each row.
    """
    seat_map_spec_validate(event=event, spec=spec)
    # Lock the event row first (the global lock order starts at the event) so two staff members
    # generating at once cannot both pass the "no seats yet" check.
    Event.objects.select_for_update().filter(pk=event.pk).values_list("pk", flat=True).get()
    if Seat.objects.filter(event=event).exists():
        raise SeatMapAlreadyExists()
    seats = Seat.objects.bulk_create(_seats_for(event=event, spec=spec), batch_size=SEAT_BULK_BATCH_SIZE)
    return len(seats)


@transaction.atomic
def seat_map_regenerate(*, event: Event, spec: SeatMapSpec) -> int:
    """Replace the event's seats by those of `spec`, only while no seat is held or on any booking.

    Booking lines keep their seats for the record (refunds, tickets), so a seat that was ever booked
    blocks a replacement; expired hold rows are tidied away. Returns how many seats were created.
    """
    from bookings.models import BookingItem, SeatHold  # bookings depends on events, not the reverse

    seat_map_spec_validate(event=event, spec=spec)
    # The event row first (the global lock order): holds and bookings lock it too before seats.
    Event.objects.select_for_update().filter(pk=event.pk).values_list("pk", flat=True).get()
    now = timezone.now()
    if (
        SeatHold.objects.filter(event=event, expires_at__gt=now).exists()
        or BookingItem.objects.filter(seat__event=event).exists()
    ):
        raise SeatMapInUse()
    SeatHold.objects.filter(event=event).delete()
    Seat.objects.filter(event=event).delete()
    seats = Seat.objects.bulk_create(_seats_for(event=event, spec=spec), batch_size=SEAT_BULK_BATCH_SIZE)
    return len(seats)


def seat_map_in_use(*, event: Event) -> bool:
    """Whether a seat of the event is held now or on a booking (the map can then not be replaced)."""
    from bookings.models import BookingItem, SeatHold

    return (
        SeatHold.objects.filter(event=event, expires_at__gt=timezone.now()).exists()
        or BookingItem.objects.filter(seat__event=event).exists()
    )


@dataclass(frozen=True)
class PreviewRow:
    section: str
    row: str
    category: str
    colour: str
    seats: int
    x: int
    y: int


@dataclass(frozen=True)
class SeatMapPreview:
    rows: list[PreviewRow]
    seats_per_category: list[tuple[str, str, int]]
    width: int
    height: int
    seat_count: int


def seat_map_preview(*, event: Event, spec: SeatMapSpec) -> SeatMapPreview:
    """What `spec` would generate, without writing: one bar per row of each section, and counts."""
    seat_map_spec_validate(event=event, spec=spec)
    category_of_row = {
        row: row_range.category
        for row_range in spec.category_rows
        for row in range(row_range.first_row, row_range.last_row + 1)
    }
    section_width = spec.seats_per_row + SECTION_GAP
    rows = [
        PreviewRow(
            section=section.strip(),
            row=row_label(row),
            category=category_of_row[row].name,
            colour=category_of_row[row].colour,
            seats=spec.seats_per_row,
            x=index * section_width,
            y=row - 1,
        )
        for index, section in enumerate(spec.sections)
        for row in range(1, spec.rows_per_section + 1)
    ]
    counts: dict[int, tuple[str, str, int]] = {}
    for row_range in spec.category_rows:
        category = row_range.category
        name, colour, seats = counts.get(category.pk, (category.name, category.colour, 0))
        rows_in_range = row_range.last_row - row_range.first_row + 1
        counts[category.pk] = (name, colour, seats + rows_in_range * spec.seats_per_row * len(spec.sections))
    return SeatMapPreview(
        rows=rows,
        seats_per_category=list(counts.values()),
        width=len(spec.sections) * section_width - SECTION_GAP,
        height=spec.rows_per_section,
        seat_count=spec.seat_count,
    )


def venue_get_or_create(*, name: str, city: str, address: str = "") -> tuple[Venue, bool]:
    return Venue.objects.get_or_create(name=name, city=city, defaults={"address": address})


@transaction.atomic
def event_create(*, spec: EventSpec) -> Event:
    """Create an event with its categories and, when `spec.layout` is given, its seat map."""
    event = Event(
        slug=spec.slug,
        name=spec.name,
        description=spec.description,
        venue=spec.venue,
        starts_at=spec.starts_at,
        sale_opens_at=spec.sale_opens_at,
        sale_closes_at=spec.sale_closes_at,
        status=spec.status,
        **spec.queue_settings,
    )
    event.full_clean()
    event.save()
    categories: dict[str, SeatCategory] = {}
    for sort_order, category_spec in enumerate(spec.categories):
        category = SeatCategory(
            event=event,
            name=category_spec.name,
            price=category_spec.price,
            currency=category_spec.currency,
            colour=category_spec.colour,
            sort_order=sort_order,
        )
        category.full_clean()
        category.save()
        categories[category.name] = category
    if spec.layout is not None:
        row_ranges = [
            CategoryRowRange(first_row=c.rows[0], last_row=c.rows[1], category=categories[c.name])
            for c in spec.categories
            if c.rows is not None
        ]
        seat_map_generate(
            event=event,
            spec=SeatMapSpec(
                sections=spec.layout.sections,
                rows_per_section=spec.layout.rows_per_section,
                seats_per_row=spec.layout.seats_per_row,
                category_rows=row_ranges,
            ),
        )
    return event


def event_create_demo(*, spec: EventSpec) -> tuple[Event, bool]:
    """The event with `spec.slug` if it exists (left untouched), else a new one: (event, created)."""
    existing = Event.objects.filter(slug=spec.slug).first()
    if existing is not None:
        return existing, False
    return event_create(spec=spec), True
