from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, path


def api_path(route: str, view: Callable[..., Any], name: str) -> list[URLPattern]:
    """Serve an API route exactly as written and with a trailing slash, without a redirect.

    Mobile clients of the original service call paths without a slash; a 301 would drop POST bodies.
    """
    return [path(route, view, name=name), path(f"{route}/", view)]
