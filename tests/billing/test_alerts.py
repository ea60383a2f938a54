"""Spending alerts the customer sets (issue 11): thresholds of the included credits, of the
pay-as-you-go ceiling and of each key's budget; one e-mail naming the highest threshold crossed,
once per period and threshold, none for a month already over, never in the metering's way."""

import threading
from datetime import datetime
from decimal import Decimal
from smtplib import SMTPException
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import ApiKey
from billing.metering import usage_record_batch
from billing.models import AlertSettings, BillingPeriod, CreditAlert, KeySpend, UsageEvent
from billing.services.alerts import (
    AlertSettingsError,
    alert_settings_set,
    alerts_check,
    credit_alerts_send_pending,
    highest_reached,
    thresholds_parse,
)
from tests.accounts.factories import ApiKeyFactory
from tests.billing.conftest import customer, image_event
from tests.conftest import postgres_only

ALGIERS = ZoneInfo("Africa/Algiers")
NOW = "2026-11-16 10:00 +01:00"
D = Decimal


def set_thresholds(account, credits=(80, 100), payg_cap=(80, 100), key_budget=(80, 100)):
    alert_settings_set(
        account=account,
        credits=list(credits),
        payg_cap=list(payg_cap),
        key_budget=list(key_budget),
        billing_email=account.billing_email,
    )


def record(capture, *events):
    """Record a batch and run what its commit triggers (the check, then the e-mails)."""
    with capture(execute=True):
        return usage_record_batch(events=list(events))


def period_of(key) -> BillingPeriod:
    return BillingPeriod.objects.get(account=key.account, month="2026-11-01")


# --- the arithmetic, without a database --------------------------------------------------------


@pytest.mark.parametrize(
    ("thresholds", "reference", "used", "above", "expected"),
    [
        ((80, 100), "40", "31.99", None, None),
        ((80, 100), "40", "32", None, 80),  # exactly 80 % reaches it
        ((80, 100), "40", "39.99", None, 80),
        ((80, 100), "40", "40", None, 100),  # both at once: the highest
        ((80, 100), "40", "40", 80, 100),
        ((80, 100), "40", "40", 100, None),  # already said
        ((80, 100), "40", "35", 100, None),  # a lower one never follows a higher one
        ((50, 80, 90), "100", "88", None, 80),
        ((50, 80, 90), "100", "96", 80, 90),
        ((), "100", "100", None, None),  # no threshold: no alert
        ((80, 100), "0", "0", None, None),  # no credits: nothing to measure against
        ((80, 100), None, "5", None, None),  # no ceiling / no budget
        ((80, 100), "100", "150", None, 100),  # ceiling lowered below the overage
    ],
)
def test_the_highest_threshold_newly_reached(thresholds, reference, used, above, expected):
    reference = D(reference) if reference is not None else None

    assert highest_reached(
        thresholds=thresholds, reference=reference, used=D(used), above=above
    ) == (expected)


@given(
    thresholds=st.lists(st.integers(1, 100), max_size=5),
    reference=st.decimals(min_value=D("0.01"), max_value=D("1e9"), places=2),
    share=st.decimals(min_value=0, max_value=D("1.5"), places=4),
    above=st.none() | st.integers(1, 100),
)
def test_the_threshold_named_is_reached_above_the_last_and_the_highest_such(
    thresholds, reference, share, above
):
    used = reference * share

    named = highest_reached(thresholds=thresholds, reference=reference, used=used, above=above)

    eligible = [t for t in thresholds if used * 100 >= reference * t and (above or 0) < t]
    assert named == (max(eligible) if eligible else None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("80, 100", [80, 100]), ("100;50 %, 80,", [50, 80, 100]), ("", []), (" 90 ", [90])],
)
def test_thresholds_are_read_from_what_the_customer_types(text, expected):
    assert thresholds_parse(text) == expected


