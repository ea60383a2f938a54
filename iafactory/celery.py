import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iafactory.settings")

app = Celery("iafactory")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
