"""JSON request bodies, read the same way on every endpoint (DRF views and the queue fast path).

Python's decoder recurses once per nesting level: ``"[" * 5000`` is a ``RecursionError`` (a 500), and
a few hundred levels already cost stack and time for nothing. No body of ours nests deeper than a
handful of levels, so ``parse_json`` refuses anything deeper than ``MAX_JSON_DEPTH`` before decoding,
refuses NUL characters (PostgreSQL cannot store them) and ``NaN``/``Infinity`` (not JSON).
"""

from __future__ import annotations

import json
import re
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_JSON_DEPTH = 32

# A JSON string (the "unrolled loop" form: linear time, no catastrophic backtracking).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
_ESCAPED_NUL = re.compile(rb"\\u0000", re.IGNORECASE)


class JSONBodyError(ValueError):
    """The body is not JSON we accept; the message says why (safe to show)."""


def _too_deep(body: bytes, limit: int) -> bool:
    if body.count(b"[") + body.count(b"{") <= limit:  # the common case: cannot be too deep
        return False
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _refuse_constant(name: str) -> Any:
    raise JSONBodyError(f"{name} is not valid JSON.")


def parse_json(body: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Decode a request body, or raise ``JSONBodyError``. An empty body is an error too."""
    if not body.strip():
        raise JSONBodyError("The request body is empty.")
    if _too_deep(body, max_depth):
        raise JSONBodyError(f"JSON nested deeper than {max_depth} levels is not accepted.")
    try:
        data = json.loads(body, parse_constant=_refuse_constant)
    except JSONBodyError:
        raise
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise JSONBodyError(f"JSON parse error - {exc}") from None
    if (b"\x00" in body or _ESCAPED_NUL.search(body)) and _has_nul(data):
        raise JSONBodyError("NUL characters are not allowed.")
    return data


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser on ``parse_json``: the same rules as the fast path."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        body = stream.read() if stream is not None else b""
        try:
            return parse_json(body)
        except JSONBodyError as exc:
            raise ParseError(str(exc)) from None
