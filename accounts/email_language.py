"""The language a user's e-mails and documents are written in (issue 15, Languages).

A user's saved choice (`User.language`, "" while not chosen) or the site's default, French.
E-mails are rendered under `translation.override(user_language(recipient))`; an e-mail to a
plain address (an account's billing address) follows the account owner's language.
"""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.utils import translation

from .models import User


def user_language(user) -> str:
    """'fr', 'ar', 'en'…: the user's saved language, else settings.LANGUAGE_CODE."""
    return getattr(user, "language", "") or settings.LANGUAGE_CODE


class AccountAdapter(DefaultAccountAdapter):
    """allauth's e-mails (confirmation, password reset…) in the recipient's saved language,
    else in the language of the request that sends them (a visitor's choice)."""

    def send_mail(self, template_prefix, email, context):
        user = context.get("user")
        if user is None:
            user = User.objects.filter(email__iexact=email).first()
        language = getattr(user, "language", "") or translation.get_language()
        with translation.override(language):
            return super().send_mail(template_prefix, email, context)
