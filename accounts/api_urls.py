from accounts.api import LoginApi, LogoutApi, ProfileApi, RefreshApi, RegisterApi, VerifyEmailResendApi
from core.urls import api_path

urlpatterns = [
    *api_path("auth/register", RegisterApi.as_view(), name="auth-register"),
    *api_path("auth/login", LoginApi.as_view(), name="auth-login"),
    *api_path("auth/refresh", RefreshApi.as_view(), name="auth-refresh"),
    *api_path("auth/logout", LogoutApi.as_view(), name="auth-logout"),
    *api_path("auth/profile", ProfileApi.as_view(), name="auth-profile"),
    *api_path("auth/verify-email/resend", VerifyEmailResendApi.as_view(), name="auth-verify-email-resend"),
]
