from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from accounts.models import ApiKey
from billing.metering import usage_authorize, usage_record_batch
from billing.models import (
    BillingPeriod,
    CreditAlert,
    PayAsYouGoChange,
    Subscription,
    UsageEvent,
)
from catalog.models import AIModel, ModelPrice
from tests.billing.conftest import FaultyLedger, customer, image_event, text_event

pytestmark = pytest.mark.django_db

ALGIERS = ZoneInfo("Africa/Algiers")
NOW = "2026-11-16 10:00 +01:00"


def at(day: int, hour: int = 12) -> str:
    return datetime(2026, 11, day, hour, tzinfo=ALGIERS).isoformat()


def period_of(key) -> BillingPeriod:
    return BillingPeriod.objects.get(account=key.account, month="2026-11-01")


def split(idem):
    event = UsageEvent.objects.get(idempotency_key=idem)
    return (event.cost, event.credits, event.overage, event.written_off)


def totals(period):
    period.refresh_from_db()
    return (period.consumed, period.overage, period.written_off)


def test_events_within_credits_consume_them_at_the_exact_cost(freeze):
    freeze(NOW)
    key = customer(credits="500")

    batch = usage_record_batch(events=[text_event(key, "a"), image_event(key, "b", images=2)])

    assert [(r.status, r.cost) for r in batch.results] == [
        ("accepted", Decimal("1.625")),
        ("accepted", Decimal("16")),
    ]
    assert split("a") == (Decimal("1.625"), Decimal("1.625"), 0, 0)
    assert totals(period_of(key)) == (Decimal("17.625"), 0, 0)
    event = UsageEvent.objects.get(idempotency_key="a")
    assert (event.input_price, event.output_price, event.image_price) == (
        Decimal("250"),
        Decimal("1000"),
        None,
    )
    assert (event.input_tokens, event.output_tokens, event.pay_as_you_go) == (500, 1500, False)


@pytest.mark.parametrize(
    ("payg", "expected_split", "expected_period"),
    [
        # 20 credits: 16 used, then an 8 DZD image: 4 on credits, 4 beyond.
        (False, ("8", "4", "0", "4"), ("20", "0", "4")),
        (True, ("8", "4", "4", "0"), ("20", "4", "0")),
    ],
)
def test_the_event_that_crosses_the_limit_is_split(freeze, payg, expected_split, expected_period):
    freeze(NOW)
    key = customer(credits="20", payg=payg)
    usage_record_batch(events=[image_event(key, "a", images=2)])

    usage_record_batch(events=[image_event(key, "b")])

    assert split("b") == tuple(Decimal(v) for v in expected_split)
    assert totals(period_of(key)) == tuple(Decimal(v) for v in expected_period)


def test_events_after_credits_ran_out_with_payg_off_are_accepted_and_written_off(freeze):
    freeze(NOW)
    key = customer(credits="8")
    usage_record_batch(events=[image_event(key, "a")])

    batch = usage_record_batch(events=[image_event(key, "b"), image_event(key, "c", images=3)])

    assert [r.status for r in batch.results] == ["accepted", "accepted"]
    assert split("c") == (Decimal("24"), 0, 0, Decimal("24"))
    assert totals(period_of(key)) == (Decimal("8"), 0, Decimal("32"))


def test_no_formula_with_payg_is_all_overage(freeze):
    freeze(NOW)
    key = customer(credits=None, payg=True)

    usage_record_batch(events=[text_event(key, "a"), image_event(key, "b")])

    assert split("a") == (Decimal("1.625"), 0, Decimal("1.625"), 0)
    period = period_of(key)
    assert period.included_credits == 0
    assert totals(period) == (0, Decimal("9.625"), 0)


def test_no_formula_without_payg_is_all_written_off(freeze):
    freeze(NOW)
    key = customer(credits=None, payg=False)

    usage_record_batch(events=[image_event(key, "a")])

    assert split("a") == (Decimal("8"), 0, 0, Decimal("8"))


