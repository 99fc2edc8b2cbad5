"""JSON API of the pre-queue lottery: what anyone needs to check the draw."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import NotFound
from core.schema import ErrorSerializer
from events.selectors import event_get_public
from lottery.selectors import lottery_for_event, lottery_publication


class LotteryOutputSerializer(serializers.Serializer):
    eventId = serializers.IntegerField()
    eventSlug = serializers.SlugField()
    algorithm = serializers.CharField()
    commitment = serializers.CharField(help_text="SHA-256 of the seed (hex), published before the draw.")
    committedAt = serializers.DateTimeField()
    drawnAt = serializers.DateTimeField(allow_null=True)
    seed = serializers.CharField(allow_null=True, help_text="Hex; null until the draw.")
    entrants = serializers.ListField(child=serializers.CharField(), allow_null=True, help_text="Sorted ids.")
    order = serializers.ListField(child=serializers.CharField(), allow_null=True, help_text="Place 1 first.")


class LotteryApi(APIView):
    permission_classes = (AllowAny,)

    @extend_schema(
        tags=["events"],
        summary="The pre-queue lottery of an event",
        description="The commitment before the sale opens; the seed, the entrants and the drawn order after. "
        "scripts/verify_lottery.py recomputes the order from this document.",
        responses={200: LotteryOutputSerializer, 404: OpenApiResponse(ErrorSerializer)},
    )
    def get(self, request: Request, event_id: int) -> Response:
        event = event_get_public(event_id=event_id)
        lottery = lottery_for_event(event=event) if event is not None else None
        if lottery is None:
            raise NotFound(_("This event has no pre-queue lottery."))
        return Response(lottery_publication(lottery=lottery))
