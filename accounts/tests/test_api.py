import logging

import pytest
from django.urls import include, path
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "velvet-lantern-orbit-42"
ACCESS_LIFETIME_SECONDS = 15 * 60


def _register_body(**overrides: str) -> dict[str, str]:
    return {
        "email": "asha@example.com",
        "password": STRONG_PASSWORD,
        "firstName": "Asha",
        "lastName": "Rao",
        **overrides,
    }


def _login(api_client: APIClient, email: str = "fan@example.com", password: str = DEFAULT_PASSWORD):
    return api_client.post("/api/auth/login", {"email": email, "password": password}, format="json")


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _is_blacklisted(raw_refresh: str) -> bool:
    jti = RefreshToken(raw_refresh, verify=False)["jti"]
    return BlacklistedToken.objects.filter(token__jti=jti).exists()


def _assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    return error


def _assert_session_body(body: dict, user: User) -> None:
    assert body["user"] == {
        "id": user.pk,
        "email": user.email,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "emailVerified": user.email_verified,
    }
    _assert_token_pair(body, user)


def _assert_token_pair(body: dict, user: User) -> None:
    assert body["tokenType"] == "Bearer"
    assert body["expiresIn"] == ACCESS_LIFETIME_SECONDS
    assert AccessToken(body["accessToken"])["user_id"] == str(user.pk)
    assert RefreshToken(body["refreshToken"])["user_id"] == str(user.pk)


# --- Register ---------------------------------------------------------------------------------------


def test_register_creates_the_user_and_returns_a_token_pair(api_client):
    response = api_client.post("/api/auth/register", _register_body(email="Asha@Example.com"), format="json")

    assert response.status_code == 201
    user = User.objects.get()
    assert user.email == "asha@example.com"
    assert user.password.startswith("argon2")
    _assert_session_body(response.json(), user)


def test_register_reports_missing_and_invalid_fields_by_their_camel_case_names(api_client):
    response = api_client.post("/api/auth/register", {"email": "not-an-email", "password": ""}, format="json")

    error = _assert_error(response, 400, "VALIDATION_ERROR")
    assert set(error["details"]) == {"email", "password", "firstName", "lastName"}
    assert not User.objects.exists()


def test_register_refuses_a_weak_password_with_field_details(api_client):
    response = api_client.post("/api/auth/register", _register_body(password="password123"), format="json")

    error = _assert_error(response, 400, "VALIDATION_ERROR")
    assert "This password is too common." in error["details"]["password"]
    assert not User.objects.exists()


def test_register_refuses_an_email_taken_in_another_letter_case(api_client, fan):
    response = api_client.post("/api/auth/register", _register_body(email="FAN@EXAMPLE.COM"), format="json")

    _assert_error(response, 409, "EMAIL_TAKEN")
    assert User.objects.count() == 1


# --- Login ------------------------------------------------------------------------------------------


def test_login_returns_the_user_and_a_token_pair(api_client, fan):
    response = _login(api_client, email="Fan@Example.com")

    assert response.status_code == 200
    _assert_session_body(response.json(), fan)


@pytest.mark.parametrize(
    ("email", "password"),
    [("fan@example.com", "not-my-password-1"), ("nobody@example.com", DEFAULT_PASSWORD)],
    ids=["wrong-password", "unknown-email"],
)
def test_login_with_bad_credentials_is_401_with_one_message_never_500(api_client, fan, email, password):
    response = _login(api_client, email=email, password=password)

    error = _assert_error(response, 401, "INVALID_CREDENTIALS")
    assert error["message"] == "The e-mail address or password is incorrect."


def test_login_refuses_an_inactive_user(api_client, fan):
    User.objects.filter(pk=fan.pk).update(is_active=False)

    _assert_error(_login(api_client), 401, "INVALID_CREDENTIALS")


def test_login_ignores_a_stale_authorization_header(fan):
    response = _login(_bearer("stale.broken.token"))

    assert response.status_code == 200


