import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = {
    "SECRET_KEY": "x" * 20 + "-a-real-production-secret-of-sufficient-length",
    "EMAIL_HOST": "smtp.iafactory.dz",
}
# What gunicorn and the Celery worker do first: load the settings (they run no system checks).
LOAD_WSGI = [sys.executable, "-c", "import iafactory.wsgi"]
CHECK_DEPLOY = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]


def _run(command: list[str], **env: str) -> subprocess.CompletedProcess:
    # Test-only settings from pytest-env are not part of a production environment.
    unset = {"DEBUG", "HTTPS", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    unset |= {"EMAIL_BACKEND", "EMAIL_HOST"}
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(  # noqa: S603
        command,
        cwd=ROOT,
        env={**clean, "ALLOWED_HOSTS": "portail.iafactory.dz", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_production_profile_passes_check_deploy_without_warnings():
    result = _run(CHECK_DEPLOY, **PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("command", [CHECK_DEPLOY, LOAD_WSGI], ids=["check", "wsgi"])
def test_without_a_secret_key_production_refuses_to_start(command):
    result = _run(command, EMAIL_HOST="smtp.iafactory.dz")

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr
    assert "With DEBUG off the portal needs its own secret key" in result.stderr


@pytest.mark.parametrize("command", [CHECK_DEPLOY, LOAD_WSGI], ids=["check", "wsgi"])
def test_without_an_smtp_host_production_refuses_to_start(command):
    result = _run(command, SECRET_KEY=PRODUCTION["SECRET_KEY"])

    assert result.returncode != 0
    assert "ImproperlyConfigured: EMAIL_HOST is not set" in result.stderr


def test_an_explicit_email_backend_is_accepted_without_smtp_host():
    result = _run(
        LOAD_WSGI,
        SECRET_KEY=PRODUCTION["SECRET_KEY"],
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )

    assert result.returncode == 0, result.stderr


def test_development_starts_with_neither_secret_key_nor_smtp_host():
    result = _run(
        [
            sys.executable,
            "-c",
            "import iafactory.wsgi; from django.conf import settings; "
            "print(settings.SECRET_KEY, settings.EMAIL_BACKEND)",
        ],
        DEBUG="1",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django-insecure-dev-only-key",
        "django.core.mail.backends.console.EmailBackend",
    ]
