from django.urls import path

from lottery import views

app_name = "lottery"
urlpatterns = [
    path("events/<slug:slug>/lottery/", views.lottery_page, name="page"),
    path("events/<slug:slug>/lottery.json", views.lottery_download, name="download"),
]
