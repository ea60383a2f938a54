from django.core.management.base import BaseCommand, CommandError

from accounts.gateway import gateway_token_create


class Command(BaseCommand):
    help = "Crée un jeton pour la passerelle IAFactory et l'affiche (une seule fois)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Nom du jeton, ex. « passerelle-prod ».")

    def handle(self, *args, name: str, **options):
        try:
            token, raw = gateway_token_create(name=name)
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Jeton « {token.name} » créé ({token.prefix}…). Il ne sera plus affiché : "
            "envoyez-le comme « Authorization: Bearer <jeton> »."
        )
        self.stdout.write(raw)
