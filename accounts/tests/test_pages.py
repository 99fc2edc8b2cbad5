import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "velvet-lantern-orbit-42"
SIGNUP_URL = reverse("accounts:signup")
LOGIN_URL = reverse("accounts:login")
LOGOUT_URL = reverse("accounts:logout")
PASSWORD_CHANGE_URL = reverse("accounts:password_change")
EVENTS_URL = reverse("events:list")


def _signup_data(**overrides: str) -> dict[str, str]:
    return {
        "email": "asha@example.com",
        "first_name": "Asha",
        "last_name": "Rao",
        "password1": STRONG_PASSWORD,
        "password2": STRONG_PASSWORD,
        **overrides,
    }


def _logged_in_user_id(client: Client) -> int | None:
    user_id = client.session.get(SESSION_KEY)
    return int(user_id) if user_id is not None else None


def _csrf_token_in(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "the page has no CSRF token field"
    return match.group(1)


# --- Sign-up ----------------------------------------------------------------------------------------


def test_signup_page_shows_the_form(client):
    response = client.get(SIGNUP_URL)

    assert response.status_code == 200
    for field in ("email", "first_name", "last_name", "password1", "password2"):
        assert f'name="{field}"' in response.text
    assert 'name="csrfmiddlewaretoken"' in response.text


def test_account_form_labels_are_the_exact_field_names_without_a_colon(client, fan):
    signup = client.get(SIGNUP_URL).text
    login = client.get(LOGIN_URL).text
    client.force_login(fan)
    password_change = client.get(PASSWORD_CHANGE_URL).text

    assert '<label for="id_email">E-mail address</label>' in signup
    assert '<label for="id_password1">Password</label>' in signup
    assert '<label for="id_password2">Password confirmation</label>' in signup
    assert '<label for="id_username">E-mail address</label>' in login
    assert '<label for="id_password">Password</label>' in login
    assert '<label for="id_old_password">Old password</label>' in password_change


def test_signup_creates_a_user_with_an_argon2_hash_and_logs_them_in(client):
    response = client.post(SIGNUP_URL, _signup_data(email="Asha@Example.com"))

    assert response.status_code == 302
    assert response.url == EVENTS_URL
    user = User.objects.get()
    assert user.email == "asha@example.com"
    assert (user.first_name, user.last_name) == ("Asha", "Rao")
    assert user.password.startswith("argon2")
    assert _logged_in_user_id(client) == user.pk


def test_signup_redirects_to_a_local_next_url(client):
    response = client.post(f"{SIGNUP_URL}?next=/events/some-show/", _signup_data())

    assert response.url == "/events/some-show/"


def test_signup_ignores_a_next_url_on_another_site(client):
    response = client.post(SIGNUP_URL, {**_signup_data(), "next": "https://evil.example.net/"})

    assert response.url == EVENTS_URL


def test_signup_rejects_a_weak_password_with_a_readable_error(client):
    response = client.post(SIGNUP_URL, _signup_data(password1="password123", password2="password123"))

    assert response.status_code == 200
    assert "This password is too common." in response.text
    assert not User.objects.exists()
    assert _logged_in_user_id(client) is None


def test_signup_rejects_a_taken_email_in_another_letter_case_with_a_readable_error(client, fan):
    response = client.post(SIGNUP_URL, _signup_data(email="FAN@example.com"))

    assert response.status_code == 200
    assert "An account with this e-mail address already exists." in response.text
    assert User.objects.count() == 1
    assert _logged_in_user_id(client) is None


def test_signup_rejects_a_mismatched_password_confirmation(client):
    response = client.post(SIGNUP_URL, _signup_data(password2="velvet-lantern-orbit-43"))

    assert response.status_code == 200
    assert "The two password fields didn\u2019t match." in response.text
    assert not User.objects.exists()


def test_signup_page_sends_a_logged_in_fan_on_to_the_events(client, fan):
    client.force_login(fan)

    response = client.get(SIGNUP_URL)

    assert response.status_code == 302
    assert response.url == EVENTS_URL


# --- Log-in -----------------------------------------------------------------------------------------


def test_login_page_asks_for_an_email_address(client):
    response = client.get(LOGIN_URL)

    assert response.status_code == 200
    assert 'type="email" name="username"' in response.text
    assert "E-mail address" in response.text


def test_login_with_email_and_password_logs_the_fan_in(client, fan):
    response = client.post(LOGIN_URL, {"username": "Fan@Example.com", "password": DEFAULT_PASSWORD})

    assert response.status_code == 302
    assert response.url == EVENTS_URL
    assert _logged_in_user_id(client) == fan.pk


def test_login_follows_a_local_next_url(client, fan):
    response = client.post(
        f"{LOGIN_URL}?next=/events/some-show/", {"username": fan.email, "password": DEFAULT_PASSWORD}
    )

    assert response.url == "/events/some-show/"


def test_login_with_a_wrong_password_shows_a_readable_error(client, fan):
    response = client.post(LOGIN_URL, {"username": fan.email, "password": "not-my-password-1"})

    assert response.status_code == 200
    assert "Please enter a correct e-mail address and password." in response.text
    assert _logged_in_user_id(client) is None


def test_login_refuses_an_inactive_user_with_the_same_error(client, fan):
    User.objects.filter(pk=fan.pk).update(is_active=False)

    response = client.post(LOGIN_URL, {"username": fan.email, "password": DEFAULT_PASSWORD})

    assert "Please enter a correct e-mail address and password." in response.text
    assert _logged_in_user_id(client) is None


# --- Log-out ----------------------------------------------------------------------------------------


def test_logout_refuses_get_so_a_link_cannot_log_a_fan_out(client, fan):
    client.force_login(fan)

    response = client.get(LOGOUT_URL)

    assert response.status_code == 405
    assert _logged_in_user_id(client) == fan.pk


def test_logout_by_post_ends_the_session(client, fan):
    client.force_login(fan)

    response = client.post(LOGOUT_URL)

    assert response.status_code == 302
    assert response.url == EVENTS_URL
    assert _logged_in_user_id(client) is None


# --- Password change --------------------------------------------------------------------------------


def test_password_change_requires_login(client):
    response = client.get(PASSWORD_CHANGE_URL)

    assert response.status_code == 302
    assert response.url == f"{LOGIN_URL}?next={PASSWORD_CHANGE_URL}"


def test_password_change_sets_the_new_password_and_keeps_the_fan_logged_in(client, fan):
    client.force_login(fan)

    response = client.post(
        PASSWORD_CHANGE_URL,
        {
            "old_password": DEFAULT_PASSWORD,
            "new_password1": STRONG_PASSWORD,
            "new_password2": STRONG_PASSWORD,
        },
    )

    assert response.status_code == 302
    assert response.url == reverse("accounts:password_change_done")
    fan.refresh_from_db()
    assert fan.check_password(STRONG_PASSWORD)
    assert fan.password.startswith("argon2")
    assert _logged_in_user_id(client) == fan.pk
    assert client.get(response.url).status_code == 200


def test_password_change_refuses_a_wrong_old_password(client, fan):
    client.force_login(fan)

    response = client.post(
        PASSWORD_CHANGE_URL,
        {
            "old_password": "not-my-password-1",
            "new_password1": STRONG_PASSWORD,
            "new_password2": STRONG_PASSWORD,
        },
    )

    assert response.status_code == 200
    assert "Your old password was entered incorrectly." in response.text
    fan.refresh_from_db()
    assert fan.check_password(DEFAULT_PASSWORD)


def test_password_change_refuses_a_weak_new_password(client, fan):
    client.force_login(fan)

    response = client.post(
        PASSWORD_CHANGE_URL,
        {"old_password": DEFAULT_PASSWORD, "new_password1": "password123", "new_password2": "password123"},
    )

    assert response.status_code == 200
    assert "This password is too common." in response.text


# --- CSRF -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", [SIGNUP_URL, LOGIN_URL, LOGOUT_URL, PASSWORD_CHANGE_URL], ids=["signup", "login", "logout", "pw"]
)
def test_account_forms_refuse_a_post_without_a_csrf_token(fan, url):
    client = Client(enforce_csrf_checks=True)
    client.force_login(fan)

    response = client.post(url, {"username": fan.email, "password": DEFAULT_PASSWORD, **_signup_data()})

    assert response.status_code == 403


