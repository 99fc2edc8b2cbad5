"""Durable record of the waiting room.

Redis holds the live queue (see ``queueing.redis_queue``); PostgreSQL holds the truth it can be rebuilt from.
Every accepted join, admission and pass is written here.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from events.models import Event


class EventQueue(models.Model):
    """Runtime queue state of one event, kept out of the events app."""

    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="queue_state")
    is_paused = models.BooleanField(default=False, help_text=_("A paused queue admits nobody."))
    opened_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the pre-queue lottery ran (the queue opened).")
    )
    last_admission_at = models.DateTimeField(null=True, blank=True)
    admitted_total = models.PositiveIntegerField(default=0)
    # Bumped by every change Redis must mirror other than a join (admissions, leaves, the lottery,
    # pause): Redis keeps the value it last applied, and a lower one there means Redis is behind.
    generation = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("event queue")

    def __str__(self) -> str:
        return f"Queue for {self.event}"


class QueueEntry(models.Model):
    """One fan's place in one event's queue. At most one active entry per fan and event."""

    class State(models.TextChoices):
        PREQUEUE = "prequeue", _("In the pre-queue")
        WAITING = "waiting", _("Waiting")
        ADMITTED = "admitted", _("Admitted")
        LEFT = "left", _("Left")
        EXPIRED = "expired", _("Turn expired")

    ACTIVE_STATES = (State.PREQUEUE, State.WAITING, State.ADMITTED)

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="queue_entries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="queue_entries")
    # Null while in the pre-queue; the opening lottery gives it. Comes from Redis INCR, never from a clock.
    sequence = models.BigIntegerField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)
    joined_at = models.DateTimeField(default=timezone.now)
    admitted_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = _("queue entries")
        ordering = ["event", "sequence", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "user"],
                condition=Q(state__in=["prequeue", "waiting", "admitted"]),
                name="queueing_one_active_entry_per_fan_and_event",
            ),
            models.UniqueConstraint(
                fields=["event", "sequence"],
                condition=Q(sequence__isnull=False),
                name="queueing_unique_sequence_per_event",
            ),
        ]
        indexes = [models.Index(fields=["event", "state", "sequence"], name="queueing_entry_event_state_seq")]

    def __str__(self) -> str:
        return f"{self.user} in {self.event} #{self.sequence} ({self.state})"


class AdmissionTick(models.Model):
    """One admission tick of one event, claimed here before anything is popped: one batch per tick
    even when Redis restarts (and forgets its own tick lock) inside the interval."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="admission_ticks")
    tick = models.BigIntegerField()
    claimed_at = models.DateTimeField(default=timezone.now)
    admitted = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Null until the batch committed.")
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "tick"], name="queueing_one_batch_per_event_tick"),
        ]

    def __str__(self) -> str:
        return f"Tick {self.tick} of {self.event}"


class AdmissionPass(models.Model):
    """Permission to hold seats and pay for one event until ``expires_at``.

    Valid = not ended and ``expires_at`` in the future. Bookings check it through
    ``queueing.selectors.admission_pass_is_valid``.
    """

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="admission_passes")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="admission_passes"
    )
    queue_entry = models.OneToOneField(QueueEntry, on_delete=models.CASCADE, related_name="admission_pass")
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Set when the pass expired or the fan left: it no longer counts.")
    )

    class Meta:
        verbose_name = _("admission pass")
        verbose_name_plural = _("admission passes")
        ordering = ["-issued_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "user"],
                condition=Q(ended_at__isnull=True),
                name="queueing_one_active_pass_per_fan_and_event",
            ),
        ]
        indexes = [models.Index(fields=["ended_at", "expires_at"], name="queueing_pass_open_expiry")]

    def __str__(self) -> str:
        return f"Pass for {self.user} to {self.event} until {self.expires_at:%H:%M:%S}"

    @property
    def is_valid(self) -> bool:
        return self.ended_at is None and self.expires_at > timezone.now()
