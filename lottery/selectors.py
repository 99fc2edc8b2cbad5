"""Reads of the pre-queue lottery: what is published, and a fan's own entrant id."""

from __future__ import annotations

from typing import Any

from core.formats import api_datetime
from events.models import Event
from lottery.algorithm import entrant_id_of
from lottery.models import PrequeueLottery

ALGORITHM = (
    "commitment = SHA-256(seed); entrant id = a pseudonym (HMAC-SHA256 with a secret key, 32 hex digits); "
    "order = entrants sorted by SHA-256(seed bytes || entrant id in ASCII), hex, ties by the id; "
    "place 1 first."
)


def lottery_for_event(*, event: Event) -> PrequeueLottery | None:
    return PrequeueLottery.objects.filter(event=event).first()


def lottery_publication(*, lottery: PrequeueLottery) -> dict[str, Any]:
    """What anyone may download: the commitment always; the seed, entrants and order after the draw."""
    drawn_at = lottery.drawn_at
    drawn = drawn_at is not None
    return {
        "eventId": lottery.event_id,
        "eventSlug": lottery.event.slug,
        "algorithm": ALGORITHM,
        "commitment": lottery.commitment,
        "committedAt": api_datetime(lottery.committed_at),
        "drawnAt": api_datetime(drawn_at) if drawn_at is not None else None,
        "seed": lottery.seed if drawn else None,
        # Sorted, so the list itself says nothing of the order: the script recomputes that.
        "entrants": sorted(lottery.order) if drawn else None,
        "order": list(lottery.order) if drawn else None,
    }


def lottery_entrant_of(*, lottery: PrequeueLottery, user) -> tuple[str, int | None]:
    """The fan's entrant id in this lottery and their drawn place (None before the draw or if they were
    not in the pre-queue)."""
    entrant_id = entrant_id_of(pseudonym_key_hex=lottery.pseudonym_key, user_id=user.pk)
    try:
        place = lottery.order.index(entrant_id) + 1
    except ValueError:
        place = None
    return entrant_id, place
