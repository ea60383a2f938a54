"""Rendering pages in Arabic and English in tests (issue 15, Languages).

`in_languages` (a fixture, import it in the test module) offers fr, ar and en, reads the committed
catalogs from `locale/` and compiles them when their .mo is missing or older (.mo files are not
committed). `get_in(client, url, lang)` asks for a page in `lang` the ways a browser and a
logged-in customer do: Accept-Language, Django's language cookie and, when the user model has
it, the customer's saved language.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

LOCALE_DIR = Path(settings.BASE_DIR) / "locale"
LANGUAGES = [("fr", "Français"), ("ar", "العربية"), ("en", "English")]


def _compile_catalogs() -> None:
    for po in LOCALE_DIR.glob("*/LC_MESSAGES/django.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        if shutil.which("msgfmt") is None:
            pytest.skip("msgfmt (GNU gettext) is needed to compile the catalogs")
        subprocess.run(["msgfmt", "--check-format", "-o", str(mo), str(po)], check=True)  # noqa: S603, S607


@pytest.fixture
def in_languages(settings):
    _compile_catalogs()
    settings.LANGUAGES = LANGUAGES
    settings.LOCALE_PATHS = [LOCALE_DIR]
    return settings


def get_in(client, url: str, lang: str, *, user=None, **extra):
    """GET `url` in `lang`, under translation.override too (as a view rendered in `lang`)."""
    if user is not None and hasattr(user, "language"):
        user.language = lang
        user.save(update_fields=["language"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    with translation.override(lang):
        return client.get(url, HTTP_ACCEPT_LANGUAGE=lang, **extra)
