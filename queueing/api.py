"""JSON API of the waiting room (paths and names of the original Node service; JWT for mobile apps)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.services import email_verified_require
from core import ratelimit
from core.formats import api_datetime
from core.schema import ErrorSerializer
from core.throttles import LimitsInOneRoundTrip
from events.models import Event
from queueing.challenges import challenge_issue, challenge_redeem
from queueing.exceptions import NotInQueue
from queueing.selectors import (
    QueueStatus,
    queue_event_get,
    queue_place_to_return,
    queue_stats,
    queue_status,
)
from queueing.services import queue_join, queue_leave
from queueing.throttles import QUEUE_THROTTLES, queue_limits

TAGS = ["queue"]

_ERROR = ErrorSerializer


class QueueJoinInputSerializer(serializers.Serializer):
    eventId = serializers.IntegerField(min_value=1)
    altcha = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=4096,
        help_text="The solved challenge of GET /api/queue/challenge (base64 ALTCHA payload). Needed for a "
        "new place when the event asks for one; a fan already in line gets the place back without it.",
    )


class QueueChallengeInputSerializer(serializers.Serializer):
    eventId = serializers.IntegerField(min_value=1)


class QueueChallengeOutputSerializer(serializers.Serializer):
    required = serializers.BooleanField(help_text="False: this event asks for no challenge (join without).")
    difficulty = serializers.IntegerField(help_text="The counter to find lies below this (0: none).")
    expiresAt = serializers.DateTimeField(allow_null=True)
    challenge = serializers.JSONField(
        allow_null=True,
        help_text="An ALTCHA PoW v2 challenge ({parameters, signature}; algorithm SHA-256): find the "
        "counter whose derived key starts with parameters.keyPrefix, then send base64(JSON "
        '{"challenge": <this>, "solution": {"counter", "derivedKey"}}) as `altcha` to POST /api/queue/join. '
        "Single-use, for this fan and event only.",
    )


class QueueStatusOutputSerializer(serializers.Serializer):
    eventId = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["prequeue", "waiting", "admitted", "expired"])
    position = serializers.IntegerField(allow_null=True, help_text="1 = next to be admitted.")
    usersAhead = serializers.IntegerField(allow_null=True)
    queueSize = serializers.IntegerField()
    estimatedWaitTime = serializers.IntegerField(allow_null=True, help_text="Seconds.")
    admissionExpiresAt = serializers.DateTimeField(required=False, help_text="Only when admitted.")


class QueueStatsOutputSerializer(serializers.Serializer):
    queueSize = serializers.IntegerField()
    admittedActive = serializers.IntegerField()
    admittedTotal = serializers.IntegerField()
    admissionRatePerMinute = serializers.FloatField()
    averageWaitTime = serializers.IntegerField(allow_null=True, help_text="Seconds.")


def status_body(queue: QueueStatus) -> dict[str, Any]:
    body: dict[str, Any] = {
        "eventId": queue.event_id,
        "status": queue.status,
        "position": queue.position,
        "usersAhead": queue.users_ahead,
        "queueSize": queue.queue_size,
        "estimatedWaitTime": queue.estimated_wait_seconds,
    }
    if queue.admission_expires_at is not None:
        body["admissionExpiresAt"] = api_datetime(queue.admission_expires_at)
    return body


def _event_from_path(event_id: int) -> Event:
    return queue_event_get(event_id=event_id)


class QueueReadApi(LimitsInOneRoundTrip, APIView):
    throttle_classes = QUEUE_THROTTLES
    throttle_scope = "queue_read"


class QueueJoinApi(APIView):
    # Only new joins count against the join limits: a fan already in line gets their place back.
    throttle_classes: list = []
    throttle_scope = "queue_join"

    @extend_schema(
        tags=TAGS,
        summary="Join the queue of an event",
        request=QueueJoinInputSerializer,
        responses={
            201: QueueStatusOutputSerializer,
            200: OpenApiResponse(QueueStatusOutputSerializer, description="Already queued: the same place."),
            400: OpenApiResponse(
                _ERROR,
                description="VALIDATION_ERROR, CHALLENGE_REQUIRED (no `altcha`) or CHALLENGE_INVALID "
                "(details.reason: malformed, expired, wrong_fan, wrong_event, used)",
            ),
            401: _ERROR,
            403: OpenApiResponse(_ERROR, description="EMAIL_NOT_VERIFIED: open the link we mailed first"),
            404: _ERROR,
            409: OpenApiResponse(_ERROR, description="SALE_CLOSED"),
            429: _ERROR,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = QueueJoinInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event = queue_event_get(event_id=serializer.validated_data["eventId"])
        current = queue_place_to_return(user=request.user, event=event)
        if current is not None:
            return Response(status_body(current), status=status.HTTP_200_OK)
        email_verified_require(user=request.user)  # type: ignore[arg-type]
        limits = queue_limits(
            self.throttle_scope,
            fan_id=request.user.pk,
            address=ratelimit.client_address_of_request(request),
        )
        wait = ratelimit.hit(limits)
        if wait is not None:
            self.throttled(request, wait)
        challenge_redeem(
            user_id=request.user.pk, event=event, payload=serializer.validated_data.get("altcha")
        )
        joined = queue_join(user=request.user, event=event)
        code = status.HTTP_200_OK if joined.already_in_queue else status.HTTP_201_CREATED
        return Response(status_body(joined), status=code)


class QueueChallengeApi(QueueReadApi):
    @extend_schema(
        tags=TAGS,
        summary="A proof-of-work challenge to join the queue of an event",
        parameters=[QueueChallengeInputSerializer],
        responses={200: QueueChallengeOutputSerializer, 400: _ERROR, 401: _ERROR, 404: _ERROR, 429: _ERROR},
    )
    def get(self, request: Request) -> Response:
        serializer = QueueChallengeInputSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        event = queue_event_get(event_id=serializer.validated_data["eventId"])
        issued = challenge_issue(user_id=request.user.pk, event=event)
        return Response(
            {
                "required": issued.challenge is not None,
                "difficulty": issued.difficulty,
                "expiresAt": api_datetime(datetime.fromtimestamp(issued.expires_at, tz=UTC))
                if issued.challenge is not None
                else None,
                "challenge": issued.challenge,
            }
        )


class QueuePositionApi(QueueReadApi):
    @extend_schema(
        tags=TAGS,
        summary="My place in the queue",
        responses={200: QueueStatusOutputSerializer, 401: _ERROR, 404: _ERROR, 429: _ERROR},
    )
    def get(self, request: Request, event_id: int) -> Response:
        event = _event_from_path(event_id)
        current = queue_status(user=request.user, event=event)
        if current is None:
            raise NotInQueue()
        return Response(status_body(current))


class QueueLeaveApi(QueueReadApi):
    @extend_schema(
        tags=TAGS,
        summary="Leave the queue (gives up the place, or the admission pass)",
        responses={204: None, 401: _ERROR, 404: _ERROR, 429: _ERROR},
    )
    def delete(self, request: Request, event_id: int) -> Response:
        queue_leave(user=request.user, event=_event_from_path(event_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class QueueStatsApi(QueueReadApi):
    @extend_schema(
        tags=TAGS,
        summary="Queue statistics of an event",
        responses={200: QueueStatsOutputSerializer, 401: _ERROR, 404: _ERROR, 429: _ERROR},
    )
    def get(self, request: Request, event_id: int) -> Response:
        stats = queue_stats(event=_event_from_path(event_id))
        return Response(
            {
                "queueSize": stats.queue_size,
                "admittedActive": stats.admitted_active,
                "admittedTotal": stats.admitted_total,
                "admissionRatePerMinute": stats.admission_rate_per_minute,
                "averageWaitTime": stats.average_wait_seconds,
            }
        )
