"""``LimitsInOneRoundTrip``: DRF's throttling rule, with our limits counted together."""

from __future__ import annotations

import pytest
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from core.throttles import LimitsInOneRoundTrip


class _RefusesWithoutAWait(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        return False

    def wait(self) -> None:
        return None


class _View(LimitsInOneRoundTrip, APIView):
    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [_RefusesWithoutAWait]
    throttle_scope = "test"

    def get(self, request):
        return Response({"ok": True})


@pytest.mark.django_db
def test_another_kind_of_throttle_refusing_without_a_wait_still_refuses_as_in_drf():
    response = _View.as_view()(APIRequestFactory().get("/"))

    assert response.status_code == 429
    assert "Retry-After" not in response
