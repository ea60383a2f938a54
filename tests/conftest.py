import importlib
from datetime import datetime
from pathlib import Path

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.utils.translation import trans_real


@pytest.fixture(autouse=True, scope="session")
def _compiled_catalogs():
    """The translations' .mo files are not committed (make install compiles them): compile any
    missing or older than its .po, so a fresh checkout's tests see Arabic and English."""
    from django.conf import settings

    from iafactory.catalogs import compile_catalog

    for locale_dir in settings.LOCALE_PATHS:
        for po in Path(locale_dir).glob("*/LC_MESSAGES/*.po"):
            mo = po.with_suffix(".mo")
            if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
                compile_catalog(po, mo)
                # Catalogs already loaded by an import-time gettext are read again.
                trans_real._translations = {}
                trans_real._default = None


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _forget_alert_watches():
    """The metering processes remember accounts' alert settings; ids are reused across tests."""
    from billing.services.alerts import alerts_watch_forget

    alerts_watch_forget()
    yield
    alerts_watch_forget()


@pytest.fixture
def freeze():
    """freeze("2026-11-16 10:00 +01:00") stops the clock there (time-machine, tick off)."""
    travellers = []

    def _freeze(moment: str | datetime):
        if isinstance(moment, str):
            moment = datetime.strptime(moment, "%Y-%m-%d %H:%M %z")
        if travellers:
            travellers.pop().stop()
        traveller = time_machine.travel(moment, tick=False)
        traveller.start()
        travellers.append(traveller)
        return moment

    yield _freeze
    for traveller in travellers:
        traveller.stop()


def postgres_only(why: str = "row locks"):
    return pytest.mark.skipif(
        connection.vendor != "postgresql", reason=f"needs PostgreSQL {why} (set DATABASE_URL)"
    )


@pytest.fixture(autouse=True)
def _reference_data(request):
    """Transactional tests flush the database after each test, seed rows included: reload them."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or "live_server" in (
        request.fixturenames
    )
    if marker is not None and marker.kwargs.get("transaction"):
        transactional = True
    if not transactional:
        return
    request.getfixturevalue("transactional_db")
    from django.apps import apps

    catalog_seed = importlib.import_module("catalog.migrations.0002_reference_data")
    billing_seed = importlib.import_module("billing.migrations.0002_billing_settings")
    catalog_seed.load(apps, None)
    billing_seed.create(apps, None)


@pytest.fixture
def gateway():
    """An API client authenticated as the IAFactory gateway (a fresh gateway token)."""
    from rest_framework.test import APIClient

    from accounts.gateway import gateway_token_create

    _, raw = gateway_token_create(name="passerelle")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client
