"""JSON API for mobile clients: public event listings with live seat availability."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import NotFound
from events.models import Event
from events.selectors import (
    CategoryAvailability,
    event_get_public,
    event_list_public,
    seat_availability_for_events,
)


class VenueOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    city = serializers.CharField()


class CategoryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    price = serializers.DecimalField(
        max_digits=10, decimal_places=2, help_text="Decimal string, e.g. 2500.00"
    )
    priceMinor = serializers.IntegerField(
        source="price_minor", help_text="Price in minor units (paise for INR)"
    )
    currency = serializers.CharField()
    colour = serializers.CharField(help_text="Hex colour, e.g. #6d28d9")
    totalSeats = serializers.IntegerField(source="total_seats")
    availableSeats = serializers.IntegerField(source="available_seats")


class EventOutputSerializer(serializers.Serializer):
    """Context: `now` (one clock for the whole response) and `availability` (event id -> categories)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.SlugField()
    venue = VenueOutputSerializer()
    startsAt = serializers.DateTimeField(source="starts_at")
    saleOpensAt = serializers.DateTimeField(source="sale_opens_at")
    saleClosesAt = serializers.DateTimeField(source="sale_ends_at", help_text="When the sale ends")
    salePhase = serializers.SerializerMethodField()
    maxSeatsPerOrder = serializers.IntegerField(source="max_seats_per_order")
    maxSeatsPerFan = serializers.IntegerField(
        source="max_seats_per_fan", help_text="Seats one fan may have for this event across all bookings."
    )
    categories = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ChoiceField(choices=Event.SalePhase.choices))
    def get_salePhase(self, event: Event) -> str:
        return event.sale_phase(self.context["now"]).value

    @extend_schema_field(CategoryOutputSerializer(many=True))
    def get_categories(self, event: Event) -> Any:
        categories: list[CategoryAvailability] = self.context["availability"].get(event.pk, [])
        return CategoryOutputSerializer(categories, many=True).data


def _serialize_events(events: list[Event], *, now: datetime) -> Any:
    availability = seat_availability_for_events(event_ids=[event.pk for event in events], now=now)
    return EventOutputSerializer(events, many=True, context={"now": now, "availability": availability}).data


class EventListApi(APIView):
    permission_classes = (AllowAny,)

    @extend_schema(
        tags=["events"],
        summary="Events on sale or coming up",
        description="Published events whose sale is upcoming or open, soonest first, with seats left.",
        responses=EventOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        now = timezone.now()
        events = list(event_list_public(now=now))
        return Response(_serialize_events(events, now=now))


class EventDetailApi(APIView):
    permission_classes = (AllowAny,)

    @extend_schema(
        tags=["events"],
        summary="One event",
        description="A published event in any sale phase, with seats left per category.",
        responses={
            200: EventOutputSerializer,
            404: OpenApiResponse(description="Unknown or unpublished event"),
        },
    )
    def get(self, request: Request, event_id: int) -> Response:
        event = event_get_public(event_id=event_id)
        if event is None:
            raise NotFound(_("Event not found."))
        return Response(_serialize_events([event], now=timezone.now())[0])
