"""Settings for the IAFactory portal, read from the environment.

Development (nothing set): SQLite in the repository, DEBUG from the environment,
an embedded Celery broker on the filesystem. Production: DEBUG off, a real SECRET_KEY,
DATABASE_URL (PostgreSQL) and REDIS_URL (broker and cache).
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .logging_config import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

# Production refuses to start without its own key (settings time: gunicorn and Celery run no
# system checks); only DEBUG falls back to a public development key.
SECRET_KEY = os.environ.get("SECRET_KEY", "").strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DEBUG off the portal needs its own secret key, e.g. "
            "SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(50))'); "
            "set DEBUG=1 for local development."
        )
    SECRET_KEY = "django-insecure-dev-only-key"  # noqa: S105 (public, DEBUG only)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "allauth",
    "allauth.account",
    "accounts",
    "catalog",
    "billing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.language.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "iafactory.urls"
WSGI_APPLICATION = "iafactory.wsgi.application"
ASGI_APPLICATION = "iafactory.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # Money, dates and quantities in the page's language: {% load formatting %}.
            "libraries": {"formatting": "iafactory.formatting_tags"},
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers wait for the lock instead of failing at once (web + worker on one file).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )
# Web requests only: one slow query cannot hold a worker for a minute. iafactory/wsgi.py sets
# IAFACTORY_WEB_PROCESS before the settings load; the close, Celery and management commands
# never import it and run without a limit. 0 turns it off.
DB_STATEMENT_TIMEOUT_MS = int(os.environ.get("DB_STATEMENT_TIMEOUT_MS", "10000"))
if (
    DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    and os.environ.get("IAFACTORY_WEB_PROCESS") == "1"
    and DB_STATEMENT_TIMEOUT_MS > 0
):
    # Set once per connection by the server at connect time: nothing per request.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
        f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Months of raw usage events kept online (0: all). Older months, once every period of them is
# closed (invoiced), are exported to CSV.gz and deleted by `usage_events_archive`; the daily
# rollups, periods and invoices stay (docs/deploy.md, "Croissance").
USAGE_EVENTS_RETENTION_MONTHS = int(os.environ.get("USAGE_EVENTS_RETENTION_MONTHS", "0"))
USAGE_ARCHIVE_DIR = Path(os.environ.get("USAGE_ARCHIVE_DIR", VAR_DIR / "archives"))

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    # Fails open (iafactory/cache.py): a dead or hung Redis never stops metering or a page.
    # Short socket timeouts so a hung Redis costs a fraction of a second per retry window.
    CACHES = {
        "default": {
            "BACKEND": "iafactory.cache.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "iaf",
            "OPTIONS": {
                "socket_connect_timeout": float(os.environ.get("REDIS_CONNECT_TIMEOUT", "0.2")),
                "socket_timeout": float(os.environ.get("REDIS_TIMEOUT", "0.2")),
                # Seconds without calling Redis after a failure (then one call tries again).
                "RETRY_SECONDS": float(os.environ.get("REDIS_RETRY_SECONDS", "5")),
            },
        }
    }
elif os.environ.get("CACHE") == "locmem":  # tests without Redis: one process, no files
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    # Shared by the web server and the worker processes of one machine.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Messages live in the session, not in a cookie: some carry a secret shown once.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/espace-client/"
LOGOUT_REDIRECT_URL = "/tarifs/"

# django-allauth: e-mail login, no username.
ACCOUNT_ADAPTER = "accounts.email_language.AccountAdapter"  # allauth e-mails in the user's language
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
# Sign-up also asks for the organisation's name and creates the customer account.
ACCOUNT_FORMS = {
    "signup": "accounts.forms.SignupForm",
    "login": "accounts.forms.LoginForm",
    "reset_password": "accounts.forms.ResetPasswordForm",
    "add_email": "accounts.forms.AddEmailForm",
}
# The browser that signed up is logged in by the verification link (same session only).
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_GET = False
# Failed log-ins turn into a form error; any log-in, sign-up or reset flood gets a 429.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "5/5m/ip,5/5m/key",
    "signup": "20/h/ip",
    "reset_password": "20/h/ip,5/h/key",
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[IAFactory] "

# French by default; Arabic (right to left) and English offered by the header's switch. No URL
# prefix: the language comes from the logged-in user's choice (User.language), else the
# django_language cookie, else Accept-Language (issue 15). Catalogs: locale/<lang>/LC_MESSAGES.
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français"), ("ar", "العربية"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The choice outlives the session (logout) for a year.
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Africa/Algiers"
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed names once `collectstatic` has run (production); plain names
        # straight from the finders otherwise (`make run`, tests).
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG and (STATIC_ROOT / "staticfiles.json").exists()
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Tests and `make run` serve static files straight from the finders (no collectstatic).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

if not DEBUG and not os.environ.get("EMAIL_HOST") and not os.environ.get("EMAIL_BACKEND"):
    # The console backend would print password-reset and verification links to the log.
    raise ImproperlyConfigured(
        "EMAIL_HOST is not set. With DEBUG off the portal sends its e-mails (password reset, "
        "invoices) by SMTP: set EMAIL_HOST (and EMAIL_HOST_USER, EMAIL_HOST_PASSWORD), or "
        "choose a backend explicitly with EMAIL_BACKEND."
    )
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if not os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "IAFactory <facturation@iafactory.dz>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Absolute links in e-mails sent outside a request (the monthly close's invoice e-mails).
# Without SITE_URL, the local server's own port (`make run PORT=8101`), so links reach it.
SITE_URL = (
    os.environ.get("SITE_URL") or f"http://127.0.0.1:{os.environ.get('PORT') or '8000'}"
).rstrip("/")
GATEWAY_PUBLIC_URL = os.environ.get("GATEWAY_PUBLIC_URL", "https://api.iafactory.dz").rstrip("/")

# HTTPS hardening: on by default whenever DEBUG is off.
HTTPS = env_bool("HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if env_bool("BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Content security policy: no inline script anywhere (htmx and our JS are static files).
# Inline styles stay allowed: progress bars, SVG charts and the Swagger UI page use them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_CLASSES": ["iafactory.ratelimit.ApiRateThrottle"],
    "NUM_PROXIES": 1 if env_bool("BEHIND_PROXY", False) else None,
}
# Per gateway token, customer key, or client IP for the public endpoints; "off" disables.
API_RATE_LIMITS = {
    "public": os.environ.get("RATE_LIMIT_PUBLIC", "120/m"),
    "customer": os.environ.get("RATE_LIMIT_CUSTOMER", "600/m"),
    "gateway": os.environ.get("RATE_LIMIT_GATEWAY", "100000/m"),
    # Refused bearer credentials per client IP (customer keys and gateway tokens).
    "auth_failures": os.environ.get("RATE_LIMIT_AUTH_FAILURES", "30/m"),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "API IAFactory",
    "DESCRIPTION": "Catalogue, estimation, compte client et passerelle de facturation IAFactory.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Several models have a `Kind`: give the catalog's its own stable component name.
    "ENUM_NAME_OVERRIDES": {"ModelKindEnum": "catalog.models.AIModel.Kind"},
    "TAGS": [
        {"name": "Catalogue", "description": "Modèles, prix et formules publics (sans clé)."},
    ],
}

# Celery: Redis when configured, otherwise an embedded filesystem broker (one machine).
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
# Tests run queued tasks inline (a real worker has its own test, on Redis).
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
if not REDIS_URL:
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

LOGGING = logging_config(
    fmt=os.environ.get("LOG_FORMAT", ""), level=os.environ.get("LOG_LEVEL", "INFO")
)

# Uploaded files (transfer proofs): outside static/, never served by the web server directly;
# billing views stream them to their account and to staff only.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media-non-publique/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024

# Chargily Pay (issue 12): unset key or secret = online payment hidden.
CHARGILY_API_KEY = os.environ.get("CHARGILY_API_KEY", "")
CHARGILY_SECRET = os.environ.get("CHARGILY_SECRET", "")
CHARGILY_MODE = os.environ.get("CHARGILY_MODE", "test")
if CHARGILY_MODE not in ("test", "live"):
    raise ImproperlyConfigured("CHARGILY_MODE must be test or live.")
# The local stand-in of Chargily's API (billing/chargily_standin.py), served by the portal
# itself under /chargily-test/ in test mode with DEBUG on: `make run` pays without Internet.
CHARGILY_STANDIN = env_bool("CHARGILY_STANDIN", DEBUG and CHARGILY_MODE == "test")
CHARGILY_API_URL = os.environ.get("CHARGILY_API_URL", "") or (
    f"{SITE_URL}/chargily-test/api/v2/"
    if CHARGILY_STANDIN
    else "https://pay.chargily.net/test/api/v2/"
    if CHARGILY_MODE == "test"
    else "https://pay.chargily.net/api/v2/"
)
