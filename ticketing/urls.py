from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.metrics import metrics_view

admin.site.site_header = "Turnstile staff"
admin.site.site_title = "Turnstile staff"
admin.site.index_title = "Events, seats, queues and bookings"

handler400 = "core.views.bad_request"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"

# Resolution tries patterns in order: the pages fans load most come first.
urlpatterns = [
    path("", include("events.urls")),
    path("", include("queueing.urls")),
    path("", include("bookings.urls")),
    path("", include("payments.urls")),
    path("", include("lottery.urls")),
    path("", include("waitlist.urls")),
    path("metrics", metrics_view, name="metrics"),
    path("box-office/", include("boxoffice.urls")),
    path("accounts/", include("accounts.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("accounts.api_urls")),
    path("api/", include("events.api_urls")),
    path("api/", include("lottery.api_urls")),
    path("api/", include("queueing.api_urls")),
    path("api/", include("bookings.api_urls")),
    path("api/", include("payments.api_urls")),
    path("api/", include("waitlist.api_urls")),
    path("admin/", admin.site.urls),
]