def test_a_price_changed_mid_month_charges_each_event_at_its_own_price(freeze):
    freeze(NOW)
    flux = AIModel.objects.get(slug="flux-schnell")
    ModelPrice.objects.create(
        model=flux, effective_at=datetime(2026, 11, 10, tzinfo=ALGIERS), per_image=Decimal("9.5")
    )
    key = customer(credits="500")

    batch = usage_record_batch(
        events=[
            image_event(key, "before", occurred_at=at(9, 23)),
            image_event(key, "after", occurred_at=at(10, 0)),
        ]
    )

    assert [r.cost for r in batch.results] == [Decimal("8"), Decimal("9.5")]
    assert UsageEvent.objects.get(idempotency_key="before").image_price == Decimal("8")
    assert UsageEvent.objects.get(idempotency_key="after").image_price == Decimal("9.5")
    assert totals(period_of(key)) == (Decimal("17.5"), 0, 0)


def test_payg_toggled_mid_month_applies_as_it_was_at_each_event(freeze):
    freeze(NOW)
    key = customer(credits="0")
    account = key.account
    PayAsYouGoChange.objects.create(account=account, enabled=True, changed_at=at(5))
    PayAsYouGoChange.objects.create(account=account, enabled=False, changed_at=at(12))
    # As payg_set does: the subscription records when its state last changed.
    Subscription.objects.filter(account=account).update(pay_as_you_go_changed_at=at(12))

    usage_record_batch(
        events=[
            image_event(key, "before-any", occurred_at=at(4)),
            image_event(key, "while-on", occurred_at=at(8)),
            image_event(key, "after-off", occurred_at=at(13)),
        ]
    )

    assert split("before-any") == (Decimal("8"), 0, 0, Decimal("8"))
    assert split("while-on") == (Decimal("8"), 0, Decimal("8"), 0)
    assert split("after-off") == (Decimal("8"), 0, 0, Decimal("8"))
    assert UsageEvent.objects.get(idempotency_key="while-on").pay_as_you_go is True
    assert totals(period_of(key)) == (0, Decimal("8"), Decimal("16"))


def test_without_recorded_switch_the_subscription_decides(freeze):
    freeze(NOW)
    key = customer(credits="0", payg=True)

    usage_record_batch(events=[image_event(key, "a", occurred_at=at(2))])

    assert split("a") == (Decimal("8"), 0, Decimal("8"), 0)


def test_a_replayed_batch_is_answered_with_the_first_results_and_charged_once(freeze):
    freeze(NOW)
    key = customer(credits="500")
    events = [text_event(key, "a"), image_event(key, "b", occurred_at=at(3))]
    usage_record_batch(events=events)

    replay = usage_record_batch(events=events)

    assert [(r.status, r.cost) for r in replay.results] == [
        ("duplicate", Decimal("1.625")),
        ("duplicate", Decimal("8")),
    ]
    assert (replay.accepted, replay.duplicates, replay.rejected) == (0, 2, 0)
    assert UsageEvent.objects.count() == 2
    assert totals(period_of(key)) == (Decimal("9.625"), 0, 0)


def test_the_same_key_with_other_content_is_a_conflict(freeze):
    freeze(NOW)
    key = customer(credits="500")
    usage_record_batch(events=[image_event(key, "a", images=1, occurred_at=at(3))])

    batch = usage_record_batch(events=[image_event(key, "a", images=2, occurred_at=at(3))])

    assert batch.results[0].status == "rejected"
    assert "Conflit" in batch.results[0].error
    assert totals(period_of(key)) == (Decimal("8"), 0, 0)


def test_duplicates_inside_one_batch(freeze):
    freeze(NOW)
    key = customer(credits="500")

    batch = usage_record_batch(
        events=[
            image_event(key, "a", occurred_at=at(3)),
            image_event(key, "a", occurred_at=at(3)),
            image_event(key, "a", images=5, occurred_at=at(3)),
        ]
    )

    assert [r.status for r in batch.results] == ["accepted", "duplicate", "rejected"]
    assert batch.results[1].cost == Decimal("8")
    assert UsageEvent.objects.count() == 1
    assert totals(period_of(key)) == (Decimal("8"), 0, 0)


def test_idempotency_keys_are_per_account(freeze):
    freeze(NOW)
    first, second = customer(credits="500"), customer(credits="500")

    batch = usage_record_batch(events=[image_event(first, "a"), image_event(second, "a")])

    assert [r.status for r in batch.results] == ["accepted", "accepted"]


