"""How the API writes values that have more than one spelling."""

from __future__ import annotations

from datetime import UTC, datetime


def api_datetime(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, exactly as DRF's DateTimeField writes it under the API's UTC
    (``core.middleware.RequestHygieneMiddleware``): one convention on every endpoint."""
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"
