"""Fixtures for tests that read the ar/en catalogs: `locale/` compiled (the .mo files are not
committed) and on LOCALE_PATHS; `speaks(user, language)` saves a user's language."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from django.conf import settings as django_settings

LOCALE = django_settings.BASE_DIR / "locale"


def _compile() -> None:
    for po in LOCALE.glob("*/LC_MESSAGES/django.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        msgfmt = shutil.which("msgfmt")
        if msgfmt:
            subprocess.run([msgfmt, "-o", str(mo), str(po)], check=True)  # noqa: S603
        else:
            polib = pytest.importorskip("polib", reason="needs msgfmt or polib")
            polib.pofile(str(po)).save_as_mofile(str(mo))


@pytest.fixture
def catalogs(settings):
    _compile()
    if LOCALE not in [*map(type(LOCALE), settings.LOCALE_PATHS)]:
        settings.LOCALE_PATHS = [*settings.LOCALE_PATHS, LOCALE]


@pytest.fixture
def speaks(settings):
    """Give `user` a saved language (User.language; before that field exists, the site's)."""

    def speak(user, language: str) -> None:
        if any(field.name == "language" for field in type(user)._meta.get_fields()):
            type(user).objects.filter(pk=user.pk).update(language=language)
            user.language = language
        else:
            settings.LANGUAGE_CODE = language

    return speak
