"""The Celery app: broker and options from settings (CELERY_*), schedule in code.

Without REDIS_URL the broker is kombu's filesystem transport under var/broker, so that
`make run` runs a real worker and beat on one machine with nothing installed.
"""

import os
from pathlib import Path

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iafactory.settings")

app = Celery("iafactory")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Crontabs are read in the app's timezone (CELERY_TIMEZONE = Africa/Algiers).
app.conf.beat_schedule = {
    "monthly-close": {
        "task": "billing.tasks.period_close_task",
        "schedule": crontab(minute=5, hour=0, day_of_month=1),
    },
    "daily-billing-housekeeping": {
        "task": "billing.tasks.billing_housekeeping_task",
        "schedule": crontab(minute=30, hour=3),
    },
    # h11: payment reminders and suspensions for unpaid invoices (issue 12).
    "daily-invoice-reminders": {
        "task": "billing.tasks.invoices_dun_task",
        "schedule": crontab(minute=0, hour=8),
    },
}


@app.on_after_configure.connect
def _broker_folders(sender: Celery, **kwargs) -> None:
    """The filesystem transport expects its folders to exist."""
    options = sender.conf.broker_transport_options or {}
    if str(sender.conf.broker_url).startswith("filesystem"):
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            if options.get(key):
                Path(options[key]).mkdir(parents=True, exist_ok=True)
    schedule = sender.conf.beat_schedule_filename
    if schedule:
        Path(schedule).parent.mkdir(parents=True, exist_ok=True)
