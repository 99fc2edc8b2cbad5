from decimal import Decimal

import pytest

from events.money import price_display, price_to_minor_units


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
