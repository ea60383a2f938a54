"""The one formatting module (iafactory.formatting) and its template library."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.template.defaultfilters import floatformat
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from iafactory import formatting
from iafactory.formatting_tags import amount, date_fr, datetime_fr, dzd, instant_fr, money

ALGIERS = ZoneInfo("Africa/Algiers")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("250.0000"), "250"),
        (Decimal("1000.0000"), "1\u00a0000"),
        (Decimal("0.125"), "0,125"),
        (Decimal("312.5000"), "312,5"),
        (Decimal("0.0021848641"), "0,0021848641"),
        (Decimal("1234567.25"), "1\u00a0234\u00a0567,25"),
        (Decimal("0E-10"), "0"),
        (1500, "1\u00a0500"),
    ],
)
def test_amounts_keep_every_significant_digit_and_no_more(value, shown):
    assert amount(value) == shown


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        (datetime(2027, 1, 1, tzinfo=ALGIERS), "1er janvier 2027"),
        (datetime(2027, 3, 15, tzinfo=ALGIERS), "15 mars 2027"),
        (datetime(2027, 3, 15, 14, 30, tzinfo=ALGIERS), "15 mars 2027 à 14\u00a0h\u00a030"),
        (datetime(2026, 12, 31, 23, 0, tzinfo=ZoneInfo("UTC")), "1er janvier 2027"),
    ],
)
def test_price_dates_are_french_with_1er_and_the_time_unless_midnight(moment, shown):
    assert instant_fr(moment) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("1190.4"), "1\u00a0190,40"),
        (Decimal("0.005"), "0,01"),  # half up, for display only
        (Decimal("0.0049999999"), "0,00"),
        (Decimal("-1234.565"), "-1\u00a0234,57"),
        (Decimal("1234567.891"), "1\u00a0234\u00a0567,89"),
        (0, "0,00"),
        (Decimal("-0.004"), "0,00"),
    ],
)
def test_money_is_rounded_to_the_centime_with_no_break_spaces(value, shown):
    assert formatting.format_money(value) == shown
    assert money(value) == shown
    assert dzd(value) == f"{shown}\u00a0DZD"


@pytest.mark.parametrize("empty", [None, ""])
def test_empty_values_render_as_nothing(empty):
    assert (money(empty), dzd(empty), date_fr(empty), datetime_fr(empty)) == ("", "", "", "")


def test_a_day_is_written_as_french_dates_write_it():
    assert formatting.date_label(date(2026, 12, 1)) == "1er décembre 2026"
    assert formatting.date_label(date(2026, 8, 2)) == "2 août 2026"
    assert formatting.month_label(date(2026, 2, 14)) == "février 2026"
    assert formatting.day_label(date(2026, 2, 1)) == "1er"


def test_an_instant_is_dated_in_algiers_whatever_the_zone_it_comes_in():
    late_utc = datetime(2026, 11, 30, 23, 30, tzinfo=ZoneInfo("UTC"))  # 00:30 on the 1st here

    assert date_fr(late_utc) == "1er décembre 2026"
    assert datetime_fr(late_utc) == "1er décembre 2026 à 0\u00a0h\u00a030"


def test_integers_are_grouped_by_thousands():
    assert formatting.format_integer(1_200_000) == "1\u00a0200\u00a0000"
    assert formatting.format_integer(999) == "999"


def test_the_template_library_is_available_to_every_template():
    template = Template("{% load formatting %}{{ x|dzd }} · {{ d|date_fr }} · {{ n|integer }}")

    shown = template.render(Context({"x": Decimal("1500"), "d": date(2027, 1, 1), "n": 12345}))

    assert shown == "1\u00a0500,00\u00a0DZD · 1er janvier 2027 · 12\u00a0345"


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=6, allow_nan=False))
def test_money_reads_as_the_floatformat_it_replaced_in_pages_and_emails(value):
    with translation.override("fr"):
        assert formatting.format_money(value) == floatformat(value, "2g")


# Other languages (issue 15): the active language picks separators, currency and month names.


@pytest.mark.parametrize(
    ("language", "money_shown", "dzd_shown", "integer_shown"),
    [
        ("fr", "1\u00a0190,40", "1\u00a0190,40\u00a0DZD", "1\u00a0200\u00a0000"),
        ("ar", "1.190,40", "1.190,40\u00a0د.ج", "1.200.000"),
        ("en", "1,190.40", "1,190.40\u00a0DZD", "1,200,000"),
    ],
)
def test_money_follows_the_language_with_dinars_written_in_arabic(
    language, money_shown, dzd_shown, integer_shown
):
    with translation.override(language):
        assert formatting.format_money(Decimal("1190.4")) == money_shown
        assert dzd(Decimal("1190.4")) == dzd_shown
        assert formatting.format_integer(1_200_000) == integer_shown
        zero = "0.00" if language == "en" else "0,00"
        assert formatting.format_money(Decimal("-0.004")) == zero


@pytest.mark.parametrize(
    ("language", "day", "moment"),
    [
        ("fr", "1er juillet 2026", "16 novembre 2026 à 10\u00a0h\u00a005"),
        ("ar", "1 جويلية 2026", "16 نوفمبر 2026، الساعة 10:05"),
        ("en", "1 July 2026", "16 November 2026 at 10:05"),
    ],
)
def test_dates_follow_the_language_and_1er_stays_french(language, day, moment):
    with translation.override(language):
        assert date_fr(date(2026, 7, 1)) == day
        assert datetime_fr(datetime(2026, 11, 16, 10, 5, tzinfo=ALGIERS)) == moment


def test_without_an_active_language_it_is_french():
    with translation.override(None):
        assert dzd(Decimal("5")) == "5,00\u00a0DZD"
        assert formatting.month_label(date(2026, 8, 1)) == "août 2026"
