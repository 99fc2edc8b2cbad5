from decimal import Decimal

import pytest

from events.money import minor_units_display, price_display, price_to_minor_units


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        (Decimal("2500.00"), "INR", 250000),
        (Decimal("12500"), "INR", 1250000),
        (Decimal("0.10"), "USD", 10),
        (Decimal("19.995"), "EUR", 2000),
        (Decimal("1500"), "JPY", 1500),
    ],
)
def test_prices_convert_exactly_to_minor_units(amount, currency, minor):
    assert price_to_minor_units(amount, currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency", "label"),
    [
        (Decimal("2500.00"), "INR", "₹2,500"),
        (Decimal("12500.00"), "inr", "₹12,500"),
        (Decimal("99.50"), "USD", "$99.50"),
        (Decimal("2500.00"), "CHF", "2,500 CHF"),
    ],
)
def test_prices_display_with_symbol_and_thousands_separator(amount, currency, label):
    assert price_display(amount, currency) == label


@pytest.mark.parametrize(
    ("minor", "currency", "label"),
    [
        (2_500_000, "INR", "₹25,000"),
        (9950, "USD", "$99.50"),
        (5000, "JPY", "5,000 JPY"),
        (1, "EUR", "€0.01"),
    ],
)
def test_minor_units_are_shown_in_the_currency_not_raw(minor, currency, label):
    assert minor_units_display(minor, currency) == label
