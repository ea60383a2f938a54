import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_the_database(client, settings):
    settings.REDIS_URL = ""

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


def test_healthz_fails_with_503_when_redis_does_not_answer(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "redis": "error"}


def test_healthz_is_exempt_from_the_https_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.REDIS_URL = ""

    response = client.get("/healthz")

    assert response.status_code == 200


def test_pages_carry_a_content_security_policy_without_unsafe_inline_scripts(client):
    response = client.get("/healthz")

    policy = response["Content-Security-Policy"]
    script_src = next(part for part in policy.split(";") if "script-src" in part)
    assert "unsafe-inline" not in script_src
    assert "frame-ancestors 'none'" in policy
