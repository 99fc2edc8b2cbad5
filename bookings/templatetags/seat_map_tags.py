"""The seat map's drawing: thousands of seat buttons, built in one pass in Python.

A Django template loop costs tens of microseconds per seat (each variable, filter and ``{% if %}`` is
resolved at render time); a 5,000-seat venue would take a quarter of a second that way. Here each section,
row and category label is escaped once and every seat is one f-string, so a 5,000-seat map renders in a
few milliseconds (``bench/bench_seats.py`` measures it).

Markup of a seat (``static/js/seatmap.js`` relies on it)::

    <button id="s123" class="c7 s-available" style="grid-area:3/14" aria-pressed="false"
            aria-label="Section North, Row C, Seat 12, Gold ₹7,500, available">12</button>

``s-<status>`` is the state (available / held / held_by_me / sold); the text after the last ", " of the
label names it (so no state text contains ", "). ``c<id>`` is the seat category (its colour).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from bookings.selectors import SeatStatus, SeatView
from events.money import price_display

register = template.Library()

STATE_TEXT = {
    SeatStatus.AVAILABLE: "available",
    SeatStatus.HELD: "held by another fan",
    SeatStatus.HELD_BY_ME: "selected by you",
    SeatStatus.SOLD: "sold",
}
# Toggle buttons announce whether they are pressed; seats nobody can pick are marked disabled (but stay
# focusable, so their label can still be read).
_STATE_ATTRIBUTES = {
    SeatStatus.AVAILABLE: ' aria-pressed="false"',
    SeatStatus.HELD: ' aria-disabled="true"',
    SeatStatus.HELD_BY_ME: ' aria-pressed="true"',
    SeatStatus.SOLD: ' aria-disabled="true"',
}
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
FALLBACK_COLOUR = "#9e9e9e"


def safe_colour(colour: str) -> str:
    return colour if _HEX_COLOUR.match(colour or "") else FALLBACK_COLOUR


@dataclass(frozen=True, slots=True)
class _SeatMarkup:
    """What a seat's button needs besides its state, so one seat can be drawn again in another state."""

    seat_id: int
    number: str
    category_id: int
    grid_area: str
    label_prefix: str  # "Section N, Row C, Seat 12, Gold ₹7,500"


def _button(seat: _SeatMarkup, status: str) -> str:
    return (
        f'<button id="s{seat.seat_id}" class="c{seat.category_id} s-{status}" '
        f'style="grid-area:{seat.grid_area}" '
        f'aria-label="{seat.label_prefix}, {STATE_TEXT[status]}"'
        f"{_STATE_ATTRIBUTES[status]}>{seat.number}</button>"
    )


@dataclass(frozen=True)
class DrawnSeats:
    """A drawn map, kept as pieces so that a fan's own seats can be drawn as theirs on a map drawn for
    everyone (``html(held_by_me=…)``), without drawing the other seats again."""

    parts: tuple[str, ...]
    seats: dict[int, tuple[int, _SeatMarkup]]  # seat id -> (its piece, how to draw it again)

    def html(self, *, held_by_me: Iterable[int] = ()) -> SafeString:
        parts = list(self.parts)
        for seat_id in held_by_me:
            found = self.seats.get(seat_id)
            if found is not None:
                index, seat = found
                parts[index] = _button(seat, SeatStatus.HELD_BY_ME)
        return mark_safe("".join(parts))  # noqa: S308 - every value is escaped or a number (draw_seats)


def _draw_section(
    section: str,
    seats: Sequence[SeatView],
    category_labels: dict[int, str],
    parts: list[str],
    markup: dict[int, tuple[int, _SeatMarkup]],
) -> None:
    min_x = min(seat.x for seat in seats)
    max_x = max(seat.x for seat in seats)
    min_y = min(seat.y for seat in seats)
    name = escape(section)
    parts.append(
        f'<section class="seat-section" data-section="{name}">'
        f'<h3 class="seat-section-name">Section {name}</h3>'
        f'<div class="seat-grid" role="group" aria-label="Section {name}" '
        f'style="grid-template-columns:var(--row-label) repeat({max_x - min_x + 1},var(--seat))">'
    )
    append = parts.append
    current_y = None
    prefix = ""
    for seat in seats:  # in drawing order: by y, then x
        grid_row = seat.y - min_y + 1
        if seat.y != current_y:
            current_y = seat.y
            row = escape(seat.row)
            prefix = f"Section {name}, Row {row}, Seat "
            append(f'<span class="row-label" style="grid-area:{grid_row}/1" aria-hidden="true">{row}</span>')
        drawn = _SeatMarkup(
            seat_id=seat.id,
            number=str(seat.number),
            category_id=seat.category_id,
            grid_area=f"{grid_row}/{seat.x - min_x + 2}",
            label_prefix=f"{prefix}{seat.number}, {category_labels[seat.category_id]}",
        )
        markup[seat.id] = (len(parts), drawn)
        append(_button(drawn, seat.status))
    append("</div></section>")


def draw_seats(seats: Iterable[SeatView]) -> DrawnSeats:
    """Every seat as a focusable button on a CSS grid per section, sections left to right as the venue
    draws them (by their leftmost seat), each in ``seat_map_for_event``'s order (by y, then x)."""
    category_labels: dict[int, str] = {}
    sections = []
    for section, group in groupby(seats, key=lambda seat: seat.section):
        section_seats = list(group)
        for seat in section_seats:
            if seat.category_id not in category_labels:
                price = price_display(seat.price, seat.currency)
                category_labels[seat.category_id] = escape(f"{seat.category_name} {price}")
        sections.append((min(seat.x for seat in section_seats), section, section_seats))
    sections.sort(key=lambda item: (item[0], item[1]))
    parts: list[str] = []
    markup: dict[int, tuple[int, _SeatMarkup]] = {}
    for _x, name, section_seats in sections:
        _draw_section(name, section_seats, category_labels, parts, markup)
    return DrawnSeats(parts=tuple(parts), seats=markup)


def _relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a ``#rrggbb`` colour."""
    channels = []
    for start in (1, 3, 5):
        value = int(colour[start : start + 2], 16) / 255
        channels.append(value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def ink_for(colour: str) -> str:
    """The text colour (near-black or white) with the higher contrast on ``colour``: staff choose
    category colours freely, and a seat's number must stay readable on it (WCAG 1.4.3)."""
    background = _relative_luminance(safe_colour(colour))
    on_dark = (1.05) / (background + 0.05)  # white text
    on_light = (background + 0.05) / (_relative_luminance(DARK_INK) + 0.05)
    return "#fff" if on_dark > on_light else DARK_INK


DARK_INK = "#111111"


@register.simple_tag
def category_colours(categories: Iterable) -> SafeString:
    """CSS rules giving each category class its colour and a readable text colour, and the legend's
    "any category" swatch (stripes of every category colour): {% category_colours categories %}."""
    categories = list(categories)
    colours = [safe_colour(c.colour) for c in categories]
    rules = "".join(
        f".seat-page .c{int(c.id)}{{--cat:{colour};--cat-ink:{ink_for(colour)}}}"
        for c, colour in zip(categories, colours, strict=True)
    )
    if colours:
        step = 100 / len(colours)
        stops = ",".join(
            f"{colour} {index * step:.0f}% {(index + 1) * step:.0f}%" for index, colour in enumerate(colours)
        )
        rules += f".seat-page .legend-any-category{{--cat:linear-gradient(90deg,{stops})}}"
    return mark_safe(rules)  # noqa: S308 - integer ids and validated hex colours only
