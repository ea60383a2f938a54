import secrets
from io import StringIO

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings

from accounts.models import Account, User
from accounts.services import demo_member_email
from billing.demo import demo_usage_history
from billing.models import BillingSettings
from billing.periods import Month

ADMIN_EMAIL = "admin@iafactory.dz"
DEMO_EMAIL = "demo@iafactory.dz"
DEMO_PASSWORD = "demo-iafactory"  # noqa: S105 (a published demo login, for local use only)


def login_box(lines: list[str]) -> list[str]:
    """The logins in a short frame, so that they stand out at the end of `make run`'s output."""
    width = max(len(line) for line in lines)
    return [
        "┌" + "─" * (width + 2) + "┐",
        *(f"│ {line.ljust(width)} │" for line in lines),
        "└" + "─" * (width + 2) + "┘",
    ]


class Command(BaseCommand):
    help = (
        "Données de démonstration (idempotent) : un administrateur et un client démo "
        "(formule Standard, pay as you go désactivé), puis les identifiants de connexion, "
        "en dernier, dans un cadre. Les liens suivent SITE_URL (dérivé de PORT par défaut)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default=None, help="par défaut SITE_URL")

    def handle(self, *args, **options):
        base = (options["base_url"] or settings.SITE_URL).rstrip("/")
        self.stdout.write(self.style.MIGRATE_HEADING("Démonstration IAFactory"))

        admin_password = None
        with transaction.atomic():
            if not User.objects.filter(email=ADMIN_EMAIL).exists():
                admin_password = secrets.token_urlsafe(12)
                admin = User.objects.create_superuser(email=ADMIN_EMAIL, password=admin_password)
                EmailAddress.objects.create(
                    user=admin, email=ADMIN_EMAIL, verified=True, primary=True
                )
        box = [f"Administration : {base}/admin/"]
        if admin_password:
            box.append(f"  e-mail {ADMIN_EMAIL} · mot de passe {admin_password}")
            box.append("  (notez-le : il ne sera plus affiché)")
        else:
            box.append(f"  e-mail {ADMIN_EMAIL} (déjà créé ; nouveau mot de passe :")
            box.append(f"  python manage.py changepassword {ADMIN_EMAIL})")

        _demo_seller_details()
        box.append(f"Espace client : {base}/comptes/login/")
        if Account.objects.filter(owner__email=DEMO_EMAIL).exists():
            box.append(f"  e-mail {DEMO_EMAIL} (déjà créé) · mot de passe {DEMO_PASSWORD}")
            box.append(f"  développeur {demo_member_email(DEMO_EMAIL)} · même mot de passe")
        else:
            # The demo's e-mails (last month's invoice) go to made-up addresses: kept off the
            # console, where they would bury the logins.
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
                created = StringIO()
                # A customer since last month, so that it has a closed month with its invoice.
                call_command(
                    "create_demo_customer",
                    email=DEMO_EMAIL,
                    plan="standard",
                    payg="off",
                    since=Month.current().previous().first_day,
                    name="Démo SARL",
                    password=DEMO_PASSWORD,
                    stdout=created,
                )
                demo_usage_history(account=Account.objects.get(owner__email=DEMO_EMAIL))
            raw_key = created.getvalue().strip().splitlines()[-1]
            box.append(f"  e-mail {DEMO_EMAIL} · mot de passe {DEMO_PASSWORD}")
            box.append(f"  développeur {demo_member_email(DEMO_EMAIL)} · même mot de passe")
            box.append(f"  clé API de {DEMO_EMAIL} (sa consommation est dans ses pages) :")
            box.append(f"  {raw_key}")
        self.stdout.write("\n".join(login_box(box)))


def _demo_seller_details() -> None:
    """The demo seller's legal identifiers and bank details (a RIB to pay by transfer), set
    only where staff left them empty: illustrative values, never a real account."""
    billing = BillingSettings.load()
    demo = {
        "company_nif": "000016001234567",
        "company_nis": "000116010012345",
        "company_rc": "16/00-1234567 B 21",
        "company_bank": "Banque de démonstration — RIB 00400123 0123456789 12 (fictif)",
    }
    changed = [field for field, value in demo.items() if not getattr(billing, field)]
    for field in changed:
        setattr(billing, field, demo[field])
    if changed:
        billing.save(update_fields=changed)
