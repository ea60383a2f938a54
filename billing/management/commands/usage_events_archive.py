from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from billing.services.archive import ArchiveError, usage_events_archive


class Command(BaseCommand):
    help = (
        "Exporte en CSV.gz puis supprime les événements d'usage bruts des mois clôturés plus "
        "anciens que la durée de conservation (USAGE_EVENTS_RETENTION_MONTHS). Les agrégats "
        "journaliers, les périodes et les factures sont conservés."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--months",
            type=int,
            default=settings.USAGE_EVENTS_RETENTION_MONTHS,
            help="mois conservés en ligne (défaut : USAGE_EVENTS_RETENTION_MONTHS)",
        )
        parser.add_argument(
            "--directory",
            default=str(settings.USAGE_ARCHIVE_DIR),
            help="dossier des fichiers CSV.gz (défaut : USAGE_ARCHIVE_DIR)",
        )

    def handle(self, *args, months, directory, **options):
        if not months:
            raise CommandError(
                "Aucune durée de conservation : définissez USAGE_EVENTS_RETENTION_MONTHS ou "
                "passez --months N."
            )
        try:
            result = usage_events_archive(months=months, directory=Path(directory))
        except ArchiveError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(str(result)))
