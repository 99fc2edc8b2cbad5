import pytest
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "velvet-lantern-orbit-42"


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def test_user_changelist_searches_by_email_and_name(staff_client):
    UserFactory(email="ngozi@example.com", first_name="Ngozi", last_name="Okonkwo")
    UserFactory(email="sven@example.com", first_name="Sven", last_name="Lindqvist")
    url = reverse("admin:accounts_user_changelist")

    by_name = staff_client.get(url, {"q": "okonkwo"})
    by_email = staff_client.get(url, {"q": "sven@"})

    assert by_name.status_code == 200
    assert "ngozi@example.com" in by_name.text
    assert "sven@example.com" not in by_name.text
    assert "sven@example.com" in by_email.text
    assert "ngozi@example.com" not in by_email.text


def test_admin_adds_a_user_by_email_with_a_hashed_password(staff_client):
    response = staff_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "New.Fan@Example.com",
            "first_name": "New",
            "last_name": "Fan",
            "usable_password": "true",
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="new.fan@example.com")
    assert user.password.startswith("argon2")
    assert user.check_password(STRONG_PASSWORD)


def test_admin_refuses_an_email_taken_in_another_letter_case(staff_client, fan):
    response = staff_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "FAN@example.com",
            "usable_password": "true",
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
        },
    )

    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors
    assert User.objects.filter(email__iexact="fan@example.com").count() == 1


def test_admin_change_page_shows_the_user(staff_client, fan):
    response = staff_client.get(reverse("admin:accounts_user_change", args=[fan.pk]))

    assert response.status_code == 200
    assert fan.email in response.text
