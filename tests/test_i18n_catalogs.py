"""The translations (issue 15, Languages): every French string of the templates and the code has
an Arabic and an English translation that keeps its placeholders and markup, and the committed
catalogs are those the sources produce."""

import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings

from iafactory import formatting
from iafactory.catalogs import main

ROOT = Path(settings.BASE_DIR)
LANGUAGES = ["ar", "en"]
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s|%%")
TAG = re.compile(r"</?([a-z]+)\b")
HREF = re.compile(r'href="([^"]*)"')
# What the extraction reads: the apps, the project package and the templates.
SOURCES = ["accounts", "billing", "catalog", "gateway", "iafactory", "templates"]


def catalog(language: str, root: Path = ROOT) -> polib.POFile:
    return polib.pofile(str(root / "locale" / language / "LC_MESSAGES" / "django.po"))


def label(entry: polib.POEntry) -> str:
    context = f"[{entry.msgctxt}] " if entry.msgctxt else ""
    return f"{context}{entry.msgid[:70]!r} ({', '.join(f'{f}:{n}' for f, n in entry.occurrences)})"


def untranslated(po: polib.POFile) -> list[str]:
    return [
        label(entry)
        for entry in po
        if not entry.obsolete
        and (
            "fuzzy" in entry.flags
            or not (all(entry.msgstr_plural.values()) if entry.msgid_plural else entry.msgstr)
        )
    ]


def shape(text: str) -> tuple:
    """What a translation must keep: placeholders, tag names and link targets (any order)."""
    return (
        sorted(PLACEHOLDER.findall(text)),
        sorted(TAG.findall(text)),
        sorted(HREF.findall(text)),
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_of_the_committed_catalog_is_translated(language):
    assert untranslated(catalog(language)) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_placeholders_tags_and_links(language):
    broken = []
    for entry in catalog(language):
        if entry.msgid_plural:
            pairs = [
                (entry.msgid_plural if n else entry.msgid, text)
                for n, text in entry.msgstr_plural.items()
            ]
        else:
            pairs = [(entry.msgid, entry.msgstr)]
        for source, text in pairs:
            if text and shape(source) != shape(text):
                broken.append(f"{label(entry)}: {shape(source)} != {shape(text)}")
    assert broken == []


def test_arabic_has_its_six_plural_forms():
    po = catalog("ar")

    assert po.metadata["Plural-Forms"].startswith("nplurals=6;")
    assert all(len(e.msgstr_plural) == 6 for e in po if e.msgid_plural)


def test_django_month_names_read_as_the_formatting_module_writes_them():
    """`|date:"F"` and `month_label` agree in Arabic: Algeria's names (جانفي, not يناير)."""
    po = {entry.msgid: entry.msgstr for entry in catalog("ar")}

    assert [po[name] for name in formatting.DJANGO_MONTHS] == list(formatting.MONTHS_AR)


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext (xgettext)")
def test_the_committed_catalogs_hold_every_string_of_the_sources(tmp_path):
    """makemessages on a copy of the sources, merged into a copy of the committed catalogs: a
    string wrapped but not translated (or a catalog not refreshed) fails here, by name."""
    for name in SOURCES:
        shutil.copytree(
            ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo")
        )
    shutil.copytree(ROOT / "locale", tmp_path / "locale", ignore=shutil.ignore_patterns("*.mo"))
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")

    subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
        [sys.executable, "manage.py", "makemessages", "--no-obsolete", "-v0"]
        + [f"-l{language}" for language in LANGUAGES],
        cwd=tmp_path,
        env={"DEBUG": "1", "PATH": "/usr/bin:/bin", "SECRET_KEY": "catalog-test"},
        check=True,
    )

    missing = {language: untranslated(catalog(language, tmp_path)) for language in LANGUAGES}
    assert missing == {language: [] for language in LANGUAGES}, (
        "Run `make messages`, then translate the empty msgstr in locale/ar and locale/en."
    )


def test_catalogs_compile_without_gnu_gettext(tmp_path):
    """A server without the gettext package compiles the catalogs with polib (make install)."""
    mo = tmp_path / "django.mo"
    main(["--check-format", "-o", str(mo), str(ROOT / "locale/ar/LC_MESSAGES/django.po")])

    arabic = gettext.GNUTranslations(mo.open("rb"))
    assert arabic.gettext("Tableau de bord") == "لوحة القيادة"
    assert arabic.pgettext("crédits", "Inclus") == "المشمولة"
    assert arabic.ngettext(
        "<strong>%(keys)s</strong> clé API active", "<strong>%(keys)s</strong> clés API actives", 2
    ) == ("<strong>%(keys)s</strong> مفتاحا API نشطان")