def test_signup_form_posts_with_the_csrf_token_it_renders():
    client = Client(enforce_csrf_checks=True)
    token = _csrf_token_in(client.get(SIGNUP_URL).text)

    response = client.post(SIGNUP_URL, {**_signup_data(), "csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert User.objects.filter(email="asha@example.com").exists()


def test_login_form_posts_with_the_csrf_token_it_renders(fan):
    client = Client(enforce_csrf_checks=True)
    token = _csrf_token_in(client.get(LOGIN_URL).text)

    response = client.post(
        LOGIN_URL, {"username": fan.email, "password": DEFAULT_PASSWORD, "csrfmiddlewaretoken": token}
    )

    assert response.status_code == 302
    assert _logged_in_user_id(client) == fan.pk


# --- Rate limits ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [LOGIN_URL, SIGNUP_URL], ids=["login", "signup"])
def test_login_and_signup_posts_are_rate_limited_per_address(client, settings, url):
    settings.AUTH_THROTTLE_RATES = {"account": "100/m", "address": "2/m", "address_hour": "100/h"}
    bad_attempt = {"username": "nobody@example.com", "password": "x", **_signup_data(password2="mismatch")}

    statuses = [client.post(url, bad_attempt).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert client.get(url).status_code == 200  # reading the page is never limited


def test_login_posts_are_limited_per_account_first(client, settings, fan):
    settings.AUTH_THROTTLE_RATES = {"account": "2/m", "address": "100/m", "address_hour": "1000/h"}
    guess = {"username": fan.email.upper(), "password": "wrong-guess-1"}

    statuses = [client.post(LOGIN_URL, guess).status_code for _ in range(3)]
    someone_else = client.post(LOGIN_URL, {"username": "other-fan@example.com", "password": "x"})

    assert statuses == [200, 200, 429]
    assert someone_else.status_code == 200  # the form again, not a lock-out of the whole address


def test_the_header_names_the_fan_without_showing_their_email_address(client):
    fan = User.objects.create_user(email="fan7@turnstile.local", password=DEFAULT_PASSWORD)
    client.force_login(fan)

    html = client.get(reverse("events:list")).content.decode()

    assert 'class="nav-account">fan7<' in html
    assert "fan7@turnstile.local" not in html
    fan.first_name, fan.last_name = "Asha", "Rao"
    fan.save()
    assert 'class="nav-account">Asha Rao<' in client.get(reverse("events:list")).content.decode()


def test_messages_are_a_plain_list_inside_a_status_region_with_a_favicon_on_every_page(client):
    response = client.post(reverse("accounts:signup"), _signup_data(), follow=True)

    html = response.content.decode()
    assert re.search(r'<div class="messages" role="status">\s*<ul>\s*<li class="message', html)
    assert '<link rel="icon" href="/static/img/favicon.svg"' in html
