"""Helpers shared by the espace client's htmx pages (espace.py, keys.py)."""

from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect


def template_for(request, page: str, partial: str) -> str:
    return partial if request.htmx else page


def redirect_htmx(request, name: str):
    """A redirect that htmx follows with a full page load instead of swapping it into a target."""
    if request.htmx:
        return HttpResponseClientRedirect(reverse(name))
    return redirect(name)
