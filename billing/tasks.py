"""Celery tasks of the billing app: thin interfaces to the services, safe to run twice."""

from celery import shared_task
from django.db import OperationalError

from .periods import Month
from .services.alerts import (
    alerts_check,
    alerts_check_open_periods,
    credit_alert_send,
    credit_alerts_send_pending,
)
from .services.close import close_month_default, period_close, periods_close_overdue
from .services.dunning import invoices_dun
from .services.invoices import invoices_issued_notify_pending
from .services.price_notices import price_increase_notify

RETRY = {
    "acks_late": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "max_retries": 5,
}


@shared_task(**RETRY)
def period_close_task(month: str | None = None) -> str:
    """The monthly close (beat: 00:05 on the 1st), by default of the month that just ended."""
    # The service locks, skips what is already closed, and can run twice safely.
    target = Month.parse(month) if month else close_month_default()
    return str(period_close(month=target))


@shared_task(**RETRY)
def billing_housekeeping_task() -> list[str]:
    """Daily: finish any month left unclosed, send invoice e-mails a killed close did not."""
    results = [str(result) for result in periods_close_overdue()]
    invoices_issued_notify_pending()
    alerts_check_open_periods()
    credit_alerts_send_pending()
    return results


@shared_task(**RETRY)
def credit_alert_send_task(alert_id: int) -> bool:
    """One credit alert e-mail, off the gateway's request; sends nothing if already sent."""
    return credit_alert_send(alert_id=alert_id)


@shared_task(**RETRY)
def invoices_dun_task() -> dict[str, int]:
    """Daily (beat, 08:00 Algiers): reminders at the due date and +7 days, suspensions."""
    return invoices_dun()


@shared_task(**RETRY)
def alerts_check_task(period_id: int) -> int:
    """The spending alerts a charged period calls for, once its charge has committed."""
    return len(alerts_check(period_id=period_id))


@shared_task(**RETRY)
def price_increase_notify_task(price_id: int) -> int:
    """The e-mails of an announced price increase, off the admin's request; safe to rerun."""
    return price_increase_notify(price_id=price_id)