def test_login_without_a_password_is_a_validation_error(api_client, fan):
    response = api_client.post("/api/auth/login", {"email": "fan@example.com"}, format="json")

    error = _assert_error(response, 400, "VALIDATION_ERROR")
    assert "password" in error["details"]


# --- Refresh ----------------------------------------------------------------------------------------


def test_refresh_returns_a_new_pair_and_the_old_refresh_token_stops_working(api_client, fan):
    issued = _login(api_client).json()

    response = api_client.post("/api/auth/refresh", {"refreshToken": issued["refreshToken"]}, format="json")

    assert response.status_code == 200
    body = response.json()
    _assert_token_pair(body, fan)
    assert body["refreshToken"] != issued["refreshToken"]
    assert _is_blacklisted(issued["refreshToken"])
    reuse = api_client.post("/api/auth/refresh", {"refreshToken": issued["refreshToken"]}, format="json")
    _assert_error(reuse, 401, "TOKEN_INVALID")
    again = api_client.post("/api/auth/refresh", {"refreshToken": body["refreshToken"]}, format="json")
    assert again.status_code == 200


def test_refresh_refuses_an_access_token(api_client, fan):
    access = _login(api_client).json()["accessToken"]

    response = api_client.post("/api/auth/refresh", {"refreshToken": access}, format="json")

    _assert_error(response, 401, "TOKEN_INVALID")


def test_refresh_refuses_a_garbage_token(api_client):
    response = api_client.post("/api/auth/refresh", {"refreshToken": "garbage"}, format="json")

    _assert_error(response, 401, "TOKEN_INVALID")


def test_refresh_without_a_token_is_a_validation_error(api_client):
    error = _assert_error(api_client.post("/api/auth/refresh", {}, format="json"), 400, "VALIDATION_ERROR")

    assert "refreshToken" in error["details"]


# --- Profile ----------------------------------------------------------------------------------------


def test_profile_returns_the_user_of_the_access_token(fan_api, fan):
    response = fan_api.get("/api/auth/profile")

    assert response.status_code == 200
    assert response.json() == {
        "id": fan.pk,
        "email": "fan@example.com",
        "firstName": fan.first_name,
        "lastName": fan.last_name,
        "emailVerified": True,
    }


def test_profile_without_a_token_is_401(api_client):
    _assert_error(api_client.get("/api/auth/profile"), 401, "NOT_AUTHENTICATED")


def test_profile_refuses_a_refresh_token_used_as_an_access_token(api_client, fan):
    refresh = _login(api_client).json()["refreshToken"]

    response = _bearer(refresh).get("/api/auth/profile")

    _assert_error(response, 401, "AUTHENTICATION_FAILED")


def test_profile_refuses_the_access_token_of_a_deactivated_user(fan_api, fan):
    User.objects.filter(pk=fan.pk).update(is_active=False)

    _assert_error(fan_api.get("/api/auth/profile"), 401, "AUTHENTICATION_FAILED")


# --- Logout -----------------------------------------------------------------------------------------


def test_logout_blacklists_the_refresh_token(api_client, fan):
    tokens = _login(api_client).json()

    response = _bearer(tokens["accessToken"]).post(
        "/api/auth/logout", {"refreshToken": tokens["refreshToken"]}, format="json"
    )

    assert response.status_code == 204
    assert _is_blacklisted(tokens["refreshToken"])
    refresh = api_client.post("/api/auth/refresh", {"refreshToken": tokens["refreshToken"]}, format="json")
    _assert_error(refresh, 401, "TOKEN_INVALID")


def test_logout_refuses_another_users_refresh_token_and_leaves_it_working(api_client, fan, other_fan):
    mine = _login(api_client).json()
    theirs = _login(api_client, email="other@example.com").json()

    response = _bearer(mine["accessToken"]).post(
        "/api/auth/logout", {"refreshToken": theirs["refreshToken"]}, format="json"
    )

    _assert_error(response, 401, "TOKEN_INVALID")
    assert not _is_blacklisted(theirs["refreshToken"])


