from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import FormView

from accounts.forms import AccountPasswordChangeForm, EmailAuthenticationForm, SignupForm
from accounts.services import (
    EmailTaken,
    VerificationLinkInvalid,
    WeakPassword,
    email_verification_send,
    email_verify,
    user_create,
)
from accounts.throttles import (
    page_account_key,
    page_account_rate,
    page_address_rate,
    page_address_sustained_rate,
    verify_email_resend_wait,
)
from core.ratelimit import ratelimit


def _ratelimited(group: str, *, per_account: bool = False):
    """POSTs limited per address (generous, escalating) and, for log-in, per account first
    (accounts.throttles: the API's rates and switch)."""
    decorators = [
        ratelimit(group=f"{group}.ip", key="ip", rate=page_address_rate, method="POST"),
        ratelimit(group=f"{group}.ip-hour", key="ip", rate=page_address_sustained_rate, method="POST"),
    ]
    if per_account:
        decorators.insert(
            0,
            ratelimit(
                group=f"{group}.account",
                key=page_account_key,
                rate=page_account_rate,
                method="POST",
            ),
        )
    return method_decorator(decorators, name="dispatch")


@_ratelimited("accounts.signup")
@method_decorator(
    [sensitive_post_parameters("password1", "password2"), csrf_protect, never_cache], "dispatch"
)
class SignupView(auth_views.RedirectURLMixin, FormView):
    form_class = SignupForm
    template_name = "accounts/signup.html"
    next_page = settings.LOGIN_REDIRECT_URL

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            return HttpResponseRedirect(self.get_success_url())
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form: SignupForm) -> HttpResponse:
        data = form.cleaned_data
        try:
            user = user_create(
                email=data["email"],
                password=data["password1"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                site_url=self.request.build_absolute_uri("/"),
            )
        except EmailTaken as exc:
            form.add_error("email", exc.message)
            return self.form_invalid(form)
        except WeakPassword as exc:
            form.add_error("password1", exc.details["password"])
            return self.form_invalid(form)

        login(self.request, user, backend="accounts.backends.CachedModelBackend")
        messages.success(self.request, _("Welcome to Turnstile, %(name)s!") % {"name": user.display_name})
        if settings.ACCOUNTS_REQUIRE_VERIFIED_EMAIL:
            messages.info(
                self.request,
                _("We sent a link to %(email)s: open it to verify your address before joining a queue.")
                % {"email": user.email},
            )
        return HttpResponseRedirect(self.get_success_url())

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context[self.redirect_field_name] = self.get_redirect_url()
        return context


@_ratelimited("accounts.login", per_account=True)
class LoginView(auth_views.LoginView):
    authentication_form = EmailAuthenticationForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django refuses GET with 405), so a link or an image cannot log a fan out."""


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = AccountPasswordChangeForm
    template_name = "accounts/password_change_form.html"
    success_url = reverse_lazy("accounts:password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


@never_cache
@require_GET
def verify_email_view(request: HttpRequest, token: str) -> HttpResponseRedirect:
    """The link in the verification e-mail (it works logged in or not, in any browser)."""
    try:
        email_verify(token=token)
    except VerificationLinkInvalid as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Thank you: your e-mail address is verified. You can join queues now."))
    return redirect(settings.LOGIN_REDIRECT_URL)


@require_POST
@login_required
def verify_email_resend_view(request: HttpRequest) -> HttpResponseRedirect:
    if verify_email_resend_wait(request.user.pk) is not None:
        messages.warning(request, _("You asked for several links just now. Please wait before asking again."))
    else:
        sent = email_verification_send(user=request.user, site_url=request.build_absolute_uri("/"))  # type: ignore[arg-type]
        if sent:
            messages.success(request, _("We sent a new link to %(email)s.") % {"email": request.user.email})  # type: ignore[union-attr]
        else:
            messages.info(request, _("Your e-mail address is already verified."))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = settings.LOGIN_REDIRECT_URL
    return redirect(back)
