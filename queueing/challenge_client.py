"""The client's side of the join challenge: what the ALTCHA widget and mobile apps do.

Tests, benchmarks and fault injection solve challenges with it. It imports nothing of Django, so
benchmark worker processes can solve many challenges in parallel.
"""

from __future__ import annotations

from typing import Any

from altcha import Challenge, Payload, solve_challenge


def challenge_solve(challenge: dict[str, Any]) -> str:
    """The ``altcha`` payload that solves ``challenge`` (the JSON of GET /api/queue/challenge)."""
    parsed = Challenge.from_dict(challenge)
    solution = solve_challenge(parsed)
    if solution is None:  # only on the library's 90 s timeout
        raise RuntimeError("The challenge could not be solved in time.")
    return Payload(parsed, solution).to_base64()
