from django.shortcuts import render

# django-allauth's log-in, sign-up and password-reset limits use windows of this order.
RETRY_AFTER_SECONDS = 300


def too_many_requests(request, exception=None, retry_after: int = RETRY_AFTER_SECONDS):
    response = render(request, "429.html", status=429)
    response["Retry-After"] = str(retry_after)
    return response
