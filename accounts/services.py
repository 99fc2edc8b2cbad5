"""Account writes: sign-up, credential checks, e-mail verification and the JWT lifecycle (issue,
rotate, revoke).

Pages and the API both call these; neither re-implements a rule. Passwords and tokens are never logged.

E-mail verification: sign-up (page and API) mails a signed link (``email_verification_send``); opening it
(``email_verify``) sets ``User.email_verified_at``. The token signs the user id *and* the address, so a
link stops working when the address changes; it expires after
``ACCOUNTS_EMAIL_VERIFICATION_MAX_AGE_SECONDS``.
With ``ACCOUNTS_REQUIRE_VERIFIED_EMAIL`` on, ``email_verified_require`` refuses a fan who has not
verified (403 ``EMAIL_NOT_VERIFIED``): the queue's join calls it on the page and on the API.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.models import update_last_login
from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables
from rest_framework import status
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from core.exceptions import ApplicationError, Conflict, Forbidden

logger = logging.getLogger(__name__)

AUTH_SCHEME = "Bearer"


class EmailTaken(Conflict):
    code = "EMAIL_TAKEN"
    default_message = _("An account with this e-mail address already exists.")


class WeakPassword(ApplicationError):
    """Django's password validators said no; `details["password"]` lists their messages."""

    code = "VALIDATION_ERROR"
    status_code = status.HTTP_400_BAD_REQUEST
    default_message = _("The password is too weak.")


class InvalidCredentials(ApplicationError):
    # One message for a wrong password, an unknown e-mail and an inactive account: no account enumeration.
    code = "INVALID_CREDENTIALS"
    status_code = status.HTTP_401_UNAUTHORIZED
    default_message = _("The e-mail address or password is incorrect.")


class TokenInvalid(ApplicationError):
    code = "TOKEN_INVALID"
    status_code = status.HTTP_401_UNAUTHORIZED
    default_message = _("The token is invalid, expired or revoked.")


class EmailNotVerified(Forbidden):
    code = "EMAIL_NOT_VERIFIED"
    default_message = _(
        "Verify your e-mail address first: open the link we sent you. You can ask for a new link."
    )


class VerificationLinkInvalid(ApplicationError):
    code = "VERIFICATION_LINK_INVALID"
    default_message = _("This verification link is invalid or has expired. Ask for a new one.")


_VERIFICATION_SALT = "accounts.email-verification"


@dataclass(frozen=True)
class AuthTokens:
    user: User
    access: str
    refresh: str
    expires_in: int  # seconds until the access token expires
    token_type: str = AUTH_SCHEME


def email_normalize(email: str) -> str:
    return User.objects.normalize_email(email.strip()).lower()


@sensitive_variables("password")
def user_create(
    *,
    email: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    site_url: str | None = None,
) -> User:
    """Create an active fan account. Raises EmailTaken (any letter case) or WeakPassword.
    With ``site_url`` (sign-up on the page or the API) the verification link is mailed."""
    email = email_normalize(email)
    if User.objects.filter(email__iexact=email).exists():
        raise EmailTaken(details={"email": [str(EmailTaken.default_message)]})

    user = User(email=email, first_name=first_name.strip(), last_name=last_name.strip())
    try:
        # With the user, so that a password resembling the e-mail address or name is refused.
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise WeakPassword(details={"password": list(exc.messages)}) from exc
    user.set_password(password)

    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        # Two sign-ups with one address at the same moment: the case-insensitive unique constraint decides.
        raise EmailTaken(details={"email": [str(EmailTaken.default_message)]}) from exc

    logger.info("User %s signed up.", user.pk)
    if site_url is not None:
        email_verification_send(user=user, site_url=site_url)
    return user


def email_verification_token(*, user: User) -> str:
    """A signed, timestamped token naming the user and the address it was sent to."""
    return signing.TimestampSigner(salt=_VERIFICATION_SALT).sign_object({"u": user.pk, "e": user.email})


def email_verification_send(*, user: User, site_url: str) -> bool:
    """Mail the fan a link that verifies their address (after commit, through Celery).
    ``site_url`` is the site's address as the fan reached it (``request.build_absolute_uri("/")``).
    Returns False when the address is already verified (nothing to send)."""
    from accounts import tasks  # tasks call services, so the import is here

    if user.email_verified:
        return False
    path = reverse("accounts:verify_email", kwargs={"token": email_verification_token(user=user)})
    link = site_url.rstrip("/") + path
    transaction.on_commit(lambda: tasks.email_verification_link.delay(user.pk, link), robust=True)
    return True


