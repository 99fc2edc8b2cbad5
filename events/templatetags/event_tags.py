from decimal import Decimal

from django import template

from events.money import price_display

register = template.Library()


@register.filter
def price(amount: Decimal | None, currency: str) -> str:
    """{{ category.price|price:category.currency }} -> "₹2,500"."""
    if amount is None:
        return ""
    return price_display(amount, currency)
