"""JSON API of payments (paths of the original Node service; JWT for mobile apps). Thin: parse input,
call a service, shape the output. Errors: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bookings.models import Booking
from bookings.selectors import booking_for_user
from core.schema import ErrorSerializer
from payments.models import Payment, Provider
from payments.selectors import ticket_views, tickets_for_booking
from payments.services import payment_confirm, payment_intent_get_or_create
from payments.throttles import PaymentUserThrottle

TAGS = ["payments"]

_ERROR = ErrorSerializer


class CreateIntentInputSerializer(serializers.Serializer):
    bookingId = serializers.IntegerField(min_value=1)


class IntentOutputSerializer(serializers.Serializer):
    clientSecret = serializers.CharField(source="client_secret", help_text="For Stripe.js confirmPayment")
    paymentIntentId = serializers.CharField(source="provider_intent_id")
    amount = serializers.IntegerField(source="amount_minor", help_text="Minor units (paise for INR)")
    currency = serializers.CharField()
    provider = serializers.CharField(help_text=" | ".join(Provider.values))


class ConfirmInputSerializer(serializers.Serializer):
    paymentIntentId = serializers.CharField(max_length=255)


class ConfirmOutputSerializer(serializers.Serializer):
    # Plain strings in the schema: the booking API already names the booking status enum.
    status = serializers.CharField(help_text="The payment: " + " | ".join(Payment.Status.values))
    bookingId = serializers.IntegerField(source="booking_id")
    bookingStatus = serializers.CharField(
        source="booking_status", help_text="The booking: " + " | ".join(Booking.Status.values)
    )


class TicketOutputSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="What the QR code carries")
    seat = serializers.CharField(source="seat_label")
    category = serializers.CharField()
    qrSvg = serializers.CharField(source="qr_data_uri", help_text="data:image/svg+xml;base64,...")


class _PaymentApi(APIView):
    throttle_classes = [PaymentUserThrottle]


class CreateIntentApi(_PaymentApi):
    throttle_scope = "create_intent"

    @extend_schema(
        tags=TAGS,
        summary="Start paying for my booking (one payment intent per booking attempt)",
        description=(
            "201 with a new intent; 200 with the same intent when called again (double clicks and retries "
            "never create a second charge). Amounts in minor units."
        ),
        request=CreateIntentInputSerializer,
        responses={
            200: IntentOutputSerializer,
            201: IntentOutputSerializer,
            400: _ERROR,
            401: _ERROR,
            403: OpenApiResponse(_ERROR, description="NOT_ADMITTED"),
            404: _ERROR,
            409: OpenApiResponse(_ERROR, description="BOOKING_NOT_PAYABLE (not pending or expired)"),
            429: _ERROR,
            502: OpenApiResponse(_ERROR, description="PAYMENT_PROVIDER_ERROR"),
            503: OpenApiResponse(_ERROR, description="PAYMENT_PROVIDER_UNAVAILABLE, BUSY: retry"),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = CreateIntentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        booking = booking_for_user(user=request.user, booking_id=serializer.validated_data["bookingId"])
        payment, created = payment_intent_get_or_create(user=request.user, booking=booking)
        return Response(
            IntentOutputSerializer(payment).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ConfirmApi(_PaymentApi):
    throttle_scope = "confirm"

    @extend_schema(
        tags=TAGS,
        summary="Report a completed payment; the server checks the intent's real status first",
        request=ConfirmInputSerializer,
        responses={
            200: ConfirmOutputSerializer,
            400: _ERROR,
            401: _ERROR,
            404: _ERROR,
            429: _ERROR,
            502: _ERROR,
            503: OpenApiResponse(_ERROR, description="PAYMENT_PROVIDER_UNAVAILABLE, BUSY: retry"),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = ConfirmInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        confirmation = payment_confirm(
            user=request.user, payment_intent_id=serializer.validated_data["paymentIntentId"]
        )
        return Response(ConfirmOutputSerializer(confirmation).data)


class BookingTicketsApi(_PaymentApi):
    throttle_scope = "reads"

    @extend_schema(
        tags=TAGS,
        summary="Tickets of my confirmed booking (empty until it is paid)",
        responses={200: TicketOutputSerializer(many=True), 401: _ERROR, 404: _ERROR, 429: _ERROR},
    )
    def get(self, request: Request, booking_id: int) -> Response:
        booking = booking_for_user(user=request.user, booking_id=booking_id)
        tickets = ticket_views(tickets=tickets_for_booking(booking=booking))
        return Response(TicketOutputSerializer(tickets, many=True).data)