def email_verify(*, token: str) -> User:
    """The user whose address the token proves, now verified (idempotent). ``VerificationLinkInvalid``
    for a forged or expired token, or one sent to an address the account no longer has."""
    max_age = settings.ACCOUNTS_EMAIL_VERIFICATION_MAX_AGE_SECONDS
    try:
        claim = signing.TimestampSigner(salt=_VERIFICATION_SALT).unsign_object(token, max_age=max_age)
    except signing.BadSignature as exc:  # SignatureExpired is one too
        raise VerificationLinkInvalid() from exc
    if not isinstance(claim, dict):
        raise VerificationLinkInvalid()
    user_id = claim.get("u")
    if not isinstance(user_id, int):
        raise VerificationLinkInvalid()
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or user.email != claim.get("e"):
        raise VerificationLinkInvalid()
    if user.email_verified_at is None:
        with transaction.atomic():  # two clicks on the link at once keep the first time
            user = User.objects.select_for_update().get(pk=user.pk)
            if user.email_verified_at is None:
                user.email_verified_at = timezone.now()
                user.save(update_fields=["email_verified_at"])  # a save: cached session users forget it
                logger.info("User %s verified their e-mail address.", user.pk)
    return user


def email_verified_require(*, user: User) -> None:
    """``EmailNotVerified`` unless the fan verified their address (or the rule is switched off)."""
    if settings.ACCOUNTS_REQUIRE_VERIFIED_EMAIL and not user.email_verified:
        raise EmailNotVerified()


@sensitive_variables("password")
def user_authenticate(*, email: str, password: str, request: HttpRequest | Any | None = None) -> User:
    """The active user with these credentials, or InvalidCredentials."""
    user = authenticate(request, username=email_normalize(email), password=password)
    if user is None or not user.is_active:
        logger.info("Failed API log-in.")
        raise InvalidCredentials()
    return user  # type: ignore[return-value]


def auth_tokens_issue(*, user: User) -> AuthTokens:
    """A new refresh/access pair for a user who just proved who they are (log-in or sign-up)."""
    refresh = RefreshToken.for_user(user)
    if jwt_settings.UPDATE_LAST_LOGIN:
        update_last_login(User, user)
    return _auth_tokens(user=user, refresh=refresh)


@transaction.atomic
def auth_tokens_refresh(*, refresh_token: str) -> AuthTokens:
    """Trade a refresh token for a new pair. The old refresh token is blacklisted: it works exactly once."""
    old = _refresh_token_parse(refresh_token)
    user = User.objects.filter(pk=old.get(jwt_settings.USER_ID_CLAIM), is_active=True).first()
    if user is None:
        raise TokenInvalid()
    _refresh_token_blacklist_once(old)
    return _auth_tokens(user=user, refresh=RefreshToken.for_user(user))


def auth_token_revoke(*, user: User, refresh_token: str) -> None:
    """Log out one device: blacklist its refresh token. Only the token's owner may revoke it."""
    token = _refresh_token_parse(refresh_token)
    if str(token.get(jwt_settings.USER_ID_CLAIM)) != str(user.pk):
        raise TokenInvalid()
    token.blacklist()


def _auth_tokens(*, user: User, refresh: RefreshToken) -> AuthTokens:
    return AuthTokens(
        user=user,
        access=str(refresh.access_token),
        refresh=str(refresh),
        expires_in=int(jwt_settings.ACCESS_TOKEN_LIFETIME.total_seconds()),
    )


def _refresh_token_parse(raw: str) -> RefreshToken:
    """Signature, expiry, type ("refresh", so an access token is refused) and blacklist, or TokenInvalid."""
    try:
        return RefreshToken(raw)  # type: ignore[arg-type]
    except TokenError as exc:
        raise TokenInvalid() from exc


def _refresh_token_blacklist_once(token: RefreshToken) -> None:
    # The row lock makes two concurrent refreshes with one token take turns: the second sees the blacklist
    # entry the first created and fails, so a stolen refresh token cannot be rotated twice.
    jti = token[jwt_settings.JTI_CLAIM]
    # order_by("pk") replaces the model's ordering by user, a nullable join that FOR UPDATE refuses.
    outstanding = OutstandingToken.objects.select_for_update().filter(jti=jti).order_by("pk").first()
    if outstanding is None:
        # Every refresh token we issue is recorded; an unrecorded one was not issued by this service.
        raise TokenInvalid()
    _, created = BlacklistedToken.objects.get_or_create(token=outstanding)
    if not created:
        raise TokenInvalid()
