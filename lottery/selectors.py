"""Reads of the pre-queue lottery: what is published, and a fan's own entrant id."""

from __future__ import annotations

import json
from typing import Any

from django.db import connection

from core.formats import api_datetime
from core.local_cache import LocalCache
from events.models import Event
from lottery.algorithm import entrant_id_of
from lottery.models import PrequeueLottery

ALGORITHM = (
    "commitment = SHA-256(seed); entrant id = a pseudonym (HMAC-SHA256 with a secret key, 32 hex digits); "
    "order = entrants sorted by SHA-256(seed bytes || entrant id in ASCII), hex, ties by the id; "
    "place 1 first."
)


def lottery_for_event(*, event: Event, with_order: bool = True) -> PrequeueLottery | None:
    """The event's lottery; without its order (a large list) for the pages that only need the rest."""
    lotteries = PrequeueLottery.objects.filter(event=event)
    return (lotteries if with_order else lotteries.defer("order")).first()


# The pages' read (the event page's commitment box, the queue page's entry note), kept per process for
# about a second (core.local_cache): every queue page and status poll asks, and the lottery changes
# twice in its life (committed, drawn). A save clears it (lottery.apps).
_page_lotteries: LocalCache[PrequeueLottery | None] = LocalCache()


def lottery_for_page(*, event: Event) -> PrequeueLottery | None:
    """``lottery_for_event`` without the order, shared by this process's requests for about a second.
    Read-only: never save or change the object."""
    return _page_lotteries.get_or_load(event.pk, lambda: lottery_for_event(event=event, with_order=False))


def lottery_place(*, lottery: PrequeueLottery, entrant_id: str) -> int | None:
    """The entrant's drawn place, found by PostgreSQL inside the stored order (no list sent over)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.place FROM {PrequeueLottery._meta.db_table} AS l, "  # noqa: S608 (table name is ours)
            'jsonb_array_elements_text(l."order") WITH ORDINALITY AS t(entrant_id, place) '
            "WHERE l.id = %s AND t.entrant_id = %s",
            [lottery.pk, entrant_id],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else None


def lottery_first_places(*, lottery: PrequeueLottery, count: int) -> tuple[int, list[str]]:
    """How many entrants were drawn, and the first ``count`` of the order, read inside PostgreSQL."""
    with connection.cursor() as cursor:
        cursor.execute(
            'SELECT jsonb_array_length("order"), jsonb_path_query_array("order", %s::jsonpath) '  # noqa: S608
            f"FROM {PrequeueLottery._meta.db_table} WHERE id = %s",  # (the table name is ours)
            [f"$[0 to {max(count, 1) - 1}]", lottery.pk],
        )
        total, first = cursor.fetchone()
    return total, (json.loads(first) if isinstance(first, str) else first)


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
    place = lottery_place(lottery=lottery, entrant_id=entrant_id) if lottery.drawn_at is not None else None
    return entrant_id, place
