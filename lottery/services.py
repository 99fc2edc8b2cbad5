"""Writes of the pre-queue lottery.

- ``lottery_commit(event=) -> PrequeueLottery`` — the event's seed and commitment, made once
  (idempotent; concurrent callers get the same row). Called when an event is scheduled and by the draw.
- ``lottery_draw(event=, entries=, now=) -> list[tuple[int, int]]`` — orders the pre-queue's
  ``(entry id, user id)`` pairs by the committed seed (``lottery.algorithm``) and records the drawn
  order of entrant ids. Runs inside the queue opening's transaction (``queueing.services``), which
  holds the event queue's row lock: it draws once.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from django.db import transaction

from events.models import Event
from lottery.algorithm import SEED_BYTES, commitment_of, draw_order, entrant_id_of
from lottery.models import PrequeueLottery


def lottery_commit(*, event: Event) -> PrequeueLottery:
    seed = secrets.token_hex(SEED_BYTES)
    lottery, _ = PrequeueLottery.objects.get_or_create(
        event=event,
        defaults={
            "seed": seed,
            "commitment": commitment_of(seed),
            "pseudonym_key": secrets.token_hex(SEED_BYTES),
        },
    )
    return lottery


@transaction.atomic
def lottery_draw(*, event: Event, entries: list[tuple[int, int]], now: datetime) -> list[tuple[int, int]]:
    if not entries and not PrequeueLottery.objects.filter(event=event).exists():
        return entries  # nobody pre-queued and nothing was promised: no lottery to publish
    lottery_commit(event=event)
    lottery = PrequeueLottery.objects.select_for_update().get(event=event)
    entry_of = {
        entrant_id_of(pseudonym_key_hex=lottery.pseudonym_key, user_id=user_id): (pk, user_id)
        for pk, user_id in entries
    }
    order = draw_order(seed_hex=lottery.seed, entrant_ids=entry_of)
    if lottery.is_drawn:  # the queue opens once; the recorded draw (immutable) is never replaced
        return [entry_of[entrant_id] for entrant_id in order]
    lottery.order = order
    lottery.drawn_at = now
    lottery.save(update_fields=["order", "drawn_at"])
    return [entry_of[entrant_id] for entrant_id in order]
