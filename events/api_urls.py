from core.urls import api_path
from events.api import EventDetailApi, EventListApi

urlpatterns = [
    *api_path("events", EventListApi.as_view(), name="api-events"),
    *api_path("events/<id:event_id>", EventDetailApi.as_view(), name="api-event"),
    # The original Node service's paths, kept so its mobile clients can switch unchanged.
    *api_path("inventory/events", EventListApi.as_view(), name="api-inventory-events"),
]
