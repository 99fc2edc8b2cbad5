"""The proof-of-work challenge a fan solves to join a queue (ALTCHA, self-hosted: no third party).

Why: a scalper's script joins from thousands of accounts; each new place now costs the client CPU
work, while checking it costs the server microseconds (two HMACs, no key derivation).

- ``challenge_issue(user_id=, event=) -> dict`` — a signed ALTCHA challenge (PoW v2, ``SHA-256``, one
  round per attempt) in the JSON the widget (``static/vendor/altcha/``) and mobile clients solve. It is
  *deterministic*: the server picks the counter the client must find below the current difficulty, so
  the expected work is half the difficulty and the server checks a solution by an HMAC of its key.
  Its signed ``data`` binds it to the fan and the event; it expires after
  ``QUEUE_CHALLENGE_EXPIRY_SECONDS``.
- ``challenge_redeem(user_id=, event=, payload=)`` / ``achallenge_redeem`` — the one check, for the
  page, the DRF view and the API's fast path: ``ChallengeRequired`` (no payload) or ``ChallengeInvalid``
  (bad, expired, for another fan or event, or already used) — 400 in the error envelope. A solution is
  single-use: its nonce is claimed in Redis with ``SET NX`` for as long as the challenge lives
  (one Lua script that also counts the join for the spike rule).
  Nothing to check when the event's difficulty is 0.
- ``challenge_difficulty(event=) -> int`` — the event's difficulty (admin) raised by the spike rule:
  joins that passed a challenge are counted per event and minute in Redis (in the same round trip as
  the claim); at ``QUEUE_CHALLENGE_SPIKE_JOINS_PER_MINUTE`` joins in the current or the previous minute
  the difficulty doubles, and doubles again each time the rate doubles, up to
  ``QUEUE_CHALLENGE_SPIKE_MAX_FACTOR`` times the event's.

A challenge issued before a spike keeps its difficulty until it expires; a fan already queued is never
asked (the views return their place before calling ``challenge_redeem``).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import math
import secrets
import time
from dataclasses import dataclass
from typing import Any

from altcha import Payload, create_challenge
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.exceptions import ApplicationError
from events.models import Event
from queueing.redis_queue import arun_claim_solution, queue_redis, run_claim_solution

ALGORITHM = "SHA-256"
_USED_PREFIX = "turnstile:challenge:used"
_JOINS_PREFIX = "turnstile:challenge:joins"
_MAX_PAYLOAD = 4096


class ChallengeRequired(ApplicationError):
    code = "CHALLENGE_REQUIRED"
    default_message = _(
        "Joining this queue needs a short check that proves a person's device is here: your browser "
        "runs it by itself (JavaScript must be on). Apps get one from GET /api/queue/challenge."
    )


class ChallengeInvalid(ApplicationError):
    """``details.reason``: ``malformed``, ``expired``, ``wrong_fan``, ``wrong_event`` or ``used``."""

    code = "CHALLENGE_INVALID"
    default_message = _("The check that lets you join did not pass (it may have expired). Please try again.")


def _secrets() -> tuple[str, str]:
    """(challenge-signing key, derived-key-signing key), from QUEUE_CHALLENGE_SECRET or SECRET_KEY."""
    return _secrets_from(settings.QUEUE_CHALLENGE_SECRET or settings.SECRET_KEY)


@functools.cache
def _secrets_from(base: str) -> tuple[str, str]:
    return (
        hashlib.sha256(f"turnstile.challenge:{base}".encode()).hexdigest(),
        hashlib.sha256(f"turnstile.challenge-key:{base}".encode()).hexdigest(),
    )


@functools.cache
def _hmac_of(key: str) -> hmac.HMAC:
    """A keyed HMAC to ``copy()``: the key's padding is computed once, not per join."""
    return hmac.new(key.encode(), digestmod=hashlib.sha256)


def _hmac_hex(key: str, message: bytes) -> str:
    mac = _hmac_of(key).copy()
    mac.update(message)
    return mac.hexdigest()