@pytest.mark.parametrize("text", ["0", "101", "80.5", "abc", "10,20,30,40,50,60"])
def test_thresholds_out_of_range_are_refused_with_a_message(text):
    with pytest.raises(AlertSettingsError):
        thresholds_parse(text)


# --- included credits, through the metering ----------------------------------------------------


@pytest.mark.django_db
def test_one_event_crossing_several_thresholds_sends_one_e_mail_with_the_right_remaining(
    freeze, django_capture_on_commit_callbacks
):
    freeze(NOW)
    key = customer(credits="100")
    set_thresholds(key.account, credits=(50, 80, 90))
    record(django_capture_on_commit_callbacks, image_event(key, "a", images=5))  # 40 %

    record(django_capture_on_commit_callbacks, image_event(key, "b", images=6))  # 88 %
    first = list(mail.outbox)
    record(django_capture_on_commit_callbacks, image_event(key, "c"))  # 96 %
    record(django_capture_on_commit_callbacks, image_event(key, "d"))  # 104 %: no 100 set

    assert [m.subject for m in first] == ["Vous avez utilisé 80 % de vos crédits de novembre 2026"]
    assert "Il reste 12,00 DZD de crédits" in first[0].body
    assert "88,00 DZD utilisés" in first[0].body
    assert [m.subject for m in mail.outbox[1:]] == [
        "Vous avez utilisé 90 % de vos crédits de novembre 2026"
    ]
    assert "Il reste 4,00 DZD de crédits" in mail.outbox[1].body
    alerts = CreditAlert.objects.order_by("threshold")
    assert [(a.kind, a.threshold, a.reference, a.used) for a in alerts] == [
        ("credits", 80, D("100"), D("88")),
        ("credits", 90, D("100"), D("96")),
    ]


@pytest.mark.django_db
def test_an_account_without_a_settings_row_gets_80_and_100(
    freeze, django_capture_on_commit_callbacks
):
    freeze(NOW)
    key = customer(credits="40")

    record(django_capture_on_commit_callbacks, image_event(key, "a", images=4))  # 80 %
    record(django_capture_on_commit_callbacks, image_event(key, "b", images=1))  # 100 %

    assert [m.subject for m in mail.outbox] == [
        "Vous avez utilisé 80 % de vos crédits de novembre 2026",
        "Vos crédits de novembre 2026 sont épuisés",
    ]
    assert AlertSettings.objects.get(account=key.account).credits == [80, 100]


@pytest.mark.django_db
def test_each_threshold_is_sent_once_whatever_the_number_of_checks(
    freeze, django_capture_on_commit_callbacks
):
    freeze(NOW)
    key = customer(credits="40")
    record(django_capture_on_commit_callbacks, image_event(key, "a", images=4))  # 80 %

    with django_capture_on_commit_callbacks(execute=True):
        again = [alerts_check(period_id=period_of(key).pk) for _ in range(3)]

    assert again == [[], [], []]
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_no_credits_alert_when_the_customer_removed_them(
    freeze, django_capture_on_commit_callbacks
):
    freeze(NOW)
    key = customer(credits="40")
    set_thresholds(key.account, credits=())

    record(django_capture_on_commit_callbacks, image_event(key, "a", images=5))

    assert mail.outbox == []
    assert CreditAlert.objects.count() == 0


@pytest.mark.django_db
def test_the_billing_address_receives_the_alert_too(freeze, django_capture_on_commit_callbacks):
    freeze(NOW)
    key = customer(credits="40")
    account = key.account
    account.billing_email = "compta@example.dz"
    set_thresholds(account)

    record(django_capture_on_commit_callbacks, image_event(key, "a", images=5))

    assert mail.outbox[0].to == [account.owner.email, "compta@example.dz"]


# --- a month already over -------------------------------------------------------------------------


