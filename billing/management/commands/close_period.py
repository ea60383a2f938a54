from django.core.management.base import BaseCommand, CommandError

from accounts.models import Account
from billing.periods import Month
from billing.services.close import (
    DEFAULT_CHUNK_SIZE,
    CloseError,
    close_month_default,
    period_close,
)


class Command(BaseCommand):
    help = (
        "Clôture un mois maintenant (factures, puis période du mois suivant), comme la tâche "
        "planifiée du 1er. Par défaut : le mois qui vient de se terminer. Peut être relancée "
        "sans risque : ce qui est déjà clôturé n'est pas refait. Un compte en échec n'arrête pas "
        "les autres : il est listé et la commande se termine en erreur."
    )

    def add_arguments(self, parser):
        parser.add_argument("--month", help="mois à clôturer, AAAA-MM (défaut : le mois dernier)")
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=DEFAULT_CHUNK_SIZE,
            help=f"comptes par transaction (défaut : {DEFAULT_CHUNK_SIZE})",
        )

    def handle(self, *args, month=None, chunk_size=DEFAULT_CHUNK_SIZE, **options):
        try:
            target = Month.parse(month) if month else close_month_default()
        except ValueError as error:
            raise CommandError(str(error)) from error
        if chunk_size < 1:
            raise CommandError("--chunk-size doit être un entier positif.")
        try:
            result = period_close(month=target, chunk_size=chunk_size)
        except CloseError as error:
            raise CommandError(str(error)) from error
        if not result.failures:
            self.stdout.write(self.style.SUCCESS(str(result)))
            return
        # Everyone else is closed; the failures are listed and the exit status says so.
        self.stdout.write(self.style.WARNING(str(result)))
        names = dict(
            Account.objects.filter(pk__in=[pk for pk, _ in result.failures]).values_list(
                "pk", "name"
            )
        )
        for account_id, error in result.failures:
            self.stderr.write(f"Compte n° {account_id} ({names.get(account_id, '?')}) : {error}")
        raise CommandError(
            f"{len(result.failures)} compte(s) non clôturé(s) pour {target} : voir « Clôtures en "
            "échec » dans l'administration. Relancez la commande une fois la cause corrigée."
        )
