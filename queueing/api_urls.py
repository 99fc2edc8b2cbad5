from core.urls import api_path
from queueing.api import QueueChallengeApi, QueueJoinApi, QueueLeaveApi, QueuePositionApi, QueueStatsApi

urlpatterns = [
    *api_path("queue/join", QueueJoinApi.as_view(), name="api-queue-join"),
    *api_path("queue/challenge", QueueChallengeApi.as_view(), name="api-queue-challenge"),
    *api_path("queue/position/<id:event_id>", QueuePositionApi.as_view(), name="api-queue-position"),
    *api_path("queue/leave/<id:event_id>", QueueLeaveApi.as_view(), name="api-queue-leave"),
    *api_path("queue/stats/<id:event_id>", QueueStatsApi.as_view(), name="api-queue-stats"),
]
