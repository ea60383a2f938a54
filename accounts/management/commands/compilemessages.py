"""Django's compilemessages, which also works without GNU gettext (issue 15): the catalogs are
compiled at install (`make install`), and a server without the `gettext` Debian package compiles
them with polib (iafactory/catalogs.py). The tree walk skips the virtualenv and runtime folders."""

import sys

from django.core.management.commands import compilemessages
from django.core.management.utils import find_command

# Folders holding other projects' catalogs (the venv's packages) or runtime data.
SKIPPED = [".venv", "venv", ".git", "node_modules", "staticfiles", "var"]


class Command(compilemessages.Command):
    def handle(self, **options):
        options["ignore_patterns"] = [*options["ignore_patterns"], *SKIPPED]
        if find_command(self.program) is None:
            self.program = sys.executable
            self.program_options = ["-m", "iafactory.catalogs", *self.program_options]
        return super().handle(**options)
