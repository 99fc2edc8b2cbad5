"""Staff forms: the seat-map generator."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from events.exceptions import SeatMapInvalid
from events.models import Event, SeatCategory
from events.services import (
    MAX_ROWS_PER_SECTION,
    MAX_SEATS_PER_ROW,
    CategoryRowRange,
    SeatMapSpec,
    seat_map_spec_validate,
)

# "1-5 Platinum", "6 - 15 Gold", "16 Silver" (a single row); en and em dashes work as well as hyphens.
_ROW_RANGE_LINE = re.compile(
    r"^\s*(?P<first>\d+)\s*(?:[-\u2013\u2014]\s*(?P<last>\d+))?\s+(?P<name>\S.*?)\s*$"
)


def suggested_category_rows(categories: list[SeatCategory], rows_per_section: int) -> str:
    """Split the rows evenly, most expensive category at the front: a starting point staff can edit."""
    if not categories or rows_per_section < len(categories):
        return ""
    ordered = sorted(categories, key=lambda category: category.price, reverse=True)
    size, extra = divmod(rows_per_section, len(ordered))
    lines, first = [], 1
    for index, category in enumerate(ordered):
        last = first + size - 1 + (1 if index >= len(ordered) - extra else 0)
        lines.append(f"{first}-{last} {category.name}")
        first = last + 1
    return "\n".join(lines)


class SeatMapForm(forms.Form):
    sections = forms.CharField(
        label=_("Sections"),
        help_text=_("Comma-separated names, drawn left to right, e.g. “North, East, South, West”."),
        max_length=1000,
    )
    rows_per_section = forms.IntegerField(
        label=_("Rows per section"), min_value=1, max_value=MAX_ROWS_PER_SECTION, initial=25
    )
    seats_per_row = forms.IntegerField(
        label=_("Seats per row"), min_value=1, max_value=MAX_SEATS_PER_ROW, initial=24
    )
    category_rows = forms.CharField(
        label=_("Categories by row"),
        widget=forms.Textarea(attrs={"rows": 5, "cols": 40}),
        help_text=_(
            "One range per line, front row is 1: “1-5 Platinum”, “6-15 Gold”, “16-25 Silver”. "
            "Every row needs exactly one category."
        ),
    )

    def __init__(self, *args: Any, event: Event, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.event = event
        self.categories = list(event.categories.all())
        if not self.is_bound:
            self.initial.setdefault("sections", "A, B, C, D")
            self.initial.setdefault(
                "category_rows",
                suggested_category_rows(self.categories, self.fields["rows_per_section"].initial),
            )

    def clean_sections(self) -> list[str]:
        names = [name.strip() for name in self.cleaned_data["sections"].split(",")]
        names = [name for name in names if name]
        if not names:
            raise forms.ValidationError(_("Give at least one section name."))
        return names

    def clean_category_rows(self) -> list[tuple[int, int, SeatCategory]]:
        by_name = {category.name.casefold(): category for category in self.categories}
        if not by_name:
            raise forms.ValidationError(_("Add seat categories to the event (and save it) first."))
        ranges, errors = [], []
        for line in self.cleaned_data["category_rows"].splitlines():
            if not line.strip():
                continue
            match = _ROW_RANGE_LINE.match(line)
            if match is None:
                errors.append(_("“%(line)s” is not like “1-5 Platinum”.") % {"line": line.strip()})
                continue
            first = int(match["first"])
            last = int(match["last"] or first)
            category = by_name.get(match["name"].casefold())
            if category is None:
                errors.append(
                    _("“%(name)s” is not a category of this event (it has: %(names)s).")
                    % {"name": match["name"], "names": ", ".join(c.name for c in self.categories)}
                )
                continue
            if first > last:
                errors.append(_("“%(line)s”: the first row comes after the last.") % {"line": line.strip()})
                continue
            ranges.append((first, last, category))
        if errors:
            raise forms.ValidationError(errors)
        if not ranges:
            raise forms.ValidationError(_("Assign a category to the rows."))
        return ranges

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        try:
            seat_map_spec_validate(event=self.event, spec=self.spec)
        except SeatMapInvalid as error:
            raise forms.ValidationError(error.message) from error
        return cleaned

    @property
    def spec(self) -> SeatMapSpec:
        data = self.cleaned_data
        return SeatMapSpec(
            sections=data["sections"],
            rows_per_section=data["rows_per_section"],
            seats_per_row=data["seats_per_row"],
            category_rows=[
                CategoryRowRange(first_row=first, last_row=last, category=category)
                for first, last, category in data["category_rows"]
            ],
        )
