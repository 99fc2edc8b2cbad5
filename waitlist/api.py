"""JSON API of the waiting lists (JWT for mobile apps)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.formats import api_datetime
from core.schema import ErrorSerializer
from core.throttles import LimitsInOneRoundTrip
from queueing.selectors import queue_event_get
from queueing.throttles import QUEUE_THROTTLES
from waitlist.exceptions import NotOnWaitlist
from waitlist.models import WaitlistEntry
from waitlist.selectors import waitlist_entry_for, waitlist_status
from waitlist.services import waitlist_join, waitlist_leave

TAGS = ["waitlist"]
_ERROR = ErrorSerializer


class WaitlistJoinInputSerializer(serializers.Serializer):
    eventId = serializers.IntegerField(min_value=1)


class WaitlistStatusOutputSerializer(serializers.Serializer):
    eventId = serializers.IntegerField()
    state = serializers.ChoiceField(choices=["waiting", "offered", "lapsed"])
    position = serializers.IntegerField(allow_null=True, help_text="1 = next to get an offer.")
    offerExpiresAt = serializers.DateTimeField(allow_null=True, help_text="While an offer is open.")


def _body(entry: WaitlistEntry) -> dict[str, Any]:
    current = waitlist_status(entry=entry)
    return {
        "eventId": current.event_id,
        "state": current.state,
        "position": current.position,
        "offerExpiresAt": api_datetime(current.offer_expires_at) if current.offer_expires_at else None,
    }


class WaitlistApi(LimitsInOneRoundTrip, APIView):
    throttle_classes = QUEUE_THROTTLES
    throttle_scope = "queue_read"


class WaitlistJoinApi(WaitlistApi):
    @extend_schema(
        tags=TAGS,
        summary="Join the waiting list of a sold-out event",
        request=WaitlistJoinInputSerializer,
        responses={
            201: WaitlistStatusOutputSerializer,
            200: OpenApiResponse(WaitlistStatusOutputSerializer, description="Already on the list."),
            400: _ERROR,
            401: _ERROR,
            404: _ERROR,
            409: OpenApiResponse(_ERROR, description="SALE_CLOSED, SEATS_AVAILABLE, ALREADY_ADMITTED"),
            429: _ERROR,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = WaitlistJoinInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event = queue_event_get(event_id=serializer.validated_data["eventId"])
        entry, created = waitlist_join(user=request.user, event=event)
        return Response(_body(entry), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class WaitlistStatusApi(WaitlistApi):
    @extend_schema(
        tags=TAGS,
        summary="My place on the waiting list, or my open offer",
        responses={200: WaitlistStatusOutputSerializer, 401: _ERROR, 404: _ERROR, 429: _ERROR},
    )
    def get(self, request: Request, event_id: int) -> Response:
        entry = waitlist_entry_for(user=request.user, event=queue_event_get(event_id=event_id))
        if entry is None:
            raise NotOnWaitlist()
        return Response(_body(entry))


class WaitlistLeaveApi(WaitlistApi):
    @extend_schema(
        tags=TAGS,
        summary="Leave the waiting list (an open offer is given up)",
        responses={204: None, 401: _ERROR, 404: _ERROR, 429: _ERROR},
    )
    def delete(self, request: Request, event_id: int) -> Response:
        waitlist_leave(user=request.user, event=queue_event_get(event_id=event_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
