import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iafactory.settings")
# Before the settings load: web requests get DB_STATEMENT_TIMEOUT_MS, other processes do not.
os.environ["IAFACTORY_WEB_PROCESS"] = "1"
application = get_wsgi_application()
