"""Every benchmark in bench/ runs at a tiny size, so a change that breaks one breaks CI.

No timing is asserted: only that each script completes (its own correctness checks included).
The benchmarks measure PostgreSQL (COPY, a gunicorn server on a database of their own).
"""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "bench").glob("bench_*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[script.name for script in SCRIPTS])
def test_every_benchmark_has_a_smoke_mode(script):
    assert "BENCH_SMOKE" in script.read_text(), f"{script.name} has no BENCH_SMOKE tiny size"


@pytest.fixture
def bench_databases():
    if connection.vendor != "postgresql":
        pytest.skip("the benchmarks measure PostgreSQL (COPY, gunicorn): set DATABASE_URL")
    parts = urlsplit(os.environ["DATABASE_URL"])
    base = parts.path.lstrip("/") or "iafactory"
    urls = {
        "BENCH_DATABASE_URL": urlunsplit(parts._replace(path=f"/{base}_bench_usage_smoke")),
        "BENCH_CLOSE_DATABASE_URL": urlunsplit(parts._replace(path=f"/{base}_bench_close_smoke")),
        "BENCH_READS_DATABASE_URL": urlunsplit(parts._replace(path=f"/{base}_bench_reads_smoke")),
    }
    yield urls
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as admin:
        for url in urls.values():
            admin.execute(f'DROP DATABASE IF EXISTS "{urlsplit(url).path[1:]}" WITH (FORCE)')


def test_every_benchmark_completes_at_smoke_size(bench_databases, tmp_path):
    env = {
        **os.environ,
        **bench_databases,
        "BENCH_SMOKE": "1",
        "VAR_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }

    result = subprocess.run(
        [sys.executable, "bench/run.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    for script in SCRIPTS:
        assert f"=== {script.name} ===" in result.stdout
    assert "WRONG" not in output
    assert "Target: 100 000 accounts" in result.stdout
    assert "peak RSS: gunicorn worker" in result.stdout
    assert "same, search by a customer's e-mail" in result.stdout
    assert "peak RSS: measuring process" in result.stdout
