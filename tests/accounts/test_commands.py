"""create_demo_customer and demo_setup (run by `make run`)."""

from datetime import date, datetime
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command

from accounts.keys import hash_secret
from accounts.models import Account, ApiKey, User
from billing.models import BillingPeriod, Invoice, PayAsYouGoChange, PlanChange, Subscription
from billing.services.periods import current_period

pytestmark = pytest.mark.django_db

ALGIERS = ZoneInfo("Africa/Algiers")


def run(*args) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip().splitlines()


def fees(period):
    return [(f.plan.slug, f.first_day, f.days, f.amount) for f in period.fees.order_by("first_day")]


def test_creates_a_verified_customer_with_full_credits_and_prints_a_key(freeze):
    freeze("2026-11-16 10:00 +01:00")

    lines = run(
        "create_demo_customer", "--email", "demo@client.dz", "--plan", "standard", "--payg", "on"
    )

    raw = lines[-1]
    key = ApiKey.objects.get(key_hash=hash_secret(raw))
    account = key.account
    assert raw.startswith("iaf_")
    assert " " not in raw
    assert account.owner.email == "demo@client.dz"
    address = EmailAddress.objects.get(user=account.owner)
    assert (address.email, address.verified, address.primary) == ("demo@client.dz", True, True)
    subscription = Subscription.objects.get(account=account)
    first = datetime(2026, 11, 1, tzinfo=ALGIERS)
    assert (subscription.plan.slug, subscription.pay_as_you_go) == ("standard", True)
    assert subscription.started_at == first
    assert list(
        PayAsYouGoChange.objects.filter(account=account).values_list("enabled", "changed_at")
    ) == [(True, first)]
    period = current_period(account=account)
    assert period.included_credits == Decimal("1000.00")
    assert fees(period) == [("standard", date(2026, 11, 1), 30, Decimal("1000.00"))]


def test_since_an_earlier_month_also_gives_full_credits_this_month(freeze):
    freeze("2026-11-16 10:00 +01:00")

    lines = run(
        "create_demo_customer",
        *("--email", "a@client.dz", "--plan", "expert", "--payg", "off", "--since", "2026-06-01"),
    )

    account = ApiKey.objects.get(key_hash=hash_secret(lines[-1])).account
    assert current_period(account=account).included_credits == Decimal("2500.00")
    assert Subscription.objects.get(account=account).started_at == datetime(
        2026, 6, 1, tzinfo=ALGIERS
    )


def test_since_a_day_of_this_month_prorates_as_if_started_that_day(freeze):
    freeze("2026-11-20 10:00 +01:00")

    run(
        "create_demo_customer",
        *("--email", "a@client.dz", "--plan", "starter", "--payg", "off", "--since", "2026-11-16"),
    )

    account = Account.objects.get(owner__email="a@client.dz")
    period = current_period(account=account)
    assert period.included_credits == Decimal("250.00")  # 500 × 15 / 30
    assert fees(period) == [("starter", date(2026, 11, 16), 15, Decimal("250.00"))]


def test_running_again_updates_the_same_customer(freeze):
    freeze("2026-11-16 10:00 +01:00")
    run("create_demo_customer", "--email", "a@client.dz", "--plan", "expert", "--payg", "on")
    account = Account.objects.get(owner__email="a@client.dz")
    BillingPeriod.objects.filter(account=account).update(consumed=Decimal("700"))

    run("create_demo_customer", "--email", "A@client.dz", "--plan", "none", "--payg", "off")

    assert User.objects.filter(email__iexact="a@client.dz").count() == 1
    subscription = Subscription.objects.get(account=account)
    assert (subscription.plan, subscription.pay_as_you_go) == (None, False)
    period = current_period(account=account)
    assert period.included_credits == Decimal("700")  # never below what was consumed
    assert fees(period) == []
    assert ApiKey.objects.filter(account=account).count() == 2
    assert not PlanChange.objects.filter(account=account, status="scheduled").exists()
    assert list(
        PayAsYouGoChange.objects.filter(account=account).values_list("enabled", flat=True)
    ) == [False]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--plan", "gold", "--payg", "on"], "Formule inconnue : « gold »"),
        (["--plan", "starter", "--payg", "on", "--since", "2026-13-01"], "Date invalide"),
        (["--plan", "starter", "--payg", "on", "--since", "2026-12-01"], "dans le futur"),
    ],
)
def test_bad_arguments_are_refused(freeze, args, message):
    freeze("2026-11-16 10:00 +01:00")

    with pytest.raises(CommandError, match=message):
        run("create_demo_customer", "--email", "a@client.dz", *args)

    assert not Account.objects.exists()


