"""Forms of the billing pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from accounts.models import Account
from catalog.models import AIModel

from .periods import Month
from .selectors import FIRST_DAY, LAST_DAY, MAX_USAGE_DAYS, UsageFilters


class UsageFilterForm(forms.Form):
    """The consommation page's filters (a GET form, the CSV export takes the same): a month, or
    a range of days, a model, a key. Invalid filters are reported and the month is shown."""

    mois = forms.CharField(required=False, label=gettext_lazy("Mois"))
    du = forms.DateField(
        required=False,
        label=pgettext_lazy("date de début", "Du"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    au = forms.DateField(
        required=False,
        label=pgettext_lazy("date de fin", "Au"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    modele = forms.ChoiceField(required=False, label=gettext_lazy("Modèle"))
    cle = forms.ChoiceField(required=False, label=gettext_lazy("Clé API"))

    def __init__(self, data=None, *, account: Account):
        super().__init__(data)
        self.account = account
        self.models = {model.slug: model for model in AIModel.objects.order_by("name")}
        self.keys = {key.prefix: key for key in account.api_keys.order_by("created_at", "pk")}
        self.fields["modele"].choices = [("", _("Tous les modèles"))] + [
            (slug, model.name) for slug, model in self.models.items()
        ]
        self.fields["cle"].choices = [("", _("Toutes les clés"))] + [
            (prefix, f"{key.name} ({prefix}…)") for prefix, key in self.keys.items()
        ]

    @property
    def month(self) -> Month:
        value = (self.data.get("mois") or "") if self.data else ""
        try:
            month = Month.parse(value) if value else Month.current()
        except ValueError:
            return Month.current()
        if not FIRST_DAY <= month.first_day <= LAST_DAY:
            return Month.current()
        return month

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("du"), cleaned.get("au")
        for name, day in (("du", start), ("au", end)):
            if day is not None and not FIRST_DAY <= day <= LAST_DAY:
                limits = f"{FIRST_DAY:%d/%m/%Y} – {LAST_DAY:%d/%m/%Y}"
                self.add_error(name, _("Date hors limites (%(limits)s).") % {"limits": limits})
        if self.errors:
            return cleaned
        if start and end:
            if end < start:
                self.add_error("au", _("La date de fin doit suivre la date de début."))
            elif (end - start).days >= MAX_USAGE_DAYS:
                self.add_error(
                    "au",
                    _("Période trop longue : au plus %(days)s jours.") % {"days": MAX_USAGE_DAYS},
                )
        return cleaned

    def filters(self) -> UsageFilters:
        """The filters to apply: the valid ones, the month's days when no valid range."""
        month = self.month
        start, end = month.first_day, month.last_day
        model = key = None
        if self.is_valid():
            data = self.cleaned_data
            if data["du"] or data["au"]:
                start = data["du"] or (data["au"].replace(day=1))
                end = data["au"] or Month.of(start).last_day
            model = self.models.get(data["modele"] or "")
            key = self.keys.get(data["cle"] or "")
        return UsageFilters(start=start, end=end, model=model, api_key=key)

    @property
    def is_range(self) -> bool:
        return self.is_valid() and bool(self.cleaned_data["du"] or self.cleaned_data["au"])
