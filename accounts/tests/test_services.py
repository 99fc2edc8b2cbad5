import threading

import pytest
from django.db import connection
from django.db.models.signals import pre_save
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import User
from accounts.services import (
    EmailTaken,
    InvalidCredentials,
    TokenInvalid,
    WeakPassword,
    auth_token_revoke,
    auth_tokens_issue,
    auth_tokens_refresh,
    user_authenticate,
    user_create,
)
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

STRONG_PASSWORD = "velvet-lantern-orbit-42"

pytestmark = pytest.mark.django_db


def _is_blacklisted(raw_refresh: str) -> bool:
    jti = RefreshToken(raw_refresh, verify=False)["jti"]
    return BlacklistedToken.objects.filter(token__jti=jti).exists()


# --- user_create ------------------------------------------------------------------------------------


def test_user_create_stores_a_lower_case_email_and_an_argon2_hash():
    user = user_create(
        email="  Asha.Rao@Example.COM ", password=STRONG_PASSWORD, first_name="Asha", last_name="Rao"
    )

    user.refresh_from_db()
    assert user.email == "asha.rao@example.com"
    assert user.password.startswith("argon2")
    assert user.check_password(STRONG_PASSWORD)
    assert (user.first_name, user.last_name, user.is_active, user.is_staff) == ("Asha", "Rao", True, False)


def test_user_create_refuses_an_email_taken_in_another_letter_case():
    UserFactory(email="asha@example.com")

    with pytest.raises(EmailTaken) as excinfo:
        user_create(email="ASHA@example.com", password=STRONG_PASSWORD)

    assert excinfo.value.code == "EMAIL_TAKEN"
    assert excinfo.value.status_code == 409
    assert User.objects.filter(email__iexact="asha@example.com").count() == 1


def test_user_create_turns_a_sign_up_race_lost_at_the_database_into_email_taken():
    # Another sign-up with the same address commits between our check and our insert.
    def competing_sign_up(sender, instance, **kwargs):
        User.objects.bulk_create([User(email=instance.email.upper(), password="!")])

    pre_save.connect(competing_sign_up, sender=User, dispatch_uid="competing_sign_up")
    try:
        with pytest.raises(EmailTaken):
            user_create(email="race@example.com", password=STRONG_PASSWORD)
    finally:
        pre_save.disconnect(sender=User, dispatch_uid="competing_sign_up")


@pytest.mark.parametrize(
    ("password", "expected_message"),
    [
        ("short1!", "This password is too short. It must contain at least 8 characters."),
        ("password123", "This password is too common."),
        ("4815162342", "This password is entirely numeric."),
    ],
)
def test_user_create_refuses_a_weak_password_with_the_validator_messages(password, expected_message):
    with pytest.raises(WeakPassword) as excinfo:
        user_create(email="weak@example.com", password=password)

    assert expected_message in excinfo.value.details["password"]
    assert excinfo.value.status_code == 400
    assert not User.objects.filter(email="weak@example.com").exists()


def test_user_create_refuses_a_password_that_resembles_the_email_address():
    with pytest.raises(WeakPassword) as excinfo:
        user_create(email="marigoldsunflower@example.com", password="marigoldsunflower")

    assert any("too similar" in message for message in excinfo.value.details["password"])


# --- user_authenticate ------------------------------------------------------------------------------


def test_user_authenticate_accepts_the_email_in_any_letter_case(fan):
    assert user_authenticate(email="FAN@Example.com", password=DEFAULT_PASSWORD) == fan


@pytest.mark.parametrize(
    ("email", "password", "active"),
    [
        ("fan@example.com", "wrong-password-123", True),
        ("nobody@example.com", DEFAULT_PASSWORD, True),
        ("fan@example.com", DEFAULT_PASSWORD, False),
    ],
    ids=["wrong-password", "unknown-email", "inactive-user"],
)
def test_user_authenticate_refuses_bad_credentials_with_one_indistinguishable_error(email, password, active):
    UserFactory(email="fan@example.com", is_active=active)

    with pytest.raises(InvalidCredentials) as excinfo:
        user_authenticate(email=email, password=password)

    assert excinfo.value.code == "INVALID_CREDENTIALS"
    assert excinfo.value.message == str(InvalidCredentials.default_message)


# --- tokens -----------------------------------------------------------------------------------------


def test_auth_tokens_issue_gives_a_pair_for_the_user_and_records_the_log_in(fan):
    tokens = auth_tokens_issue(user=fan)

    assert AccessToken(tokens.access)["user_id"] == str(fan.pk)
    assert RefreshToken(tokens.refresh)["user_id"] == str(fan.pk)
    assert tokens.expires_in == 15 * 60
    assert tokens.token_type == "Bearer"
    fan.refresh_from_db()
    assert fan.last_login is not None


def test_auth_tokens_refresh_rotates_the_pair_and_blacklists_the_old_refresh_token(fan):
    issued = auth_tokens_issue(user=fan)

    refreshed = auth_tokens_refresh(refresh_token=issued.refresh)

    assert refreshed.refresh != issued.refresh
    assert AccessToken(refreshed.access)["user_id"] == str(fan.pk)
    assert _is_blacklisted(issued.refresh)
    assert not _is_blacklisted(refreshed.refresh)
    with pytest.raises(TokenInvalid):
        auth_tokens_refresh(refresh_token=issued.refresh)


def test_auth_tokens_refresh_refuses_an_access_token(fan):
    with pytest.raises(TokenInvalid):
        auth_tokens_refresh(refresh_token=auth_tokens_issue(user=fan).access)


def test_auth_tokens_refresh_refuses_a_deactivated_user(fan):
    issued = auth_tokens_issue(user=fan)
    User.objects.filter(pk=fan.pk).update(is_active=False)

    with pytest.raises(TokenInvalid):
        auth_tokens_refresh(refresh_token=issued.refresh)


def test_auth_tokens_refresh_refuses_a_deleted_user_without_crashing(fan):
    issued = auth_tokens_issue(user=fan)
    fan.delete()

    with pytest.raises(TokenInvalid):
        auth_tokens_refresh(refresh_token=issued.refresh)


@pytest.mark.django_db(transaction=True)
def test_one_refresh_token_used_twice_at_once_is_rotated_only_once():
    fan = UserFactory(email="racer@example.com")
    raw_refresh = auth_tokens_issue(user=fan).refresh
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def refresh() -> None:
        try:
            barrier.wait()
            auth_tokens_refresh(refresh_token=raw_refresh)
            outcomes.append("rotated")
        except TokenInvalid:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["refused", "rotated"]


def test_auth_token_revoke_blacklists_the_owners_refresh_token(fan):
    issued = auth_tokens_issue(user=fan)

    auth_token_revoke(user=fan, refresh_token=issued.refresh)

    assert _is_blacklisted(issued.refresh)


def test_auth_token_revoke_refuses_another_users_token_and_leaves_it_valid(fan, other_fan):
    others = auth_tokens_issue(user=other_fan)

    with pytest.raises(TokenInvalid):
        auth_token_revoke(user=fan, refresh_token=others.refresh)

    assert not _is_blacklisted(others.refresh)
