from core.urls import api_path
from waitlist.api import WaitlistJoinApi, WaitlistLeaveApi, WaitlistStatusApi

urlpatterns = [
    *api_path("waitlist/join", WaitlistJoinApi.as_view(), name="api-waitlist-join"),
    *api_path("waitlist/<id:event_id>", WaitlistStatusApi.as_view(), name="api-waitlist-status"),
    *api_path("waitlist/leave/<id:event_id>", WaitlistLeaveApi.as_view(), name="api-waitlist-leave"),
]
