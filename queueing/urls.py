from django.urls import path

from queueing import views

app_name = "queueing"
urlpatterns = [
    path("events/<slug:slug>/queue/", views.queue_page, name="page"),
    # The same view: with HX-Request it renders the status panel alone (what the polling fallback asks for).
    path("events/<slug:slug>/queue/status/", views.queue_page, name="status"),
    path("events/<slug:slug>/queue/join/", views.queue_join_view, name="join"),
    path("events/<slug:slug>/queue/challenge/", views.queue_challenge_view, name="challenge"),
    path("events/<slug:slug>/queue/leave/", views.queue_leave_view, name="leave"),
]
