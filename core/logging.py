"""Structured logs through structlog: JSON lines in production, readable text for ``make run``.

Every line, also from plain ``logging.getLogger(...)`` calls in the apps and libraries, goes through
the same processors, so each carries the request id and, once known, the fan's id
(``core.metrics.add_request_context``).
"""

from __future__ import annotations

from typing import Any

import structlog


def _shared_processors() -> list[Any]:
    from core.metrics import add_request_context

    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_request_context,
    ]


def structured_logging(*, log_format: str, level: str) -> dict[str, Any]:
    """The LOGGING setting, and structlog configured to hand its events to the same handlers."""
    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = {
        "()": structlog.stdlib.ProcessorFormatter,
        "processors": [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *([structlog.processors.format_exc_info] if log_format == "json" else []),
            renderer,
        ],
        "foreign_pre_chain": _shared_processors(),
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.db.backends": {"level": "WARNING"}},
    }
