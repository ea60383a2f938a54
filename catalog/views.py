"""Public pages: the Tarifs page with its cost calculator, and the API documentation page."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from .pricing import Estimate, Price, PricingError, counts_errors, estimate_cost
from .selectors import TarifsCatalog, tarifs_catalog

CALCULATOR_FIELDS = ("model", "input_tokens", "output_tokens", "images")
COUNT_FIELDS = ("input_tokens", "output_tokens", "images")
# PricingError messages name the API parameter; the form shows its human label instead.
FIELD_SUBJECTS = {
    "input_tokens": gettext_lazy("Le nombre de tokens en entrée"),
    "output_tokens": gettext_lazy("Le nombre de tokens en sortie"),
    "images": gettext_lazy("Le nombre d'images"),
}
# Thousands typed the French way ("1 500") are still numbers.
SPACES = {ord(" "): None, ord("\u00a0"): None, ord("\u202f"): None}


@dataclass(frozen=True)
class Announced:
    price: Price
    cost: Decimal


@dataclass(frozen=True)
class Calculation:
    submitted: bool = False
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    estimate: Estimate | None = None
    input_cost: Decimal | None = None
    output_cost: Decimal | None = None
    announced: tuple[Announced, ...] = ()


def _error_message(error: PricingError) -> str:
    subject = FIELD_SUBJECTS.get(error.field)
    return error.about(str(subject)) if subject else error.message


def _calculate(query: QueryDict, *, now: datetime, catalog: TarifsCatalog) -> Calculation:
    values = {name: query.get(name, "").strip() for name in CALCULATOR_FIELDS}
    if not any(name in query for name in CALCULATOR_FIELDS):
        return Calculation(values=values)
    counts = {name: values[name].translate(SPACES) for name in COUNT_FIELDS}
    # Every bad field at once, not only the first one.
    errors = {error.field: _error_message(error) for error in counts_errors(**counts)}
    try:
        estimate = estimate_cost(
            model_slug=values["model"],
            at=now,
            **{name: "" if name in errors else value for name, value in counts.items()},
        )
    except PricingError as error:
        errors.setdefault(error.field, _error_message(error))
    if errors:
        return Calculation(submitted=True, values=values, errors=errors)
    usage = {
        "input_tokens": estimate.input_tokens,
        "output_tokens": estimate.output_tokens,
        "images": estimate.images,
    }
    model = catalog.model(estimate.model.slug)
    upcoming = model.upcoming if model is not None else ()
    return Calculation(
        submitted=True,
        values=values,
        estimate=estimate,
        input_cost=estimate.price.cost(input_tokens=estimate.input_tokens)
        if estimate.price.is_text
        else None,
        output_cost=estimate.price.cost(output_tokens=estimate.output_tokens)
        if estimate.price.is_text
        else None,
        announced=tuple(Announced(price, price.cost(**usage)) for price in upcoming),
    )


def _render_calculation(request: HttpRequest, calculation: Calculation) -> HttpResponse:
    # Errors are swapped next to their fields out of band; the result replaces its own box.
    return render(request, "catalog/partials/_calcul.html", {"calc": calculation})


@require_GET
@vary_on_headers("HX-Request")
def tarifs(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    catalog = tarifs_catalog(now)
    calculation = _calculate(request.GET, now=now, catalog=catalog)
    if request.htmx:
        return _render_calculation(request, calculation)
    return render(request, "catalog/tarifs.html", {"catalog": catalog, "calc": calculation})


@require_GET
@vary_on_headers("HX-Request")
def calcul(request: HttpRequest) -> HttpResponse:
    """The calculator's htmx endpoint; a plain visit lands on the page's calculator instead."""
    if not request.htmx:
        query = request.GET.urlencode()
        return redirect(f"{reverse('catalog:tarifs')}{'?' + query if query else ''}#calculateur")
    now = timezone.now()
    catalog = tarifs_catalog(now)
    return _render_calculation(request, _calculate(request.GET, now=now, catalog=catalog))


@require_GET
def api_docs(request: HttpRequest) -> HttpResponse:
    catalog = tarifs_catalog(timezone.now())
    text_example = catalog.text_example
    image_example = catalog.image_example
    return render(
        request,
        "catalog/api_docs.html",
        {
            "catalog": catalog,
            "base_url": request.build_absolute_uri("/").rstrip("/"),
            "gateway_url": settings.GATEWAY_PUBLIC_URL,
            "text_slug": text_example.model.slug if text_example else "gpt-4.1",
            "image_slug": image_example.model.slug if image_example else "flux-schnell",
        },
    )
