"""gettext catalogs compiled without GNU gettext (issue 15): `manage.py compilemessages` runs
GNU msgfmt when it is installed and this module otherwise, with the same arguments:

    python -m iafactory.catalogs [--check-format] [-f] -o django.mo django.po

Fuzzy and untranslated entries are left out of the .mo (gettext then falls back to the French
msgid), as msgfmt does; `-f` keeps fuzzy ones. Placeholders are checked by
tests/test_i18n_catalogs.py rather than here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polib


def compile_catalog(po_path: Path, mo_path: Path, *, fuzzy: bool = False) -> int:
    """Writes `mo_path` from `po_path`; returns the number of translated entries compiled."""
    catalog = polib.pofile(str(po_path))
    if fuzzy:
        for entry in catalog.fuzzy_entries():
            entry.flags.remove("fuzzy")
    catalog.save_as_mofile(str(mo_path))
    return len(catalog.translated_entries())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m iafactory.catalogs")
    parser.add_argument("--check-format", action="store_true", help="accepted, as msgfmt's")
    parser.add_argument("-f", "--use-fuzzy", action="store_true")
    parser.add_argument("-o", "--output-file", required=True, type=Path)
    parser.add_argument("po", type=Path)
    args = parser.parse_args(argv)
    compile_catalog(args.po, args.output_file, fuzzy=args.use_fuzzy)


if __name__ == "__main__":
    main()
