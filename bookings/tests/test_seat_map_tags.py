"""The seat map's colours: a seat's number stays readable on whatever colour staff choose."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bookings.templatetags.seat_map_tags import category_colours, ink_for


def _contrast(first: str, second: str) -> float:
    from bookings.templatetags.seat_map_tags import _relative_luminance

    lighter, darker = sorted((_relative_luminance(first), _relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@pytest.mark.parametrize(
    ("colour", "ink"),
    [
        ("#6d28d9", "#fff"),
        ("#d4a017", "#111111"),
        ("#9ca3af", "#111111"),
        ("#000080", "#fff"),
        ("#ffffff", "#111111"),
    ],
)
def test_each_category_colour_gets_the_more_readable_text_colour(colour, ink):
    assert ink_for(colour) == ink


@pytest.mark.parametrize(
    "colour", ["#6d28d9", "#d4a017", "#9ca3af", "#777777", "#0e9384", "#e11d48", "#1d4ed8"]
)
def test_seat_numbers_meet_wcag_aa_contrast_on_common_colours(colour):
    ink = "#ffffff" if ink_for(colour) == "#fff" else ink_for(colour)
    # 4.5:1 is AA for small text; mid-greys cannot reach it with either ink, but get the best one.
    assert _contrast(colour, ink) >= 4.5 or colour == "#777777"
    assert _contrast(colour, ink) >= _contrast(colour, "#111111" if ink == "#ffffff" else "#ffffff")


def test_category_rules_carry_colour_ink_and_the_legends_any_category_swatch():
    categories = [SimpleNamespace(id=1, colour="#6d28d9"), SimpleNamespace(id=2, colour="not a colour")]

    css = category_colours(categories)

    assert ".seat-page .c1{--cat:#6d28d9;--cat-ink:#fff}" in css
    assert ".seat-page .c2{--cat:#9e9e9e;--cat-ink:#111111}" in css  # invalid colours fall back
    assert ".legend-any-category{--cat:linear-gradient(90deg,#6d28d9 0% 50%,#9e9e9e 50% 100%)}" in css