def test_a_replay_without_occurred_at_is_still_a_duplicate(freeze):
    freeze(NOW)
    key = customer(credits="500")
    usage_record_batch(events=[image_event(key, "a")])
    freeze("2026-11-16 10:07 +01:00")

    batch = usage_record_batch(events=[image_event(key, "a")])

    assert batch.results[0].status == "duplicate"


def test_a_revoked_key_still_reports_what_happened_before_revocation(freeze):
    freeze(NOW)
    key = customer(credits="500")
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=datetime(2026, 11, 16, 9, tzinfo=ALGIERS))

    batch = usage_record_batch(
        events=[image_event(key, "before", occurred_at=at(16, 8)), image_event(key, "after")]
    )

    assert [r.status for r in batch.results] == ["accepted", "rejected"]
    assert batch.results[1].error == "Clé API révoquée."


def test_an_event_in_a_closed_period_is_rejected(freeze):
    freeze(NOW)
    key = customer(credits="500")
    usage_record_batch(events=[image_event(key, "old", occurred_at="2026-10-20T12:00:00+01:00")])
    BillingPeriod.objects.filter(account=key.account, month="2026-10-01").update(status="closed")

    batch = usage_record_batch(
        events=[
            image_event(key, "late", occurred_at="2026-10-31T23:00:00+01:00"),
            image_event(key, "old", occurred_at="2026-10-20T12:00:00+01:00"),
        ]
    )

    assert batch.results[0].status == "rejected"
    assert batch.results[0].error == (
        "La période 2026-10 est clôturée : cet événement ne peut plus être facturé."
    )
    assert batch.results[1].status == "duplicate"


def test_the_key_is_marked_used(freeze):
    freeze(NOW)
    key = customer(credits="500")

    usage_record_batch(events=[image_event(key, "a")])

    key.refresh_from_db()
    assert key.last_used_at == datetime(2026, 11, 16, 10, tzinfo=ALGIERS)


def test_alerts_go_out_once_at_80_and_at_100_percent(freeze, django_capture_on_commit_callbacks):
    freeze(NOW)
    key = customer(credits="40")  # 5 images

    with django_capture_on_commit_callbacks(execute=True):
        usage_record_batch(events=[image_event(key, "a", images=3)])  # 60 %
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        usage_record_batch(events=[image_event(key, "b", images=1)])  # 80 %
    with django_capture_on_commit_callbacks(execute=True):
        usage_record_batch(events=[image_event(key, "c", images=1)])  # 100 %
    with django_capture_on_commit_callbacks(execute=True):
        usage_record_batch(events=[image_event(key, "d", images=1)])  # beyond

    assert [m.subject for m in mail.outbox] == [
        "Vous avez utilisé 80 % de vos crédits de novembre 2026",
        "Vos crédits de novembre 2026 sont épuisés",
    ]
    assert mail.outbox[0].to == [key.account.owner.email]
    assert "Il reste 8,00 DZD" in mail.outbox[0].body
    assert set(CreditAlert.objects.values_list("threshold", flat=True)) == {80, 100}
    assert CreditAlert.objects.filter(sent_at__isnull=True).count() == 0


def test_one_batch_crossing_both_thresholds_sends_one_e_mail_naming_100(
    freeze, django_capture_on_commit_callbacks
):
    freeze(NOW)
    key = customer(credits="40")

    with django_capture_on_commit_callbacks(execute=True):
        usage_record_batch(events=[image_event(key, "a", images=9)])

    assert [m.subject for m in mail.outbox] == ["Vos crédits de novembre 2026 sont épuisés"]


def test_no_alert_without_included_credits(freeze, django_capture_on_commit_callbacks):
    freeze(NOW)
    key = customer(credits=None, payg=True)

    with django_capture_on_commit_callbacks(execute=True):
        usage_record_batch(events=[image_event(key, "a", images=9)])

    assert mail.outbox == []
    assert CreditAlert.objects.count() == 0


