"""The customer's language (issue 15, Languages): French by default, Arabic or English when
chosen with the header's switch.

A choice lives in the `django_language` cookie (LocaleMiddleware reads it; it outlives logout)
and, for a logged-in user, in `User.language`, which e-mails, invoices and PDFs also follow. The
saved choice wins for a logged-in user (another browser, after logout/login); a choice made
before logging in is adopted by an account that has none yet. The Django admin stays French.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import translation

from .services import user_language_set

ADMIN_PREFIX = "/admin/"


def supported(code: str | None) -> str:
    """`code` when it is one of settings.LANGUAGES ("fr", "ar", "en"), else ""."""
    return code if code in dict(settings.LANGUAGES) else ""


def cookie_language(request) -> str:
    return supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))


def remember(response, language: str) -> None:
    """Sets the language cookie as Django's set_language view does."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


class UserLanguageMiddleware:
    """After AuthenticationMiddleware (LocaleMiddleware ran before it with the cookie and
    Accept-Language): a logged-in user's saved language wins, and the cookie follows it so the
    pages stay in that language after logout. Staff pages under /admin/ stay French."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(ADMIN_PREFIX):
            return self._activate(request, settings.LANGUAGE_CODE)
        user = getattr(request, "user", None)
        saved = supported(getattr(user, "language", "")) if user and user.is_authenticated else ""
        if not saved:
            return self.get_response(request)
        response = self._activate(request, saved)
        # Unless this response sets it already (the switch itself).
        if cookie_language(request) != saved and settings.LANGUAGE_COOKIE_NAME not in (
            response.cookies
        ):
            remember(response, saved)
        return response

    def _activate(self, request, language: str):
        translation.activate(language)
        request.LANGUAGE_CODE = language
        return self.get_response(request)


@receiver(user_logged_in, dispatch_uid="accounts.language.adopt_cookie_language")
def adopt_cookie_language(sender, request, user, **kwargs) -> None:
    """A user who has not chosen a language yet keeps the one chosen before logging in."""
    chosen = cookie_language(request) if request is not None else ""
    if chosen and not getattr(user, "language", ""):
        user_language_set(user=user, language=chosen)
