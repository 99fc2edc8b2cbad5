from core.urls import api_path
from payments.api import BookingTicketsApi, ConfirmApi, CreateIntentApi

urlpatterns = [
    *api_path("payment/create-intent", CreateIntentApi.as_view(), name="api-payment-create-intent"),
    *api_path("payment/confirm", ConfirmApi.as_view(), name="api-payment-confirm"),
    *api_path("bookings/<id:booking_id>/tickets", BookingTicketsApi.as_view(), name="api-booking-tickets"),
]
