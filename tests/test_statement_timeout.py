"""Web requests run with a statement_timeout; the close, Celery and commands without one."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
SHOW = (
    "from django.db import connection\n"
    "with connection.cursor() as cursor:\n"
    "    cursor.execute('SHOW statement_timeout')\n"
    "    print(cursor.fetchone()[0])\n"
)


def statement_timeout(prelude: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "IAFACTORY_WEB_PROCESS"}
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", prelude + SHOW],
        cwd=ROOT,
        env={**clean, "DEBUG": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture
def postgres_url():
    if connection.vendor != "postgresql":
        pytest.skip("statement_timeout is PostgreSQL's: set DATABASE_URL")
    # The test database (it exists while the tests run; the configured one may not).
    url = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))


def test_the_web_process_gets_the_configured_statement_timeout(postgres_url):
    shown = statement_timeout(
        "import iafactory.wsgi\n", DATABASE_URL=postgres_url, DB_STATEMENT_TIMEOUT_MS="1234"
    )

    assert shown == "1234ms"


def test_other_processes_run_without_a_statement_timeout(postgres_url):
    prelude = "import django\ndjango.setup()\n"  # what manage.py and the Celery worker do

    shown = statement_timeout(prelude, DATABASE_URL=postgres_url, DB_STATEMENT_TIMEOUT_MS="1234")

    assert shown == "0"


def test_zero_turns_the_web_timeout_off(postgres_url):
    shown = statement_timeout(
        "import iafactory.wsgi\n", DATABASE_URL=postgres_url, DB_STATEMENT_TIMEOUT_MS="0"
    )

    assert shown == "0"