@pytest.mark.django_db
def test_events_reported_late_for_a_month_over_send_no_alert(
    freeze, django_capture_on_commit_callbacks
):
    freeze("2026-12-02 10:00 +01:00")
    key = customer(credits="40")
    late = datetime(2026, 11, 30, 23, tzinfo=ALGIERS).isoformat()

    batch = record(
        django_capture_on_commit_callbacks, image_event(key, "a", images=5, occurred_at=late)
    )
    checked = alerts_check(period_id=period_of(key).pk)

    assert batch.accepted == 1
    assert period_of(key).consumed == D("40")
    assert checked == []
    assert mail.outbox == []
    assert CreditAlert.objects.count() == 0


# --- the pay-as-you-go ceiling and key budgets ----------------------------------------------------


@pytest.mark.django_db
def test_the_ceiling_alert_names_the_overage_and_what_is_left(
    freeze, django_capture_on_commit_callbacks
):
    freeze(NOW)
    key = customer(credits="8", payg=True)
    key.account.subscription.payg_cap = D("100.00")
    key.account.subscription.save()
    set_thresholds(key.account, credits=())

    record(django_capture_on_commit_callbacks, image_event(key, "a", images=11))  # 80 overage

    assert [m.subject for m in mail.outbox] == [
        "Vous avez atteint 80 % de votre plafond de pay as you go de novembre 2026"
    ]
    body = mail.outbox[0].body
    assert "80,00 DZD HT de dépassement sur un plafond de 100,00 DZD HT" in body
    assert "Il reste 20,00 DZD HT" in body


def spend(key, charged):
    KeySpend.objects.update_or_create(
        api_key=key, month="2026-11-01", defaults={"charged": D(charged)}
    )


@pytest.mark.django_db
def test_each_budgeted_key_gets_its_own_alert_and_unbudgeted_keys_none(
    freeze, django_capture_on_commit_callbacks
):
    freeze(NOW)
    key = customer(credits="1000")
    key.monthly_budget = D("50.00")
    key.save()
    staging = ApiKeyFactory(account=key.account, name="Recette", monthly_budget=D("20.00"))
    free = ApiKeyFactory(account=key.account, name="Libre")
    record(django_capture_on_commit_callbacks, image_event(key, "a"))  # the period exists
    spend(key, "45.50")
    spend(staging, "20")
    spend(free, "900")

    with django_capture_on_commit_callbacks(execute=True):
        claimed = alerts_check(period_id=period_of(key).pk)

    assert sorted((a.api_key.name, a.threshold) for a in claimed) == [
        ("Production", 80),
        ("Recette", 100),
    ]
    subjects = sorted(m.subject for m in mail.outbox)
    assert subjects == [
        "La clé « Production » a utilisé 80 % de son budget de novembre 2026",
        "La clé « Recette » a atteint son budget de novembre 2026",
    ]
    production = next(m for m in mail.outbox if "Production" in m.subject)
    assert "45,50 DZD HT sur 50,00 DZD HT" in production.body
    assert "Il reste 4,50 DZD HT à cette clé" in production.body


# --- the metering asks for a check only when a threshold may have been reached -------------------


@pytest.fixture
def enqueued(monkeypatch):
    """The period ids whose check the metering queued (the check itself still runs)."""
    from billing import tasks

    calls = []
    real = tasks.alerts_check_task.apply_async

    def spy(*args, **kwargs):
        calls.append(kwargs["kwargs"]["period_id"])
        return real(*args, **kwargs)

    monkeypatch.setattr(tasks.alerts_check_task, "apply_async", spy)
    return calls


