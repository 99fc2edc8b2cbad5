"""Waiting lists of sold-out events: fans in the order they joined, and the offers they get.

An offer is an admission pass (``queueing``) for a limited time: the fan may hold seats and pay like
anyone admitted from the line. At most one live offer per fan and event (a database constraint), and
the offering service keeps live offers at or below the seats free (``waitlist.services``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from events.models import Event
from queueing.models import AdmissionPass


class WaitlistEntry(models.Model):
    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        OFFERED = "offered", _("Offer open")
        ACCEPTED = "accepted", _("Bought with the offer")
        LAPSED = "lapsed", _("Offer lapsed")
        LEFT = "left", _("Left the list")

    ACTIVE_STATES = (State.WAITING, State.OFFERED)

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="waitlist_entries")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="waitlist_entries"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)
    joined_at = models.DateTimeField(default=timezone.now)
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    admission_pass = models.OneToOneField(
        AdmissionPass, null=True, blank=True, on_delete=models.SET_NULL, related_name="waitlist_offer"
    )
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("waiting-list entry")
        verbose_name_plural = _("waiting-list entries")
        ordering = ["event", "pk"]  # the list's order: who joined first
        constraints = [
            models.UniqueConstraint(
                fields=["event", "user"],
                condition=Q(state__in=["waiting", "offered"]),
                name="waitlist_one_active_entry_per_fan_and_event",
            ),
        ]
        indexes = [models.Index(fields=["event", "state", "id"], name="waitlist_event_state_id")]

    def __str__(self) -> str:
        return f"{self.user} on the waiting list of {self.event} ({self.state})"
