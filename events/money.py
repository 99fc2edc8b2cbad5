"""Prices: integer minor units for payment providers and the API, and a readable label for pages."""

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 currencies without a minor unit (Stripe's "zero-decimal" list, the ones we may meet).
ZERO_DECIMAL_CURRENCIES = frozenset({"BIF", "CLP", "JPY", "KRW", "PYG", "RWF", "UGX", "VND", "XAF", "XOF"})
CURRENCY_SYMBOLS = {"INR": "₹", "USD": "$", "EUR": "€", "GBP": "£"}


def price_to_minor_units(amount: Decimal, currency: str) -> int:
    """2500.00 INR -> 250000 (paise). Exact: Decimal arithmetic, never float."""
    exponent = 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2
    scaled = (amount * (10**exponent)).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    return int(scaled)


def price_display(amount: Decimal, currency: str) -> str:
    """2500.00 INR -> "₹2,500"; 99.50 USD -> "$99.50"; unknown currencies -> "2,500 CHF"."""
    number = f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    return f"{symbol}{number}" if symbol else f"{number} {currency.upper()}"


def minor_units_to_price(amount_minor: int, currency: str) -> Decimal:
    """250000 INR (paise) -> Decimal("2500.00"); 5000 JPY -> Decimal("5000"). The inverse of the above."""
    exponent = 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2
    return Decimal(amount_minor).scaleb(-exponent)


def minor_units_display(amount_minor: int, currency: str) -> str:
    """250000 INR -> "₹2,500": what payments and refunds (stored in minor units) show to people."""
    return price_display(minor_units_to_price(amount_minor, currency), currency)
