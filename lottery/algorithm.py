"""The lottery's arithmetic, stdlib only. ``scripts/verify_lottery.py`` repeats it for anyone to run.

- seed: 32 random bytes, published as 64 lower-case hex digits after the draw;
- commitment = SHA-256(seed bytes), hex, published before the sale opens;
- entrant id = HMAC-SHA256(pseudonym key, decimal user id), first 32 hex digits: a pseudonym
  (the key is never published, so ids cannot be traced back to accounts);
- order: entrants sorted by SHA-256(seed bytes || entrant id as ASCII) in hex, then by the id.
  Place 1 is the first of that order.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

SEED_BYTES = 32
ENTRANT_ID_HEX_DIGITS = 32


def commitment_of(seed_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(seed_hex)).hexdigest()


def entrant_id_of(*, pseudonym_key_hex: str, user_id: int) -> str:
    digest = hmac.new(bytes.fromhex(pseudonym_key_hex), str(user_id).encode("ascii"), hashlib.sha256)
    return digest.hexdigest()[:ENTRANT_ID_HEX_DIGITS]


def draw_key(*, seed_hex: str, entrant_id: str) -> str:
    return hashlib.sha256(bytes.fromhex(seed_hex) + entrant_id.encode("ascii")).hexdigest()


def draw_order(*, seed_hex: str, entrant_ids: Iterable[str]) -> list[str]:
    """The published order of the given entrants: a deterministic shuffle by the seed."""
    return sorted(
        entrant_ids, key=lambda entrant_id: (draw_key(seed_hex=seed_hex, entrant_id=entrant_id), entrant_id)
    )