@pytest.mark.django_db
def test_batches_that_reach_no_threshold_queue_no_check(
    freeze, django_capture_on_commit_callbacks, enqueued
):
    freeze(NOW)
    key = customer(credits="100")

    for n in range(9):  # 8 DZD each: 8 % ... 72 %
        record(django_capture_on_commit_callbacks, image_event(key, f"e{n}"))
    quiet = list(enqueued)
    record(django_capture_on_commit_callbacks, image_event(key, "e9"))  # 80 %

    assert quiet == []
    assert enqueued == [period_of(key).pk]
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_budgeted_key_reaching_a_threshold_is_seen_from_its_spend(
    freeze, django_capture_on_commit_callbacks, enqueued
):
    # KeySpend is kept by the ledger (the key budgets' allocation).
    freeze(NOW)
    key = customer(credits="1000")
    key.monthly_budget = D("50.00")
    key.save()
    record(django_capture_on_commit_callbacks, image_event(key, "a", images=4))  # 32 of 50: 64 %

    record(django_capture_on_commit_callbacks, image_event(key, "b"))  # 40 of 50: 80 %

    assert len(enqueued) == 1
    assert [m.subject for m in mail.outbox] == [
        "La clé « Production » a utilisé 80 % de son budget de novembre 2026"
    ]
    assert "Il reste 10,00 DZD HT à cette clé" in mail.outbox[0].body


@pytest.mark.django_db
def test_settings_changed_elsewhere_are_seen_at_the_next_batch(
    freeze, django_capture_on_commit_callbacks
):
    # The batch reads the thresholds with its keys: no cache to expire.
    freeze(NOW)
    key = customer(credits="100")
    set_thresholds(key.account)
    record(django_capture_on_commit_callbacks, image_event(key, "a"))  # 8 %
    AlertSettings.objects.filter(account=key.account).update(credits=[10])  # another process

    record(django_capture_on_commit_callbacks, image_event(key, "b"))  # 16 %

    assert [m.subject for m in mail.outbox] == [
        "Vous avez utilisé 10 % de vos crédits de novembre 2026"
    ]


@pytest.mark.django_db
def test_a_threshold_lowered_below_the_use_is_sent_at_the_next_batch(
    freeze, django_capture_on_commit_callbacks
):
    freeze(NOW)
    key = customer(credits="100")
    set_thresholds(key.account, credits=(90,))
    record(django_capture_on_commit_callbacks, image_event(key, "a", images=3))  # 24 %
    AlertSettings.objects.filter(account=key.account).update(credits=[20, 90])

    record(django_capture_on_commit_callbacks, image_event(key, "b"))  # 32 %: 20 % passed before

    # The check claims by state: the 20 % passed while it was not set is sent now.
    assert [m.subject for m in mail.outbox] == [
        "Vous avez utilisé 20 % de vos crédits de novembre 2026"
    ]


@pytest.mark.django_db
def test_a_budget_lowered_below_the_spend_is_sent_at_the_next_batch(
    freeze, django_capture_on_commit_callbacks
):
    freeze(NOW)
    key = customer(credits="1000")
    ApiKey.objects.filter(pk=key.pk).update(monthly_budget=D("500.00"))
    record(django_capture_on_commit_callbacks, image_event(key, "a", images=5))  # 40 of 500
    ApiKey.objects.filter(pk=key.pk).update(monthly_budget=D("45.00"))

    record(django_capture_on_commit_callbacks, image_event(key, "b"))  # 48: beyond 45

    assert [m.subject for m in mail.outbox] == [
        "La clé « Production » a atteint son budget de novembre 2026"
    ]


# --- never in the metering's way ----------------------------------------------------------------


class BrokenBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise SMTPException("SMTP down")


@pytest.mark.django_db
def test_an_e_mail_outage_never_stops_the_metering_and_the_alert_goes_out_later(
    freeze, django_capture_on_commit_callbacks, settings
):
    freeze(NOW)
    key = customer(credits="40")
    settings.EMAIL_BACKEND = "tests.billing.test_alerts.BrokenBackend"

    batch = record(django_capture_on_commit_callbacks, image_event(key, "a", images=4))
    alert = CreditAlert.objects.get()
    record(django_capture_on_commit_callbacks, image_event(key, "b", images=0 + 1))  # 100 %
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    freeze("2026-11-16 10:30 +01:00")
    sent = credit_alerts_send_pending()

    assert batch.accepted == 1
    assert UsageEvent.objects.count() == 2
    assert period_of(key).consumed == D("40")
    assert alert.sent_at is None
    assert sent == 2
    # Each e-mail states the amounts of its own moment, not those of when it finally left.
    eighty = next(m for m in mail.outbox if "80 %" in m.subject)
    assert "Il reste 8,00 DZD de crédits" in eighty.body


