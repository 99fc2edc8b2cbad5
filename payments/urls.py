from django.urls import path

from payments import views

app_name = "payments"
urlpatterns = [
    path("bookings/<str:reference>/pay/", views.checkout, name="checkout"),
    path("bookings/<str:reference>/pay/simulate/", views.simulated_checkout, name="simulated_checkout"),
    path("bookings/<str:reference>/payment-return/", views.payment_return, name="return"),
    path("payments/stripe/webhook", views.stripe_webhook, name="stripe_webhook"),
]
