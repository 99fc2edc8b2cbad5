from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("signup/", views.SignupView.as_view(), name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("verify-email/resend/", views.verify_email_resend_view, name="verify_email_resend"),
    path("verify-email/<str:token>/", views.verify_email_view, name="verify_email"),
    path("password/done/", views.PasswordChangeDoneView.as_view(), name="password_change_done"),
]