@pytest.mark.parametrize("size", [2, 60])  # INSERT … ON CONFLICT, and COPY on PostgreSQL
def test_a_key_recorded_by_another_request_is_caught_by_the_insert_then_read_under_locks(
    freeze, size
):
    # Nothing is read before the insert: the recorded key makes the first attempt insert
    # fewer rows than it sent (or COPY fail), and the rerun reads the keys under the locks.
    freeze(NOW)
    key = customer(credits="1000")
    usage_record_batch(events=[image_event(key, "a")])
    ledger = FaultyLedger(
        recorded=lambda real, call, pairs: real(pairs),
        record=lambda real, call, *args, **kwargs: real(*args, **kwargs),
    )
    fresh = [image_event(key, f"new-{n}") for n in range(size - 1)]

    batch = usage_record_batch(events=[*fresh, image_event(key, "a")], ledger=ledger)

    assert (ledger.calls["record"], ledger.calls["recorded"]) == (2, 1)
    assert [r.status for r in batch.results] == ["accepted"] * (size - 1) + ["duplicate"]
    assert UsageEvent.objects.count() == size
    assert totals(period_of(key)) == (Decimal(8) * size, 0, 0)


def test_an_alert_check_the_broker_could_not_take_is_run_by_housekeeping(
    freeze, django_capture_on_commit_callbacks, monkeypatch
):
    from billing import tasks
    from billing.services.alerts import alerts_check_open_periods

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.alerts_check_task, "apply_async", broker_down)
    freeze(NOW)
    key = customer(credits="40")

    with django_capture_on_commit_callbacks(execute=True):
        batch = usage_record_batch(events=[image_event(key, "a", images=4)])  # 80 %
    unsent = list(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        checked = alerts_check_open_periods()
    with django_capture_on_commit_callbacks(execute=True):
        again = alerts_check_open_periods()

    assert batch.accepted == 1  # the usage was recorded whatever happened to the e-mail
    assert unsent == []
    assert (checked, again) == (1, 0)
    assert [m.subject for m in mail.outbox] == [
        "Vous avez utilisé 80 % de vos crédits de novembre 2026"
    ]


# --- a model staff withdrew ------------------------------------------------------------------


def test_unticking_available_records_the_withdrawal_instant_and_ticking_clears_it(freeze):
    freeze("2026-11-16 09:30 +01:00")
    model = AIModel.objects.get(slug="flux-schnell")

    model.is_active = False
    model.save()
    freeze("2026-11-16 11:00 +01:00")
    model.save()  # saved again while withdrawn: the first instant stays

    model.refresh_from_db()
    assert model.withdrawn_at == datetime(2026, 11, 16, 9, 30, tzinfo=ALGIERS)
    model.is_active = True
    model.save(update_fields=["is_active"])
    model.refresh_from_db()
    assert model.withdrawn_at is None


def test_usage_after_a_model_is_withdrawn_is_rejected_and_earlier_usage_accepted(freeze):
    key = customer(credits="100")
    freeze("2026-11-16 09:30 +01:00")
    model = AIModel.objects.get(slug="flux-schnell")
    model.is_active = False
    model.save()
    freeze(NOW)

    batch = usage_record_batch(
        events=[
            image_event(key, "before", occurred_at="2026-11-16T09:29:59+01:00"),
            image_event(key, "at", occurred_at="2026-11-16T09:30:00+01:00"),
            image_event(key, "received now"),
            text_event(key, "other model"),
        ]
    )

    assert [r.status for r in batch.results] == ["accepted", "rejected", "rejected", "accepted"]
    assert batch.results[1].error == (
        "Modèle retiré le 16 novembre 2026 à 09:30 (heure d'Alger) : "
        "l'usage survenu après n'est plus accepté."
    )
    assert period_of(key).consumed == Decimal("9.625")  # 8 (one image) + 1.625


def test_authorize_does_not_depend_on_withdrawn_models(freeze):
    key = customer(credits="100")
    freeze(NOW)
    AIModel.objects.update(is_active=False, withdrawn_at=datetime(2026, 11, 1, tzinfo=ALGIERS))

    answer = usage_authorize(raw_key=key.raw)

    assert (answer.allowed, answer.remaining_credits) == (True, Decimal("100"))
