import secrets

from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Account, User
from billing.demo import demo_usage_history
from billing.periods import Month

ADMIN_EMAIL = "admin@iafactory.dz"
DEMO_EMAIL = "demo@iafactory.dz"
DEMO_PASSWORD = "demo-iafactory"  # noqa: S105 (a published demo login, for local use only)


class Command(BaseCommand):
    help = (
        "Données de démonstration (idempotent) : un administrateur et un client démo "
        "(formule Standard, pay as you go désactivé), puis les identifiants de connexion."
    )

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args, **options):
        base = options["base_url"].rstrip("/")
        self.stdout.write(self.style.MIGRATE_HEADING("Démonstration IAFactory"))

        admin_password = None
        with transaction.atomic():
            if not User.objects.filter(email=ADMIN_EMAIL).exists():
                admin_password = secrets.token_urlsafe(12)
                admin = User.objects.create_superuser(email=ADMIN_EMAIL, password=admin_password)
                EmailAddress.objects.create(
                    user=admin, email=ADMIN_EMAIL, verified=True, primary=True
                )
        self.stdout.write(f"Administration : {base}/admin/")
        if admin_password:
            self.stdout.write(f"  e-mail {ADMIN_EMAIL} · mot de passe {admin_password}")
            self.stdout.write("  (notez-le : il ne sera plus affiché)")
        else:
            self.stdout.write(
                f"  e-mail {ADMIN_EMAIL} (déjà créé ; nouveau mot de passe : "
                f"python manage.py changepassword {ADMIN_EMAIL})"
            )

        self.stdout.write(f"Espace client : {base}/comptes/login/")
        if Account.objects.filter(owner__email=DEMO_EMAIL).exists():
            self.stdout.write(f"  e-mail {DEMO_EMAIL} (déjà créé) · mot de passe {DEMO_PASSWORD}")
            return
        # A customer since last month, so that it has a closed month with its invoice.
        call_command(
            "create_demo_customer",
            email=DEMO_EMAIL,
            plan="standard",
            payg="off",
            since=Month.current().previous().first_day,
            name="Démo SARL",
            password=DEMO_PASSWORD,
            stdout=self.stdout,
        )
        demo_usage_history(account=Account.objects.get(owner__email=DEMO_EMAIL))
        self.stdout.write(f"  e-mail {DEMO_EMAIL} · mot de passe {DEMO_PASSWORD}")
