"""The formula a visitor picked on /tarifs/ before signing up (issue 15).

/tarifs/ links to sign-up with ``next=/espace-client/formule/?formule=<slug>``: the sign-up page
names that formula, and the customer confirms it on the formula page after verification.
"""

from urllib.parse import parse_qs, urlsplit

from django import template

from catalog.models import Plan

register = template.Library()

FORMULE_PATH = "/espace-client/formule/"


@register.simple_tag(takes_context=True)
def chosen_plan(context) -> Plan | None:
    """The active Plan named by the request's ``next`` (GET or POST), or None."""
    request = context.get("request")
    if request is None:
        return None
    target = request.POST.get("next") or request.GET.get("next") or ""
    parts = urlsplit(target)
    if parts.path != FORMULE_PATH:
        return None
    slug = (parse_qs(parts.query).get("formule") or [""])[0]
    return Plan.objects.filter(slug=slug, is_active=True).first() if slug else None
