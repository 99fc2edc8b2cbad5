"""Writes of the box office: staff controls of a running sale (each one audited) and chart samples.

The controls call the queue's own services (``queueing.services``); this module adds the rules an
operator needs around them — "admit now" while paused or outside the sale admits nobody and says so —
and the audit row (who did what, when, with what effect).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django_redis import get_redis_connection

from boxoffice.models import SaleControlAction
from boxoffice.selectors import (
    Dashboard,
    Sample,
    event_currency,
    http_counters,
    queue_counters,
    sales_figures,
    sample_lock_key,
    sample_seconds,
    samples_key,
    seat_counts_by_category,
)
from core.exceptions import ApplicationError
from events.models import Event
from queueing import services as queue_services
from queueing.models import EventQueue

logger = logging.getLogger(__name__)

MAX_BATCH_SIZE = 10_000
MAX_INTERVAL_SECONDS = 3600
HISTORY_SECONDS = 3600


class InvalidSaleSettings(ApplicationError):
    status_code = 400
    code = "INVALID_SALE_SETTINGS"
    default_message = gettext_lazy("Batch size and interval must be positive whole numbers.")


@dataclass(frozen=True)
class ControlResult:
    """What a control did, for the operator: ``level`` is "success" or "warning" (nothing happened)."""

    action: SaleControlAction
    level: str
    message: str
    admitted_user_ids: tuple[int, ...] = ()


def _audit(
    *, event: Event, actor, action: str, outcome: str, message: str, details: dict | None = None
) -> SaleControlAction:
    entry = SaleControlAction.objects.create(
        event=event,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        outcome=outcome,
        message=message[:300],
        details=details or {},
    )
    logger.info(
        "sale control %s on event %s by %s: %s",
        action,
        event.pk,
        getattr(actor, "pk", None),
        message,
    )
    return entry


@transaction.atomic
def sale_pause(*, event: Event, actor) -> ControlResult:
    """Stop admitting (works before anyone has queued: the queue's state row is created)."""
    queue_services.queue_pause(event=event)
    message = _("Admission paused for %(event)s: nobody is admitted until it is resumed.") % {
        "event": event.name
    }
    action = _audit(
        event=event, actor=actor, action=SaleControlAction.Action.PAUSE, outcome="done", message=message
    )
    return ControlResult(action=action, level="success", message=message)


@transaction.atomic
def sale_resume(*, event: Event, actor) -> ControlResult:
    queue_services.queue_resume(event=event)
    message = _("Admission resumed for %(event)s.") % {"event": event.name}
    action = _audit(
        event=event, actor=actor, action=SaleControlAction.Action.RESUME, outcome="done", message=message
    )
    return ControlResult(action=action, level="success", message=message)


def sale_admit_now(*, event: Event, actor, size: int | None = None) -> ControlResult:
    """Admit a batch outside the schedule. Paused, or outside the sale, it admits nobody and the
    result is a warning that says why — never a green "0 admitted"."""
    if size is not None and not 1 <= size <= MAX_BATCH_SIZE:
        raise InvalidSaleSettings(
            _("The batch size must be between 1 and %(max)d.") % {"max": MAX_BATCH_SIZE}
        )
    details: dict = {"size": size or event.admission_batch_size}
    refusal = None
    # PostgreSQL is what the admission service obeys; Redis may not know the queue yet.
    if EventQueue.objects.filter(event=event, is_paused=True).exists():
        refusal = _("Admission is paused: nobody was admitted. Resume admission first.")
    elif not event.is_on_sale:
        refusal = _("The sale is not open (%(phase)s): nobody was admitted.") % {
            "phase": event.sale_phase().label
        }
    if refusal is not None:
        action = _audit(
            event=event,
            actor=actor,
            action=SaleControlAction.Action.ADMIT_NOW,
            outcome="refused",
            message=refusal,
            details=details,
        )
        return ControlResult(action=action, level="warning", message=refusal)
    admitted = queue_services.queue_admit_batch(event=event, size=size)
    details["admitted"] = len(admitted)
    if admitted:
        level = "success"
        message = ngettext(
            "%(count)d fan admitted to %(event)s.", "%(count)d fans admitted to %(event)s.", len(admitted)
        ) % {"count": len(admitted), "event": event.name}
    else:
        level = "warning"
        message = _("Nobody was waiting: nobody was admitted.")
    action = _audit(
        event=event,
        actor=actor,
        action=SaleControlAction.Action.ADMIT_NOW,
        outcome="done" if admitted else "refused",
        message=message,
        details=details,
    )
    return ControlResult(action=action, level=level, message=message, admitted_user_ids=tuple(admitted))


@transaction.atomic
def sale_settings_change(*, event: Event, actor, batch_size: int, interval_seconds: int) -> ControlResult:
    """Change how many fans each admission tick lets in, and how often ticks run."""
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise InvalidSaleSettings(
            _("The batch size must be between 1 and %(max)d.") % {"max": MAX_BATCH_SIZE}
        )
    if not 1 <= interval_seconds <= MAX_INTERVAL_SECONDS:
        raise InvalidSaleSettings(
            _("The interval must be between 1 and %(max)d seconds.") % {"max": MAX_INTERVAL_SECONDS}
        )
    locked = Event.objects.select_for_update().get(pk=event.pk)
    before = {
        "batch_size": locked.admission_batch_size,
        "interval_seconds": locked.admission_interval_seconds,
    }
    Event.objects.filter(pk=event.pk).update(
        admission_batch_size=batch_size, admission_interval_seconds=interval_seconds
    )
    event.admission_batch_size = batch_size
    event.admission_interval_seconds = interval_seconds
    message = _(
        "Admission set to %(size)d fans every %(interval)d s (was %(old_size)d every %(old_interval)d s)."
    ) % {
        "size": batch_size,
        "interval": interval_seconds,
        "old_size": before["batch_size"],
        "old_interval": before["interval_seconds"],
    }
    action = _audit(
        event=event,
        actor=actor,
        action=SaleControlAction.Action.SETTINGS,
        outcome="done",
        message=message,
        details={"before": before, "after": {"batch_size": batch_size, "interval_seconds": interval_seconds}},
    )
    return ControlResult(action=action, level="success", message=message)


# --- Chart samples -------------------------------------------------------------------------------


def sale_sample_record(
    *, event: Event, force: bool = False, dashboard: Dashboard | None = None
) -> Sample | None:
    """Append one sample of the event's figures to its hour of history, at most one per sample period
    across every process (a Redis ``SET NX`` lock); ``None`` when another process sampled just now.
    A dashboard read passes the figures it has just computed, so sampling costs no second read."""
    period = sample_seconds()
    client = get_redis_connection("default")  # samples are not queue keys: the plain Redis
    if not force and not client.set(sample_lock_key(event.pk), "1", nx=True, px=period * 1000 - 100):
        return None
    if dashboard is not None:
        queue, categories, sales = dashboard.queue, dashboard.categories, dashboard.sales
    else:
        queue = queue_counters(event=event)
        categories = seat_counts_by_category(event_ids=[event.pk])[event.pk]
        sales = sales_figures(event=event, currency=event_currency(event=event, categories=categories))
    requests, errors = http_counters()
    sample = Sample(
        t=round(time.time(), 3),
        waiting=queue.waiting,
        prequeue=queue.prequeue,
        admitted_now=queue.admitted_now,
        joins_total=queue.joins_total,
        admitted_total=queue.admitted_total,
        seats_sold=sum(category.sold_seats for category in categories),
        seats_held=sum(category.held_seats for category in categories),
        net_minor=sales.net_minor,
        http_requests=requests,
        http_errors=errors,
    )
    key = samples_key(event.pk)
    pipe = client.pipeline(transaction=True)
    pipe.lpush(key, sample.to_json())
    pipe.ltrim(key, 0, HISTORY_SECONDS // period)
    pipe.expire(key, 2 * HISTORY_SECONDS)
    pipe.execute()
    return sample


def sales_sample_live(*, events) -> int:
    """The beat job: one sample for each event given (on sale or with a live queue)."""
    sampled = 0
    for event in events:
        try:
            if sale_sample_record(event=event) is not None:
                sampled += 1
        except Exception:  # one broken event must not stop the others' charts
            logger.exception("Sampling the sale of event %s failed.", event.pk)
    return sampled
