import pytest


@pytest.mark.django_db
def test_openapi_schema_is_generated(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Turnstile API"


@pytest.mark.django_db
def test_swagger_ui_is_served_without_a_cdn(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr.net" not in html
    assert "unpkg.com" not in html


@pytest.mark.django_db
def test_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/no-such-endpoint", HTTP_ACCEPT="application/json")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "NOT_FOUND", "message": "Not found.", "details": {}}}


@pytest.mark.django_db
def test_every_api_error_response_is_documented_as_the_one_error_envelope(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]

    assert set(components["Error"]["properties"]) == {"error"}
    assert not [name for name in components if name.endswith("Error") and name != "Error"]
    conflict = schema["paths"]["/api/inventory/lock-seats"]["post"]["responses"]["409"]
    assert conflict["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
