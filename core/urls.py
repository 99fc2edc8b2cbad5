"""URL helpers of the API: routes with and without a trailing slash, and the ``id`` converter."""

from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, path, register_converter

# Ids are ASCII digits only (``str.isdigit`` also accepts "²" and "٣", which ``int`` then refuses or
# reads as 3), and at most 18 of them: every such number fits PostgreSQL's bigint.
ID_REGEX = "[0-9]{1,18}"
_ID_CHARACTERS = frozenset("0123456789")


def is_id(value: str) -> bool:
    """Whether ``value`` is an id as the API spells it (what the ``id`` path converter accepts)."""
    return 0 < len(value) <= 18 and _ID_CHARACTERS.issuperset(value)


class IdConverter:
    regex = ID_REGEX

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")


def api_path(route: str, view: Callable[..., Any], name: str) -> list[URLPattern]:
    """Serve an API route exactly as written and with a trailing slash, without a redirect.

    Mobile clients of the original service call paths without a slash; a 301 would drop POST bodies.
    """
    return [path(route, view, name=name), path(f"{route}/", view)]
