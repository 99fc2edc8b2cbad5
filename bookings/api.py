"""JSON API of seat maps, holds and bookings (paths of the original Node service; JWT for mobile apps).

Thin: parse input, call a selector or service, shape the output. Errors come out of
``core.exceptions.api_exception_handler`` as ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bookings.models import Booking
from bookings.selectors import SeatStatus, SeatView, booking_for_user, bookings_for_user, seat_map_for_event
from bookings.services import HoldResult, booking_cancel, booking_create, seats_hold, seats_release
from bookings.throttles import BookingUserThrottle
from core.schema import ErrorSerializer
from core.urls import is_id
from events.models import Event
from events.money import price_to_minor_units
from events.selectors import event_get_public
from queueing.exceptions import EventNotFound

INVENTORY_TAGS = ["inventory"]
BOOKING_TAGS = ["bookings"]
# A hard cap on the request size; the event's own limit (max_seats_per_order) is checked too.
MAX_SEAT_IDS_PER_REQUEST = 100

_ERROR = ErrorSerializer


def _event_or_404(event_id: int) -> Event:
    event = event_get_public(event_id=event_id)
    if event is None:
        raise EventNotFound()
    return event


# --- Serializers ----------------------------------------------------------------------------------


class SeatOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    section = serializers.CharField()
    row = serializers.CharField()
    number = serializers.IntegerField()
    x = serializers.IntegerField()
    y = serializers.IntegerField()
    category = serializers.CharField(help_text="Category name, e.g. Gold")
    categoryId = serializers.IntegerField()
    colour = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2, help_text="Decimal string")
    priceMinor = serializers.IntegerField(help_text="Minor units (paise for INR)")
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=SeatStatus.ALL)


def seat_body(seat: SeatView) -> dict[str, Any]:
    # Built by hand, not by a serializer: a large venue has 20,000 seats.
    return {
        "id": seat.id,
        "section": seat.section,
        "row": seat.row,
        "number": seat.number,
        "x": seat.x,
        "y": seat.y,
        "category": seat.category_name,
        "categoryId": seat.category_id,
        "colour": seat.colour,
        "price": f"{seat.price:.2f}",
        "priceMinor": seat.price_minor,
        "currency": seat.currency,
        "status": seat.status,
    }


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "integer", "minimum": 1},
        "minItems": 1,
        "maxItems": MAX_SEAT_IDS_PER_REQUEST,
        "uniqueItems": True,
    }
)
class SeatIdsField(serializers.ListField):
    child = serializers.IntegerField(min_value=1)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_empty=False, max_length=MAX_SEAT_IDS_PER_REQUEST, **kwargs)

    def to_internal_value(self, data: Any) -> list[int]:
        seat_ids = super().to_internal_value(data)
        if len(set(seat_ids)) != len(seat_ids):
            raise serializers.ValidationError(_("Each seat may be listed only once."))
        return seat_ids


class LockSeatsInputSerializer(serializers.Serializer):
    """Any other field (such as a lock duration) is ignored: holds last as long as the admission pass."""

    eventId = serializers.IntegerField(min_value=1)
    seatIds = SeatIdsField()


class ReleaseSeatsInputSerializer(serializers.Serializer):
    eventId = serializers.IntegerField(min_value=1)
    seatIds = SeatIdsField(required=False, help_text="Omit to release every seat you hold.")


class HoldsOutputSerializer(serializers.Serializer):
    eventId = serializers.IntegerField()
    lockedSeats = serializers.ListField(
        child=serializers.IntegerField(), help_text="Every seat you hold now."
    )
    expiresAt = serializers.DateTimeField(allow_null=True, help_text="When the holds end (your pass).")


def holds_body(result: HoldResult) -> dict[str, Any]:
    return {
        "eventId": result.event_id,
        "lockedSeats": result.seat_ids,
        "expiresAt": serializers.DateTimeField().to_representation(result.expires_at)
        if result.expires_at
        else None,
    }


class BookingCreateInputSerializer(serializers.Serializer):
    eventId = serializers.IntegerField(min_value=1)


class BookingSeatOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="seat.id")
    section = serializers.CharField(source="seat.section")
    row = serializers.CharField(source="seat.row")
    number = serializers.IntegerField(source="seat.number")
    category = serializers.CharField(source="category.name")
    price = serializers.DecimalField(max_digits=10, decimal_places=2)


class BookingOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    eventId = serializers.IntegerField(source="event_id")
    status = serializers.ChoiceField(choices=Booking.Status.choices)
    totalAmount = serializers.DecimalField(source="total_amount", max_digits=12, decimal_places=2)
    totalAmountMinor = serializers.SerializerMethodField()
    currency = serializers.CharField()
    expiresAt = serializers.DateTimeField(source="expires_at")
    createdAt = serializers.DateTimeField(source="created_at")
    confirmedAt = serializers.DateTimeField(source="confirmed_at", allow_null=True)
    cancelledAt = serializers.DateTimeField(source="cancelled_at", allow_null=True)
    seats = BookingSeatOutputSerializer(source="items", many=True)

    def get_totalAmountMinor(self, booking: Booking) -> int:
        return price_to_minor_units(booking.total_amount, booking.currency)


# --- Views ----------------------------------------------------------------------------------------


class _BookingApi(APIView):
    throttle_classes = [BookingUserThrottle]
    throttle_scope = "reads"


class EventSeatsApi(_BookingApi):
    @extend_schema(
        tags=INVENTORY_TAGS,
        summary="Seats of an event with live status",
        parameters=[
            OpenApiParameter("section", str, description="Only this section"),
            OpenApiParameter("category", str, description="Only this category (id or name)"),
        ],
        responses={200: SeatOutputSerializer(many=True), 401: _ERROR, 404: _ERROR, 429: _ERROR},
    )
    def get(self, request: Request, event_id: int) -> Response:
        event = _event_or_404(event_id)
        section = request.query_params.get("section") or None
        category = request.query_params.get("category") or None
        category_id: int | None = None
        if category is not None:
            match = event.categories.filter(
                **({"pk": int(category)} if is_id(category) else {"name__iexact": category})
            ).first()
            if match is None:
                return Response([])
            category_id = match.pk
        seats = seat_map_for_event(event=event, user=request.user, section=section, category_id=category_id)
        return Response([seat_body(seat) for seat in seats])


class LockSeatsApi(_BookingApi):
    throttle_scope = "holds"

    @extend_schema(
        tags=INVENTORY_TAGS,
        summary="Hold seats (all or none) until your admission pass expires",
        description="Seats you already hold stay held. The hold duration is never chosen by the client.",
        request=LockSeatsInputSerializer,
        responses={
            200: HoldsOutputSerializer,
            400: OpenApiResponse(_ERROR, description="VALIDATION_ERROR, UNKNOWN_SEATS"),
            401: _ERROR,
            403: OpenApiResponse(_ERROR, description="NOT_ADMITTED"),
            404: _ERROR,
            409: OpenApiResponse(_ERROR, description="SEAT_UNAVAILABLE (details.seatIds), TOO_MANY_SEATS"),
            429: _ERROR,
            503: OpenApiResponse(_ERROR, description="BUSY: retry"),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = LockSeatsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event = _event_or_404(serializer.validated_data["eventId"])
        seat_ids = serializer.validated_data["seatIds"]
        if len(seat_ids) > event.max_seats_per_order:
            raise serializers.ValidationError(
                {"seatIds": [_("At most %(limit)s seats per order.") % {"limit": event.max_seats_per_order}]}
            )
        result = seats_hold(user=request.user, event=event, seat_ids=seat_ids)
        return Response(holds_body(result))


class ReleaseSeatsApi(_BookingApi):
    throttle_scope = "holds"

    @extend_schema(
        tags=INVENTORY_TAGS,
        summary="Release held seats (or all of them)",
        request=ReleaseSeatsInputSerializer,
        responses={
            200: HoldsOutputSerializer,
            400: _ERROR,
            401: _ERROR,
            404: _ERROR,
            409: OpenApiResponse(_ERROR, description="SEATS_IN_BOOKING: cancel the booking instead"),
            429: _ERROR,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = ReleaseSeatsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event = _event_or_404(serializer.validated_data["eventId"])
        result = seats_release(
            user=request.user, event=event, seat_ids=serializer.validated_data.get("seatIds")
        )
        return Response(holds_body(result))


class BookingCreateApi(_BookingApi):
    throttle_scope = "bookings"

    @extend_schema(
        tags=BOOKING_TAGS,
        summary="Book the seats you hold (pending payment)",
        description=(
            "Prices come from the server. Calling again while the pending booking has the same seats "
            "returns it (double clicks create one booking)."
        ),
        request=BookingCreateInputSerializer,
        responses={
            201: BookingOutputSerializer,
            400: _ERROR,
            401: _ERROR,
            403: OpenApiResponse(_ERROR, description="NOT_ADMITTED"),
            404: _ERROR,
            409: OpenApiResponse(_ERROR, description="NO_SEATS_HELD, BOOKING_PENDING, SEAT_UNAVAILABLE"),
            429: _ERROR,
            503: _ERROR,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = BookingCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event = _event_or_404(serializer.validated_data["eventId"])
        booking = booking_create(user=request.user, event=event)
        booking = booking_for_user(user=request.user, booking_id=booking.pk)
        return Response(BookingOutputSerializer(booking).data, status=status.HTTP_201_CREATED)


class BookingListApi(_BookingApi):
    @extend_schema(
        tags=BOOKING_TAGS,
        summary="My bookings, newest first",
        responses={200: BookingOutputSerializer(many=True), 401: _ERROR, 429: _ERROR},
    )
    def get(self, request: Request) -> Response:
        return Response(BookingOutputSerializer(bookings_for_user(user=request.user), many=True).data)


class BookingDetailApi(_BookingApi):
    @extend_schema(
        tags=BOOKING_TAGS,
        summary="One of my bookings",
        responses={200: BookingOutputSerializer, 401: _ERROR, 404: _ERROR, 429: _ERROR},
    )
    def get(self, request: Request, booking_id: int) -> Response:
        booking = booking_for_user(user=request.user, booking_id=booking_id)
        return Response(BookingOutputSerializer(booking).data)


class BookingCancelApi(_BookingApi):
    throttle_scope = "bookings"

    @extend_schema(
        tags=BOOKING_TAGS,
        summary="Cancel my booking awaiting payment (its seats go back on sale)",
        request=None,
        responses={
            200: BookingOutputSerializer,
            401: _ERROR,
            404: _ERROR,
            409: OpenApiResponse(_ERROR, description="BOOKING_NOT_CANCELLABLE"),
            429: _ERROR,
        },
    )
    def post(self, request: Request, booking_id: int) -> Response:
        booking = booking_for_user(user=request.user, booking_id=booking_id)
        booking_cancel(booking=booking)
        booking = booking_for_user(user=request.user, booking_id=booking_id)
        return Response(BookingOutputSerializer(booking).data)
