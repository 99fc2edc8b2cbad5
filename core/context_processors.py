from django.conf import settings
from django.http import HttpRequest


def caching(request: HttpRequest) -> dict[str, float]:
    """``{% cache local_cache_seconds ... using="local" %}``: shared page fragments, per process."""
    return {"local_cache_seconds": settings.LOCAL_CACHE_SECONDS}