def test_logout_requires_authentication(api_client, fan):
    refresh = _login(api_client).json()["refreshToken"]

    response = api_client.post("/api/auth/logout", {"refreshToken": refresh}, format="json")

    _assert_error(response, 401, "NOT_AUTHENTICATED")
    assert not _is_blacklisted(refresh)


# --- Paths, throttling, logging, schema -------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/"], ids=["no-slash", "slash"])
def test_auth_routes_answer_with_and_without_a_trailing_slash(api_client, fan, suffix):
    login = api_client.post(
        f"/api/auth/login{suffix}", {"email": fan.email, "password": DEFAULT_PASSWORD}, format="json"
    )
    assert login.status_code == 200
    tokens = login.json()
    client = _bearer(tokens["accessToken"])

    assert client.get(f"/api/auth/profile{suffix}").status_code == 200
    refresh = api_client.post(
        f"/api/auth/refresh{suffix}", {"refreshToken": tokens["refreshToken"]}, format="json"
    )
    assert refresh.status_code == 200
    logout = client.post(
        f"/api/auth/logout{suffix}", {"refreshToken": refresh.json()["refreshToken"]}, format="json"
    )
    assert logout.status_code == 204
    register = api_client.post(f"/api/auth/register{suffix}", _register_body(), format="json")
    assert register.status_code == 201


def _auth_rates(settings, **rates):
    settings.AUTH_THROTTLE_ENABLE = True
    settings.AUTH_THROTTLE_RATES = {
        "account": "100/min",
        "address": "100/min",
        "address_hour": "1000/h",
        **rates,
    }


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/auth/login", {"email": "nobody@example.com", "password": "wrong-password-1"}),
        ("/api/auth/register", {"email": "not-an-email"}),
        ("/api/auth/refresh", {"refreshToken": "garbage"}),
    ],
    ids=["login", "register", "refresh"],
)
def test_auth_endpoints_are_throttled_per_address_with_429_and_retry_after(api_client, settings, url, body):
    _auth_rates(settings, address="2/minute")

    statuses = [api_client.post(url, body, format="json").status_code for _ in range(2)]
    throttled = api_client.post(url, body, format="json")

    assert 429 not in statuses
    error = _assert_error(throttled, 429, "RATE_LIMITED")
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert error["details"]["retryAfter"] == int(throttled["Retry-After"])


def test_the_sustained_address_limit_escalates_the_wait_to_its_hour(api_client, settings):
    _auth_rates(settings, address_hour="2/hour")
    body = {"refreshToken": "garbage"}

    statuses = [api_client.post("/api/auth/refresh", body, format="json").status_code for _ in range(3)]

    assert statuses[:2] == [401, 401]
    assert statuses[2] == 429
    throttled = api_client.post("/api/auth/refresh", body, format="json")
    assert 60 < int(throttled["Retry-After"]) <= 3600


def test_log_in_is_limited_per_account_before_the_address(settings, fan):
    _auth_rates(settings, account="2/minute")
    guesser = APIClient(REMOTE_ADDR="203.0.113.1")

    statuses = [_login(guesser, password=f"guess-{n}-x").status_code for n in range(3)]
    other_fan_same_address = _login(guesser, email="someone-else@example.com", password="whatever-1")

    assert statuses == [401, 401, 429]
    assert other_fan_same_address.status_code == 401  # counted per account, not for the whole address


