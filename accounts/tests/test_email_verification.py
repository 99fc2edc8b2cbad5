"""E-mail verification: sign-up (page and API) mails a signed link; opening it verifies the address;
fans ask for a new link (limited); a forged, expired or outdated link verifies nothing."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from accounts.services import email_verification_token
from accounts.tests.factories import UserFactory
from accounts.tests.test_api import _register_body
from accounts.tests.test_pages import SIGNUP_URL, _signup_data
from conftest import jwt_client_for

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://testserver(/accounts/verify-email/[^/\s]+/)")


def _link_in_mail(to: str) -> str:
    sent = [message for message in mail.outbox if message.to == [to]]
    assert len(sent) == 1, [message.to for message in mail.outbox]
    match = LINK.search(sent[0].body)
    assert match, sent[0].body
    return match[1]


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_signing_up_on_the_page_mails_a_link_that_verifies_the_address(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(SIGNUP_URL, _signup_data(email="asha@example.com"))
    user = User.objects.get(email="asha@example.com")
    assert not user.email_verified
    assert any("We sent a link to asha@example.com" in message for message in _messages(response))

    opened = client.get(_link_in_mail("asha@example.com"))

    assert opened.status_code == 302
    user.refresh_from_db()
    assert user.email_verified
    assert any("verified" in message for message in _messages(opened))


def test_registering_on_the_api_mails_the_link_and_the_profile_tells(
    api_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        body = api_client.post("/api/auth/register", _register_body(), format="json").json()
    assert body["user"]["emailVerified"] is False

    api_client.get(_link_in_mail("asha@example.com"))

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['accessToken']}")
    assert api_client.get("/api/auth/profile").json()["emailVerified"] is True


@pytest.mark.parametrize("token", ["nonsense", "eyJ1IjoxfQ:1abc:forged"])
def test_a_forged_link_verifies_nothing(client, token):
    user = UserFactory(unverified=True)
    response = client.get(reverse("accounts:verify_email", kwargs={"token": token}))
    assert response.status_code == 302
    assert any("invalid or has expired" in message for message in _messages(response))
    user.refresh_from_db()
    assert not user.email_verified


def test_a_link_stops_working_when_the_address_changes(client):
    user = UserFactory(email="old@example.com", unverified=True)
    token = email_verification_token(user=user)
    user.email = "new@example.com"
    user.save()

    client.get(reverse("accounts:verify_email", kwargs={"token": token}))

    user.refresh_from_db()
    assert not user.email_verified


def test_an_expired_link_verifies_nothing(client, settings):
    user = UserFactory(unverified=True)
    token = email_verification_token(user=user)
    settings.ACCOUNTS_EMAIL_VERIFICATION_MAX_AGE_SECONDS = -1

    client.get(reverse("accounts:verify_email", kwargs={"token": token}))

    user.refresh_from_db()
    assert not user.email_verified


def test_opening_the_link_twice_keeps_the_first_time(client):
    user = UserFactory(unverified=True)
    url = reverse("accounts:verify_email", kwargs={"token": email_verification_token(user=user)})
    client.get(url)
    user.refresh_from_db()
    first = user.email_verified_at

    client.get(url)

    user.refresh_from_db()
    assert user.email_verified_at == first


def test_the_api_resends_the_link_at_most_three_times_an_hour(django_capture_on_commit_callbacks):
    user = UserFactory(email="new@example.com", unverified=True)
    client = jwt_client_for(user)

    with django_capture_on_commit_callbacks(execute=True):
        answers = [client.post("/api/auth/verify-email/resend") for _ in range(4)]

    assert [answer.status_code for answer in answers] == [202, 202, 202, 429]
    assert answers[0].json() == {"sent": True}
    assert answers[3].json()["error"]["code"] == "RATE_LIMITED"
    assert "Retry-After" in answers[3].headers
    assert len(mail.outbox) == 3


def test_a_verified_fan_gets_no_new_link(fan_api):
    response = fan_api.post("/api/auth/verify-email/resend")
    assert (response.status_code, response.json()) == (202, {"sent": False})
    assert mail.outbox == []


def test_the_resend_endpoint_needs_a_fan(api_client):
    assert api_client.post("/api/auth/verify-email/resend").status_code == 401


def test_the_page_resends_the_link_and_goes_back(client, django_capture_on_commit_callbacks):
    user = UserFactory(email="new@example.com", unverified=True)
    client.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:verify_email_resend"), {"next": "/events/x/queue/"})

    assert response.status_code == 302
    assert response["Location"] == "/events/x/queue/"
    assert any("We sent a new link" in message for message in _messages(response))
    assert len(mail.outbox) == 1


def test_demo_fans_and_staff_are_verified():
    call_command("seed_demo", verbosity=0)
    assert not User.objects.filter(
        email__endswith="@turnstile.local", email_verified_at__isnull=True
    ).exists()
