from django.core.management.base import BaseCommand, CommandError

from billing.periods import Month
from billing.services.rollups import DEFAULT_CHUNK_SIZE, usage_rollups_rebuild


class Command(BaseCommand):
    help = (
        "Reconstruit les agrégats journaliers d'usage (UsageDaily) à partir des événements, "
        "pour un compte et/ou un mois (par défaut : tout). Pour les réparations : le ledger les "
        "tient à jour à chaque lot. Sans risque pendant l'ingestion (verrous des périodes)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--account", type=int, help="identifiant du compte client")
        parser.add_argument("--month", help="mois, AAAA-MM")
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=DEFAULT_CHUNK_SIZE,
            help=f"comptes par transaction (défaut : {DEFAULT_CHUNK_SIZE})",
        )

    def handle(self, *args, account=None, month=None, chunk_size=DEFAULT_CHUNK_SIZE, **options):
        try:
            target = Month.parse(month) if month else None
        except ValueError as error:
            raise CommandError(str(error)) from error
        if chunk_size < 1:
            raise CommandError("--chunk-size doit être un entier positif.")
        result = usage_rollups_rebuild(account_id=account, month=target, chunk_size=chunk_size)
        self.stdout.write(self.style.SUCCESS(str(result)))
