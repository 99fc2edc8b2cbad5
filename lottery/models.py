"""The pre-queue lottery of one event: a seed committed before the sale opens, the order it drew.

The database refuses any change of the seed, its commitment or the pseudonym key once the row exists,
and any change of the draw once it is recorded (a trigger, see migration 0001): not even staff,
the admin or a bulk update can alter a published commitment. The commitment must be the seed's
SHA-256 (a check constraint).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from events.models import Event


class PrequeueLottery(models.Model):
    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="prequeue_lottery")
    seed = models.CharField(max_length=64, help_text=_("Secret until the draw; published afterwards."))
    commitment = models.CharField(
        max_length=64, help_text=_("SHA-256 of the seed, published before the draw.")
    )
    pseudonym_key = models.CharField(
        max_length=64, help_text=_("Turns user ids into entrant ids; never published.")
    )
    committed_at = models.DateTimeField(default=timezone.now)
    drawn_at = models.DateTimeField(null=True, blank=True)
    # Entrant ids in the drawn order (place 1 first); empty until the draw.
    order = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("pre-queue lottery")
        verbose_name_plural = _("pre-queue lotteries")

    def __str__(self) -> str:
        return f"Lottery of {self.event}"

    @property
    def is_drawn(self) -> bool:
        return self.drawn_at is not None
