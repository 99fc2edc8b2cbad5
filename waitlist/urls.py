from django.urls import path

from waitlist import views

app_name = "waitlist"
urlpatterns = [
    path("events/<slug:slug>/waitlist/join/", views.waitlist_join_view, name="join"),
    path("events/<slug:slug>/waitlist/leave/", views.waitlist_leave_view, name="leave"),
]