def _minute(now: float) -> int:
    return int(now // 60)


def _joins_key(event_id: int, minute: int) -> str:
    # The event's hash tag: on a Redis Cluster the claim script's two keys share its queue's slot.
    return f"{_JOINS_PREFIX}:{{{event_id}}}:{minute}"


def spike_factor(*, joins_per_minute: int) -> int:
    """The spike rule: 1 below the threshold, then 2, 4, 8 ... as the rate doubles, capped."""
    threshold = settings.QUEUE_CHALLENGE_SPIKE_JOINS_PER_MINUTE
    if threshold <= 0 or joins_per_minute < threshold:
        return 1
    doublings = 1 + int(math.log2(joins_per_minute / threshold))
    return min(settings.QUEUE_CHALLENGE_SPIKE_MAX_FACTOR, 2**doublings)


def joins_per_minute(*, event: Event, now: float | None = None) -> int:
    """Challenge-checked joins in the current or the previous minute, whichever is higher."""
    minute = _minute(time.time() if now is None else now)
    current, previous = queue_redis().mget(_joins_key(event.pk, minute), _joins_key(event.pk, minute - 1))
    return max(int(current or 0), int(previous or 0))


def challenge_difficulty(*, event: Event) -> int:
    base = event.queue_challenge_difficulty
    if base <= 0:
        return 0
    return base * spike_factor(joins_per_minute=joins_per_minute(event=event))


@dataclass(frozen=True)
class IssuedChallenge:
    difficulty: int
    expires_at: int  # epoch seconds
    challenge: dict[str, Any] | None  # None: the event asks for none


def challenge_issue(*, user_id: int, event: Event) -> IssuedChallenge:
    difficulty = challenge_difficulty(event=event)
    if difficulty == 0:
        return IssuedChallenge(difficulty=0, expires_at=0, challenge=None)
    expires_at = int(time.time()) + settings.QUEUE_CHALLENGE_EXPIRY_SECONDS
    hmac_secret, key_secret = _secrets()
    challenge = create_challenge(
        algorithm=ALGORITHM,
        cost=1,
        counter=secrets.randbelow(difficulty),
        expires_at=expires_at,
        data={"event": event.pk, "fan": user_id},
        hmac_secret=hmac_secret,
        hmac_key_secret=key_secret,
    )
    return IssuedChallenge(difficulty=difficulty, expires_at=expires_at, challenge=challenge.to_dict())


def _checked_nonce(*, user_id: int, event: Event, payload: object) -> tuple[str, int] | None:
    """Everything but the replay check, without I/O: ``None`` when the event needs no challenge,
    else (the Redis key claiming this solution, seconds it must live). Raises the refusals."""
    if event.queue_challenge_difficulty <= 0:
        return None
    if payload is None or payload == "":
        raise ChallengeRequired()
    if not isinstance(payload, str) or len(payload) > _MAX_PAYLOAD:
        raise ChallengeInvalid(details={"reason": "malformed"})
    try:
        parsed = Payload.from_base64(payload)
        parameters = parsed.challenge.parameters
        outcome = _verify(parsed)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        # Hostile JSON the library does not expect (a list for a dict, a number for a string ...).
        raise ChallengeInvalid(details={"reason": "malformed"}) from exc
    if outcome != "verified":
        raise ChallengeInvalid(details={"reason": outcome})
    data = parameters.data if isinstance(parameters.data, dict) else {}
    if data.get("fan") != user_id:
        raise ChallengeInvalid(details={"reason": "wrong_fan"})
    if data.get("event") != event.pk:
        raise ChallengeInvalid(details={"reason": "wrong_event"})
    ttl = max(1, parameters.expires_at - int(time.time()) + 1)
    return f"{_USED_PREFIX}:{{{event.pk}}}:{parameters.nonce}", ttl


def _verify(parsed: Payload) -> str:
    """``verified``, ``expired`` or ``malformed``: ``altcha.verify_solution``'s fast path (expiry, the
    challenge's HMAC, then the HMAC of the derived key), for the challenges we issue.

    Why not call the library: its canonical JSON is pure Python (~110 µs a call, most of a join's
    budget); for our parameters (ints, ASCII strings, a dict of ints) ``json.dumps`` with sorted keys
    gives the same bytes (a test holds the two to it and compares verdicts with the library), and
    distinct parameters always serialise differently, so nothing unsigned can pass.
    """
    parameters = parsed.challenge.parameters
    expires_at = parameters.expires_at
    if type(expires_at) is not int:
        return "malformed"  # we always sign an expiry
    if expires_at < time.time():
        return "expired"
    signature, key_signature = parsed.challenge.signature, parameters.key_signature
    if not isinstance(signature, str) or not isinstance(key_signature, str):
        return "malformed"  # unsigned, or not ours (we always sign the derived key)
    hmac_secret, key_secret = _secrets()
    signed = json.dumps(parameters.to_dict(), sort_keys=True, separators=(",", ":"))
    expected = _hmac_hex(hmac_secret, signed.encode())
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return "malformed"
    derived_key = parsed.solution.derived_key
    if not isinstance(derived_key, str):
        return "malformed"
    key = _hmac_hex(key_secret, bytes.fromhex(derived_key))
    return "verified" if hmac.compare_digest(key_signature.encode(), key.encode()) else "malformed"


def challenge_redeem(*, user_id: int, event: Event, payload: object) -> None:
    claim = _checked_nonce(user_id=user_id, event=event, payload=payload)
    if claim is not None and not run_claim_solution(**_claim_keys(claim, event_id=event.pk)):
        raise ChallengeInvalid(details={"reason": "used"})


async def achallenge_redeem(*, user_id: int, event: Event, payload: object) -> None:
    """``challenge_redeem`` on the asyncio Redis client (the API's fast path): one round trip."""
    claim = _checked_nonce(user_id=user_id, event=event, payload=payload)
    if claim is not None and not await arun_claim_solution(**_claim_keys(claim, event_id=event.pk)):
        raise ChallengeInvalid(details={"reason": "used"})


def _claim_keys(claim: tuple[str, int], *, event_id: int) -> dict[str, Any]:
    used_key, ttl = claim
    joins_key = _joins_key(event_id, _minute(time.time()))
    return {"used_key": used_key, "ttl": ttl, "joins_key": joins_key, "joins_ttl": 180}
