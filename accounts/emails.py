"""E-mails about the fan's account, sent by Celery tasks after commit."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from accounts.models import User


def send_verification_link(*, user_id: int, link: str) -> bool:
    """The link that verifies the fan's address. Returns whether a mail was sent."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or user.email_verified:
        return False  # verified (or gone) meanwhile
    context = {
        "user": user,
        "link": link,
        "valid_hours": settings.ACCOUNTS_EMAIL_VERIFICATION_MAX_AGE_SECONDS // 3600,
    }
    EmailMultiAlternatives(
        subject=_("Verify your e-mail address for Turnstile"),
        body=render_to_string("emails/verify_email.txt", context),
        to=[user.email],
    ).send()
    return True