def test_fans_behind_one_nat_address_are_not_locked_out_by_each_other(settings, django_user_model):
    _auth_rates(settings)  # the shipped shape: strict per account, generous per address
    settings.AUTH_THROTTLE_RATES = {**settings.AUTH_THROTTLE_RATES, "account": "3/min", "address": "50/min"}
    nat = APIClient(REMOTE_ADDR="203.0.113.9")
    for n in range(20):
        django_user_model.objects.create_user(email=f"nat-{n}@example.com", password=DEFAULT_PASSWORD)

    statuses = {_login(nat, email=f"nat-{n}@example.com").status_code for n in range(20)}

    assert statuses == {200}


def test_the_auth_throttle_counts_per_client_address(settings, fan):
    _auth_rates(settings, address="1/minute")
    first, second = APIClient(REMOTE_ADDR="203.0.113.1"), APIClient(REMOTE_ADDR="203.0.113.2")

    assert _login(first).status_code == 200
    assert _login(first).status_code == 429
    assert _login(second).status_code == 200


def test_a_spoofed_x_forwarded_for_header_does_not_escape_the_auth_throttle(settings, fan):
    _auth_rates(settings, address="1/minute")
    client = APIClient(REMOTE_ADDR="203.0.113.1")

    statuses = [
        client.post(
            "/api/auth/login",
            {"email": fan.email, "password": f"guess-number-{attempt}"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{attempt}",
        ).status_code
        for attempt in range(3)
    ]

    assert statuses[1:] == [429, 429]


def test_the_auth_throttle_switch_turns_it_off(api_client, settings):
    _auth_rates(settings, address="1/minute")
    settings.AUTH_THROTTLE_ENABLE = False

    statuses = {
        api_client.post("/api/auth/refresh", {"refreshToken": "x"}, format="json").status_code
        for _ in range(3)
    }

    assert statuses == {401}


def test_a_wrong_method_is_405_even_when_throttled(api_client, settings):
    _auth_rates(settings, address="1/minute")
    api_client.post("/api/auth/refresh", {"refreshToken": "x"}, format="json")

    response = api_client.get("/api/auth/login")

    assert response.status_code == 405


def test_auth_endpoints_never_log_passwords_or_tokens(api_client, caplog):
    caplog.set_level(logging.DEBUG)

    registered = api_client.post("/api/auth/register", _register_body(), format="json").json()
    _login(api_client, email="asha@example.com", password="wrong-password-1")
    logged_in = _login(api_client, email="asha@example.com", password=STRONG_PASSWORD).json()
    refreshed = api_client.post(
        "/api/auth/refresh", {"refreshToken": logged_in["refreshToken"]}, format="json"
    ).json()

    secrets = [STRONG_PASSWORD, "wrong-password-1"]
    for body in (registered, logged_in, refreshed):
        secrets += [body["accessToken"], body["refreshToken"]]
    assert caplog.records, "expected the auth flow to log something"
    for secret in secrets:
        assert secret not in caplog.text


def test_the_openapi_schema_documents_the_auth_endpoints():
    schema = SchemaGenerator(patterns=[path("api/", include("accounts.api_urls"))]).get_schema(public=True)

    operations = {route: schema["paths"][route] for route in schema["paths"] if not route.endswith("/")}
    assert set(operations) == {
        "/api/auth/register",
        "/api/auth/login",
        "/api/auth/refresh",
        "/api/auth/logout",
        "/api/auth/profile",
        "/api/auth/verify-email/resend",
    }
    for item in operations.values():
        for operation in item.values():
            assert operation["tags"] == ["auth"]
    components = schema["components"]["schemas"]
    assert set(components["RegisterInputRequest"]["properties"]) == {
        "email",
        "password",
        "firstName",
        "lastName",
    }
    assert set(components["AuthSessionOutput"]["properties"]) == {
        "user",
        "accessToken",
        "refreshToken",
        "tokenType",
        "expiresIn",
    }
    login = operations["/api/auth/login"]["post"]
    assert set(login["responses"]) == {"200", "400", "401", "429"}
    assert "security" not in login
    assert {"jwtAuth": []} in operations["/api/auth/profile"]["get"]["security"]
    assert login["operationId"] == "auth_login"
