"""Settings of the benchmark server: the portal's, plus a bare DRF endpoint to compare with."""

from iafactory.settings import *  # noqa: F403

ROOT_URLCONF = "bare_urls"
