from bookings.api import (
    BookingCancelApi,
    BookingCreateApi,
    BookingDetailApi,
    BookingListApi,
    EventSeatsApi,
    LockSeatsApi,
    ReleaseSeatsApi,
)
from core.urls import api_path

urlpatterns = [
    *api_path("inventory/events/<id:event_id>/seats", EventSeatsApi.as_view(), name="api-inventory-seats"),
    *api_path("inventory/lock-seats", LockSeatsApi.as_view(), name="api-inventory-lock-seats"),
    *api_path("inventory/release-seats", ReleaseSeatsApi.as_view(), name="api-inventory-release-seats"),
    *api_path("booking/create", BookingCreateApi.as_view(), name="api-booking-create"),
    *api_path("bookings", BookingListApi.as_view(), name="api-bookings"),
    *api_path("bookings/<id:booking_id>", BookingDetailApi.as_view(), name="api-booking-detail"),
    *api_path("bookings/<id:booking_id>/cancel", BookingCancelApi.as_view(), name="api-booking-cancel"),
]
