from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from billing.periods import Month

ALGIERS = ZoneInfo("Africa/Algiers")


def test_month_of_an_instant_is_taken_in_algiers_time():
    # 23:30 UTC on 31 October is already 1 November in Algiers (UTC+1).
    moment = datetime(2026, 10, 31, 23, 30, tzinfo=ZoneInfo("UTC"))

    assert Month.of(moment) == Month(2026, 11)


def test_month_boundaries_and_lengths():
    november = Month.parse("2026-11")

    assert november.starts_at == datetime(2026, 11, 1, tzinfo=ALGIERS)
    assert november.ends_at == datetime(2026, 12, 1, tzinfo=ALGIERS)
    assert november.days == 30
    assert november.next() == Month(2026, 12)
    assert Month(2027, 1).previous() == Month(2026, 12)
    assert november.remaining_days(date(2026, 11, 16)) == 15
    assert str(Month(2027, 2)) == "2027-02"


@pytest.mark.parametrize("value", ["2026-13", "2026-1", "novembre", "", "0999-01", "9999-12"])
def test_bad_month_strings_are_rejected(value):
    with pytest.raises(ValueError, match="Mois invalide"):
        Month.parse(value)
