"""Reactions of the lottery to other apps' signals."""

from __future__ import annotations

from typing import Any

from lottery.services import lottery_commit


def commit_seed_of_scheduled_event(sender: Any, *, instance, **kwargs: Any) -> None:
    """A published event whose sale is still to open has a pre-queue: its commitment exists from now on,
    so the event page can publish it before anyone joins."""
    if instance.sale_phase() == instance.SalePhase.UPCOMING:
        lottery_commit(event=instance)
