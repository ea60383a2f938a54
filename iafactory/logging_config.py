"""The portal's logging (settings.LOGGING): plain lines, or one JSON object per line with the
`extra` fields of each call when LOG_FORMAT=json; LOG_LEVEL sets the root level."""


def logging_config(*, fmt: str, level: str) -> dict:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            # One JSON object per line, with the `extra` fields of each call (LOG_FORMAT=json).
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if fmt == "json" else "plain",
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            "fontTools": {"level": "WARNING"},  # invoice PDFs: font subsetting chatter
        },
    }
