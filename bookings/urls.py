from django.urls import path

from bookings import views

app_name = "bookings"
urlpatterns = [
    path("events/<slug:slug>/seats/", views.seat_map_page, name="seat_map"),
    path("events/<slug:slug>/seats/states/", views.seat_states, name="states"),
    path("events/<slug:slug>/seats/hold/", views.seats_hold_view, name="hold"),
    path("events/<slug:slug>/seats/release/", views.seats_release_view, name="release"),
    path("events/<slug:slug>/seats/checkout/", views.checkout_view, name="checkout"),
    path("bookings/", views.booking_list, name="list"),
    path("bookings/<str:reference>/", views.booking_detail, name="detail"),
    path("bookings/<str:reference>/cancel/", views.booking_cancel_view, name="cancel"),
]
