"""Billing months in Africa/Algiers time: the one helper every month boundary comes from."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from iafactory.formatting import ALGIERS

BILLING_TZ = ALGIERS
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 2000 <= self.year <= 2999:
            raise ValueError(f"Mois invalide : {self.year}-{self.month:02d}")

    @classmethod
    def parse(cls, value: str) -> Month:
        match = _MONTH_RE.match(value.strip())
        if not match:
            raise ValueError(f"Mois invalide : « {value} » (format attendu AAAA-MM).")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, moment: datetime | date) -> Month:
        """The billing month of an instant (aware datetime) or a calendar day."""
        if isinstance(moment, datetime):
            moment = moment.astimezone(BILLING_TZ).date()
        return cls(moment.year, moment.month)

    @classmethod
    def current(cls) -> Month:
        return cls.of(timezone.now())

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, self.days)

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.first_day, time.min, tzinfo=BILLING_TZ)

    @property
    def ends_at(self) -> datetime:
        """The instant the next month starts (exclusive end)."""
        return self.next().starts_at

    def next(self) -> Month:
        return Month.of(self.last_day + timedelta(days=1))

    def previous(self) -> Month:
        return Month.of(self.first_day - timedelta(days=1))

    def remaining_days(self, day: date) -> int:
        """Days from `day` (included) to the end of the month."""
        if Month.of(day) != self:
            raise ValueError(f"{day} n'est pas dans {self}")
        return self.days - day.day + 1


def local_date(moment: datetime) -> date:
    return moment.astimezone(BILLING_TZ).date()
