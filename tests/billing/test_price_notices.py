"""Announced price increases: one e-mail per customer who used the model in the last 3 months
and per announced row, sent by a task after the save, and the espace client's banner."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billing.models import PriceIncreaseNotice, UsageDaily
from billing.services.price_notices import months_before, price_increase_notify
from catalog.services import price_schedule
from tests.accounts.factories import AccountFactory, ApiKeyFactory
from tests.catalog.factories import TextPriceFactory

pytestmark = pytest.mark.django_db

ALGIERS = ZoneInfo("Africa/Algiers")
NOW = "2026-11-16 10:00 +01:00"
INCREASE_AT = datetime(2027, 1, 1, tzinfo=ALGIERS)


def used(account, model, day):
    UsageDaily.objects.create(
        account=account, day=day, model=model, api_key=ApiKeyFactory(account=account), events=1
    )


@pytest.fixture
def usage(freeze):
    freeze(NOW)
    price = TextPriceFactory(model__slug="gpt-test", model__name="GPT Test")
    model = price.model
    recent = AccountFactory(name="Récent SARL", owner__email="recent@client.dz")
    edge = AccountFactory(name="Limite SARL", owner__email="limite@client.dz")
    old = AccountFactory(name="Ancien SARL", owner__email="ancien@client.dz")
    other = AccountFactory(name="Autre SARL", owner__email="autre@client.dz")
    used(recent, model, date(2026, 10, 3))
    used(recent, model, date(2026, 11, 15))
    used(edge, model, date(2026, 8, 16))  # exactly 3 months ago: included
    used(old, model, date(2026, 8, 15))
    used(other, TextPriceFactory(model__slug="autre").model, date(2026, 11, 10))
    return model


def announce(model, captured, **prices):
    with captured(execute=True):
        return price_schedule(model=model, effective_at=INCREASE_AT, **prices)


def test_an_increase_e_mails_each_recent_user_once(
    usage, mailoutbox, django_capture_on_commit_callbacks
):
    price = announce(
        usage,
        django_capture_on_commit_callbacks,
        input_per_million=Decimal("100"),
        output_per_million=Decimal("250"),
    )

    assert sorted(m.to[0] for m in mailoutbox) == ["limite@client.dz", "recent@client.dz"]
    message = next(m for m in mailoutbox if m.to == ["recent@client.dz"])
    assert message.subject == "[IAFactory] Hausse du prix de GPT Test à partir du 1er janvier 2027"
    assert "Le compte « Récent SARL » a utilisé le modèle GPT Test" in message.body
    assert (
        "entrée (input) : 100 → 100 DZD HT par million de tokens ; sortie (output) : 200 → 250 "
        "DZD HT par million de tokens" in message.body
    )
    assert "http://127.0.0.1:8000/tarifs/" in message.body or "/tarifs/" in message.body
    assert PriceIncreaseNotice.objects.filter(price=price).count() == 2

    assert price_increase_notify(price_id=price.pk) == 0  # the task again: nothing more
    assert len(mailoutbox) == 2


def test_each_announced_row_is_its_own_e_mail(
    usage, mailoutbox, django_capture_on_commit_callbacks
):
    announce(
        usage,
        django_capture_on_commit_callbacks,
        input_per_million=Decimal("110"),
        output_per_million=Decimal("200"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        price_schedule(
            model=usage,
            effective_at=datetime(2027, 2, 1, tzinfo=ALGIERS),
            input_per_million=Decimal("120"),
            output_per_million=Decimal("200"),
        )

    assert len(mailoutbox) == 4


def test_a_decrease_or_a_first_price_tells_nobody(
    usage, mailoutbox, django_capture_on_commit_callbacks
):
    announce(
        usage,
        django_capture_on_commit_callbacks,
        input_per_million=Decimal("90"),
        output_per_million=Decimal("200"),
    )

    assert mailoutbox == []
    assert PriceIncreaseNotice.objects.count() == 0


def test_an_e_mail_outage_never_blocks_the_save_and_the_banner_still_shows(
    usage, mailoutbox, settings, client, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2

    price = announce(
        usage,
        django_capture_on_commit_callbacks,
        input_per_million=Decimal("100"),
        output_per_million=Decimal("250"),
    )

    notices = PriceIncreaseNotice.objects.filter(price=price)
    assert notices.count() == 2
    assert list(notices.values_list("sent_at", flat=True)) == [None, None]  # retried later
    recent = notices.get(account__owner__email="recent@client.dz").account
    client.force_login(recent.owner)
    body = client.get("/espace-client/").content.decode()
    assert 'data-testid="hausse-prix"' in body
    assert "GPT Test à partir du 1er janvier 2027 (100 / 250 DZD HT" in body

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert price_increase_notify(price_id=price.pk) == 2


def test_the_banner_shows_until_the_date_and_only_to_told_customers(
    usage, client, freeze, django_capture_on_commit_callbacks
):
    announce(
        usage,
        django_capture_on_commit_callbacks,
        input_per_million=Decimal("100"),
        output_per_million=Decimal("250"),
    )
    old = AccountFactory._meta.model.objects.get(owner__email="ancien@client.dz")
    recent = AccountFactory._meta.model.objects.get(owner__email="recent@client.dz")

    client.force_login(old.owner)
    assert 'data-testid="hausse-prix"' not in client.get("/espace-client/").content.decode()
    client.force_login(recent.owner)
    assert 'data-testid="hausse-prix"' in client.get("/espace-client/factures/").content.decode()
    freeze("2027-01-01 00:00 +01:00")
    assert 'data-testid="hausse-prix"' not in client.get("/espace-client/").content.decode()


def test_three_months_before_keeps_the_day_or_the_month_end():
    assert months_before(date(2026, 11, 16), 3) == date(2026, 8, 16)
    assert months_before(date(2026, 5, 31), 3) == date(2026, 2, 28)