def test_demo_setup_creates_the_logins_once(freeze):
    freeze("2026-11-16 10:00 +01:00")

    first = run("demo_setup")
    second = run("demo_setup")

    admin = User.objects.get(email="admin@iafactory.dz")
    assert admin.is_superuser
    assert admin.is_staff
    password = next(line for line in first if "admin@iafactory.dz · mot de passe" in line)
    password = password.strip("│ ").split()[-1]
    assert admin.check_password(password)
    demo = Account.objects.get(owner__email="demo@iafactory.dz")
    assert demo.owner.check_password("demo-iafactory")
    assert Subscription.objects.get(account=demo).plan.slug == "standard"
    assert Subscription.objects.get(account=demo).pay_as_you_go is False
    assert any("  e-mail demo@iafactory.dz · mot de passe demo-iafactory" in x for x in first)
    assert any(
        "  e-mail demo@iafactory.dz (déjà créé) · mot de passe demo-iafactory" in x for x in second
    )
    assert not any(password in line for line in second)
    assert ApiKey.objects.filter(account=demo).count() == 2  # the printed one and the demo app's
    assert User.objects.count() == 3  # the admin, the customer and its développeur (issue 16)
    assert any("développeur demo+dev@iafactory.dz" in line for line in second)


def test_demo_customer_has_a_closed_month_with_its_invoice_and_usage_this_month(freeze):
    freeze("2026-11-16 10:00 +01:00")

    run("demo_setup")
    run("demo_setup")

    demo = Account.objects.get(owner__email="demo@iafactory.dz")
    invoice = Invoice.objects.get(account=demo)
    assert (invoice.number, invoice.month) == ("FA-2026-000001", date(2026, 10, 1))
    assert invoice.total_ht == Decimal("1000.00")  # the Standard fee; usage stayed in credits
    october = BillingPeriod.objects.get(account=demo, month=date(2026, 10, 1))
    november = BillingPeriod.objects.get(account=demo, month=date(2026, 11, 1))
    assert october.status == BillingPeriod.Status.CLOSED
    assert Decimal(0) < october.consumed < october.included_credits
    assert Decimal(0) < november.consumed < november.included_credits
    assert (
        november.events.filter(occurred_at__gt=datetime(2026, 11, 16, 10, tzinfo=ALGIERS)).count()
        == 0
    )


def test_demo_setup_prints_the_logins_last_in_a_box_without_the_demo_e_mails(
    freeze, settings, capsys
):
    freeze("2026-11-16 10:00 +01:00")
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    settings.SITE_URL = "http://127.0.0.1:8101"

    lines = run("demo_setup")

    assert capsys.readouterr().out == ""  # no invoice e-mail dumped on the console
    assert lines[0] == "Démonstration IAFactory"
    box = lines[1:]
    assert box[0].startswith("┌")
    assert box[-1].startswith("└")
    assert all(line.startswith("│") and line.endswith("│") for line in box[1:-1])
    assert len({len(line) for line in box}) == 1
    assert len(box) <= 10
    text = "\n".join(box)
    assert "http://127.0.0.1:8101/admin/" in text
    assert "http://127.0.0.1:8101/comptes/login/" in text
    assert "8000" not in text
    raw = box[-2].strip("│ ")
    key = ApiKey.objects.get(key_hash=hash_secret(raw))
    assert key.account.owner.email == "demo@iafactory.dz"
    assert "clé API de demo@iafactory.dz" in box[-3]


def test_site_url_follows_the_port_when_not_set():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "PORT")}
    code = (
        "import django; django.setup(); from django.conf import settings; print(settings.SITE_URL)"
    )

    def site_url(**extra):
        return subprocess.run(  # noqa: S603 (this interpreter, a fixed snippet)
            [sys.executable, "-c", code],
            env={**env, "DJANGO_SETTINGS_MODULE": "iafactory.settings", "DEBUG": "1", **extra},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    assert site_url(PORT="8101") == "http://127.0.0.1:8101"
    assert site_url() == "http://127.0.0.1:8000"
    assert site_url(PORT="8101", SITE_URL="https://portail.iafactory.dz/") == (
        "https://portail.iafactory.dz"
    )


def test_create_demo_customer_documents_password_and_whose_key_it_prints(freeze, settings):
    freeze("2026-11-16 10:00 +01:00")
    settings.SITE_URL = "http://127.0.0.1:8101"

    lines = run(
        "create_demo_customer",
        *("--email", "c@client.dz", "--plan", "starter", "--payg", "off", "--password", "s3cret!"),
    )

    assert User.objects.get(email="c@client.dz").check_password("s3cret!")
    assert User.objects.get(email="c+dev@client.dz").memberships.get().role == "developer"
    assert (
        "Connexion : http://127.0.0.1:8101/comptes/login/ avec c@client.dz (ou c+dev@client.dz) "
        "et le mot de passe donné par --password." in lines
    )
    assert lines[-2].startswith("Nouvelle clé API de c@client.dz ")
    assert ApiKey.objects.get(key_hash=hash_secret(lines[-1])).account.owner.email == "c@client.dz"
    assert "--password" in lines_without_password()


def lines_without_password() -> str:
    return "\n".join(
        run("create_demo_customer", "--email", "d@client.dz", "--plan", "none", "--payg", "on")
    )


def test_create_demo_customer_help_explains_password():
    from billing.management.commands.create_demo_customer import Command

    parser = Command().create_parser("manage.py", "create_demo_customer")
    text = parser.format_help()
    assert "--password" in text
    assert "se connecter à l'espace client" in " ".join(text.split())
