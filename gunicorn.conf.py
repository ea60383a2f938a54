"""gunicorn's settings for every web process (the Procfile's, the benchmarks'): gunicorn reads
this file from its working directory by itself; the command line still wins."""

import gc


def post_worker_init(worker):
    """Once the worker has loaded the application (and its URLs, hence every view), move its
    long-lived objects out of the garbage collector's rounds (gc.freeze): a full collection
    triggered during a large usage batch then walks the request's objects, not the whole
    Django heap (it took ~15 % of a 1 000-event batch's time; issue 10)."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports every view now, not at the first request)
    gc.collect()
    gc.freeze()
