"""The audit trail of what staff did to a running sale (who, what, when, with what result)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from events.models import Event


class SaleControlAction(models.Model):
    class Action(models.TextChoices):
        PAUSE = "pause", _("Paused admission")
        RESUME = "resume", _("Resumed admission")
        ADMIT_NOW = "admit_now", _("Admitted a batch now")
        SETTINGS = "settings", _("Changed batch size or interval")

    class Outcome(models.TextChoices):
        DONE = "done", _("Done")
        REFUSED = "refused", _("Nothing done")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="sale_control_actions")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="sale_control_actions"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.DONE)
    details = models.JSONField(
        default=dict, blank=True, help_text=_("Parameters and effect, e.g. batch size.")
    )
    message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("sale control action")
        indexes = [models.Index(fields=["event", "-created_at"], name="boxoffice_action_event_time")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} on {self.event} by {self.actor}"