@pytest.mark.django_db
def test_a_failing_check_never_fails_the_metering(
    freeze, django_capture_on_commit_callbacks, monkeypatch
):
    from billing import tasks

    def broken(**kwargs):
        raise RuntimeError("bug in the check")

    monkeypatch.setattr(tasks, "alerts_check", broken)
    freeze(NOW)
    key = customer(credits="40")

    batch = record(django_capture_on_commit_callbacks, image_event(key, "a", images=5))

    assert batch.accepted == 1
    assert period_of(key).consumed == D("40")
    assert mail.outbox == []


# --- two checks at once (PostgreSQL) ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
@postgres_only()
@pytest.mark.parametrize("count", [2, 8])
def test_concurrent_checks_send_each_alert_once(freeze, count):
    freeze(NOW)
    key = customer(credits="40")
    period = BillingPeriod.objects.create(
        account=key.account, month="2026-11-01", included_credits=D("40"), consumed=D("40")
    )
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def work(n):
        try:
            barrier.wait()
            results[n] = len(alerts_check(period_id=period.pk))
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(results) == [0] * (count - 1) + [1]
    assert list(CreditAlert.objects.values_list("threshold", flat=True)) == [100]
    assert [m.subject for m in mail.outbox] == ["Vos crédits de novembre 2026 sont épuisés"]


# --- the espace client page ---------------------------------------------------------------------

URL = "/espace-client/alertes/"


@pytest.mark.django_db
def test_the_page_needs_a_login(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert "/comptes/" in response["Location"]


@pytest.mark.django_db
def test_the_page_shows_the_defaults_and_is_in_the_sidebar(client):
    key = customer(credits="40")
    client.force_login(key.account.owner)

    response = client.get(URL)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('value="80, 100"') == 3
    assert '<a href="/espace-client/alertes/" aria-current="page">Alertes</a>' in html


@pytest.mark.django_db
def test_a_plain_post_saves_the_thresholds_and_the_billing_address(client):
    key = customer(credits="40")
    account = key.account
    client.force_login(account.owner)

    response = client.post(
        URL,
        {
            "credits": "50, 90, 100",
            "payg_cap": "",
            "key_budget": "75",
            "billing_email": "compta@example.dz",
        },
    )

    assert response.status_code == 302
    row = AlertSettings.objects.get(account=account)
    assert (row.credits, row.payg_cap, row.key_budget) == ([50, 90, 100], [], [75])
    account.refresh_from_db()
    assert account.billing_email == "compta@example.dz"


@pytest.mark.django_db
def test_an_htmx_post_swaps_the_section_and_a_bad_threshold_is_explained(client):
    key = customer(credits="40")
    client.force_login(key.account.owner)

    good = client.post(
        URL,
        {"credits": "60", "payg_cap": "80,100", "key_budget": "100", "billing_email": ""},
        HTTP_HX_REQUEST="true",
    )
    bad = client.post(
        URL,
        {"credits": "120", "payg_cap": "", "key_budget": "", "billing_email": "pas-un-email"},
        HTTP_HX_REQUEST="true",
    )

    assert good.status_code == 200
    assert good.content.decode().lstrip().startswith('<section id="alertes"')
    assert "Vos alertes sont enregistrées." in good.content.decode()
    html = bad.content.decode()
    assert "« 120 » n&#x27;est pas un seuil valide" in html
    assert "Saisissez une adresse e-mail valide." in html
    assert AlertSettings.objects.get(account=key.account).credits == [60]
