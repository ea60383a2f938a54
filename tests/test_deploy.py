import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _check_deploy(**env: str) -> subprocess.CompletedProcess:
    unset = {"DEBUG", "HTTPS", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}  # test-only settings
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**clean, "ALLOWED_HOSTS": "portail.iafactory.dz", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_production_profile_passes_check_deploy_without_warnings():
    result = _check_deploy(SECRET_KEY="x" * 20 + "-a-real-production-secret-of-sufficient-length")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_the_development_secret():
    result = _check_deploy()

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stdout + result.stderr
