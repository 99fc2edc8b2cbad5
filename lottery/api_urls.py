from core.urls import api_path
from lottery.api import LotteryApi

urlpatterns = [
    *api_path("events/<id:event_id>/lottery", LotteryApi.as_view(), name="api-event-lottery"),
]
