from django.urls import path

from boxoffice import views

app_name = "boxoffice"

urlpatterns = [
    path("events/<int:event_id>/", views.dashboard, name="dashboard"),
    path("events/<int:event_id>/figures", views.dashboard_figures, name="figures"),
    path("events/<int:event_id>/history", views.dashboard_history, name="history"),
    path("events/<int:event_id>/control/<slug:control>", views.dashboard_control, name="control"),
]
