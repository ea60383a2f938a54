"""Raw usage events past their retention, exported then deleted, one closed month at a time.

What stays online for those months: the daily rollups (every usage page, the API and the CSV
export read them), the periods' totals and the invoices. The file holds every column of every
event of the month, so nothing that happened is lost; restoring is a COPY of it.
"""

from __future__ import annotations

import csv
import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from ..models import BillingPeriod, UsageEvent
from ..periods import Month

DELETE_CHUNK = 10_000
READ_CHUNK = 5_000
COLUMNS = [f.attname for f in UsageEvent._meta.concrete_fields]


class ArchiveError(ValueError):
    pass


@dataclass
class ArchiveResult:
    archived: list[tuple[Month, int, Path]] = field(default_factory=list)  # month, events, file
    skipped: list[tuple[Month, str]] = field(default_factory=list)  # month, why

    def __str__(self) -> str:
        lines = [f"{month} : {count} événement(s) → {path}" for month, count, path in self.archived]
        lines += [f"{month} ignoré : {why}" for month, why in self.skipped]
        return "\n".join(lines) or "Rien à archiver."


def retention_cutoff(*, months: int, now: Month | None = None) -> Month:
    """The first month kept online: `months` months back from the current one."""
    if months < 1:
        raise ArchiveError("La durée de conservation doit être d'au moins 1 mois.")
    cutoff = now or Month.current()
    for _ in range(months):
        cutoff = cutoff.previous()
    return cutoff


def usage_events_archive(*, months: int, directory: Path) -> ArchiveResult:
    """Export then delete the events of every month before the retention cutoff whose periods
    are all closed. A month with an open period (not invoiced yet) is left whole."""
    cutoff = retention_cutoff(months=months)
    directory.mkdir(parents=True, exist_ok=True)
    result = ArchiveResult()
    old_months = (
        BillingPeriod.objects.filter(month__lt=cutoff.first_day)
        .order_by("month")
        .values_list("month", flat=True)
        .distinct()
    )
    for first_day in old_months:
        month = Month.of(first_day)
        periods = BillingPeriod.objects.filter(month=first_day)
        if periods.filter(status=BillingPeriod.Status.OPEN).exists():
            result.skipped.append((month, "une période est encore ouverte (non facturée)"))
            continue
        events = UsageEvent.objects.filter(period__month=first_day)
        if not events.exists():
            continue
        path = directory / f"usage-events-{month}.csv.gz"
        count = _export(events, path)
        _delete(events)
        result.archived.append((month, count, path))
    return result


def _export(events, path: Path) -> int:
    """Written to a temporary name, renamed once complete: a file under the final name is whole."""
    partial = path.with_name(path.name + ".partial")
    count = 0
    with gzip.open(partial, "wt", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for row in events.order_by("pk").values_list(*COLUMNS).iterator(chunk_size=READ_CHUNK):
            writer.writerow(row)
            count += 1
    os.replace(partial, path)
    return count


def _delete(events) -> None:
    while True:
        ids = list(events.order_by("pk").values_list("pk", flat=True)[:DELETE_CHUNK])
        if not ids:
            return
        with transaction.atomic():
            UsageEvent.objects.filter(pk__in=ids)._raw_delete(UsageEvent.objects.db)
