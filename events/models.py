from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel


class Venue(TimeStampedModel):
    name = models.CharField(max_length=200)
    city = models.CharField(max_length=120)
    address = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["name", "city"], name="events_venue_name_city_unique")]

    def __str__(self) -> str:
        return f"{self.name}, {self.city}"


def default_challenge_difficulty() -> int:
    """New events start with the site's default (``QUEUE_CHALLENGE_DEFAULT_DIFFICULTY``)."""
    return settings.QUEUE_CHALLENGE_DEFAULT_DIFFICULTY


class Event(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        CANCELLED = "cancelled", _("Cancelled")

    class SalePhase(models.TextChoices):
        NOT_PUBLISHED = "not_published", _("Not published")
        UPCOMING = "upcoming", _("Sale opens soon")
        ON_SALE = "on_sale", _("On sale")
        CLOSED = "closed", _("Sale closed")

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    description = models.TextField(blank=True)
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="events")
    starts_at = models.DateTimeField()
    sale_opens_at = models.DateTimeField()
    sale_closes_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Defaults to the start of the event when empty.")
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)

    # Waiting-room settings, per event.
    admission_batch_size = models.PositiveIntegerField(
        default=50, validators=[MinValueValidator(1)], help_text=_("Fans admitted per admission tick.")
    )
    admission_interval_seconds = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(1)], help_text=_("Seconds between admission ticks.")
    )
    booking_window_minutes = models.PositiveIntegerField(
        default=10,
        validators=[MinValueValidator(1)],
        help_text=_("How long an admitted fan may hold seats and pay."),
    )
    max_seats_per_order = models.PositiveSmallIntegerField(default=6, validators=[MinValueValidator(1)])
    max_seats_per_fan = models.PositiveSmallIntegerField(
        default=6,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Seats one fan may have for this event in all: paid, awaiting payment and held together."
        ),
    )
    queue_challenge_difficulty = models.PositiveIntegerField(
        default=default_challenge_difficulty,
        help_text=_(
            "Proof-of-work a fan's browser or app does to join the queue: about half this many hashes "
            "on average (20,000: about half a second in a desktop browser). 0 turns the challenge off. "
            "It doubles by itself while joins per minute spike."
        ),
    )

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sale_opens_at__lte=models.F("starts_at")),
                name="events_event_sale_opens_before_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("events:detail", kwargs={"slug": self.slug})

    @property
    def sale_ends_at(self):
        return self.sale_closes_at or self.starts_at

    @property
    def booking_window(self) -> timedelta:
        return timedelta(minutes=self.booking_window_minutes)

    def sale_phase(self, now=None) -> SalePhase:
        now = now or timezone.now()
        if self.status != self.Status.PUBLISHED:
            return self.SalePhase.NOT_PUBLISHED
        if now < self.sale_opens_at:
            return self.SalePhase.UPCOMING
        if now >= self.sale_ends_at:
            return self.SalePhase.CLOSED
        return self.SalePhase.ON_SALE

    @property
    def is_on_sale(self) -> bool:
        return self.sale_phase() == self.SalePhase.ON_SALE


class SeatCategory(TimeStampedModel):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="categories")
    name = models.CharField(max_length=80)
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(max_length=3, default="INR")
    colour = models.CharField(
        max_length=7,
        default="#9e9e9e",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a hex colour like #c0c0c0."))],
    )
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["event", "sort_order", "price", "pk"]
        verbose_name_plural = "seat categories"
        constraints = [
            models.UniqueConstraint(fields=["event", "name"], name="events_category_name_unique_per_event"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.price} {self.currency})"


class Seat(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="seats")
    # RESTRICT, not PROTECT: a category with seats cannot be deleted on its own, but deleting the
    # event removes its categories and seats together (PROTECT would block that too).
    category = models.ForeignKey(SeatCategory, on_delete=models.RESTRICT, related_name="seats")
    section = models.CharField(max_length=40)
    row = models.CharField(max_length=10)
    number = models.PositiveIntegerField()
    # Where the seat is drawn on the map, in seat-sized grid units.
    x = models.PositiveIntegerField(default=0)
    y = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["event", "section", "y", "x", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "section", "row", "number"], name="events_seat_unique_place_per_event"
            ),
        ]
        indexes = [models.Index(fields=["event", "category"], name="events_seat_event_category")]

    def __str__(self) -> str:
        return f"{self.section} {self.row}{self.number}"

    @property
    def label(self) -> str:
        return f"{self.section} · Row {self.row} · Seat {self.number}"
