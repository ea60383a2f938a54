from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Role
from accounts.services import demo_member_email, member_ensure
from billing.demo import demo_customer_setup
from billing.periods import Month
from billing.services.periods import current_period
from billing.services.subscriptions import SubscriptionError
from catalog.models import Plan
from iafactory.formatting import date_label, format_dzd, month_label


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Date invalide : « {value} » (format attendu AAAA-MM-JJ).") from None


class Command(BaseCommand):
    help = (
        "Crée ou met à jour un client à l'adresse e-mail vérifiée, dans l'état demandé comme "
        "s'il l'avait depuis --since (par défaut le 1er du mois : crédits du mois complets), "
        "puis affiche une nouvelle clé API seule sur la dernière ligne. Avec --password, "
        "le client peut aussi se connecter à l'espace client."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument(
            "--plan", required=True, help="starter, standard, expert (une formule) ou none"
        )
        parser.add_argument("--payg", required=True, choices=["on", "off"])
        parser.add_argument("--since", type=_day, help="AAAA-MM-JJ, au plus aujourd'hui")
        parser.add_argument("--name", help="raison sociale (à la création du compte)")
        parser.add_argument(
            "--password",
            help="mot de passe pour se connecter à l'espace client (/comptes/login/) avec "
            "--email ; sans lui, le client n'a pas de mot de passe utilisable",
        )

    def handle(self, *args, **options):
        plan = None
        if options["plan"] != "none":
            plan = Plan.objects.filter(slug=options["plan"]).first()
            if plan is None:
                slugs = ", ".join([*Plan.objects.values_list("slug", flat=True), "none"])
                raise CommandError(f"Formule inconnue : « {options['plan']} » (choix : {slugs}).")
        since = options["since"] or Month.current().first_day
        email = options["email"].strip()
        name = options["name"] or f"Client {email.split('@')[0]}"
        try:
            account, raw = demo_customer_setup(
                email=email,
                plan=plan,
                pay_as_you_go=options["payg"] == "on",
                since=since,
                name=name,
                password=options["password"],
            )
        except SubscriptionError as error:
            raise CommandError(str(error)) from None
        member = member_ensure(
            account=account,
            email=demo_member_email(email),
            role=Role.DEVELOPER,
            password=options["password"],
        )
        period = current_period(account=account)
        self.stdout.write(
            f"Client {account.owner.email} ({account.name}) : "
            f"{'formule ' + plan.name if plan else 'aucune formule'}, pay as you go "
            f"{'activé' if options['payg'] == 'on' else 'désactivé'}, "
            f"depuis le {date_label(since)}."
        )
        self.stdout.write(
            f"Crédits de {month_label(period.month)} : {format_dzd(period.included_credits)} "
            f"inclus, {format_dzd(period.consumed)} consommés."
        )
        self.stdout.write(
            f"Second membre de l'équipe : {member.user.email} ({member.get_role_display()})."
        )
        if options["password"]:
            self.stdout.write(
                f"Connexion : {settings.SITE_URL}/comptes/login/ avec {email} (ou "
                f"{member.user.email}) et le mot de passe donné par --password."
            )
        else:
            self.stdout.write(
                "Pas de connexion à l'espace client sans mot de passe : relancez avec "
                "--password MOT_DE_PASSE."
            )
        self.stdout.write(
            f"Nouvelle clé API de {email} (affichée une seule fois ; ce qu'elle consomme "
            "apparaît dans l'espace client de ce client) :"
        )
        self.stdout.write(raw)
