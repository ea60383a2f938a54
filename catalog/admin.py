"""Staff admin of the catalog: formulas, models with their price history, FAQ.

Price rows are written only through catalog.services (price_schedule / price_reschedule /
price_cancel): the inline formset validates the whole submission against the history first,
then saves through the services. Frozen rows (in effect, or about to be: see
catalog.services.price_is_frozen) are shown disabled; a submission that still tries to change
or withdraw one (a forged post, or a row that froze while the form was open) is refused with a
message, never reported as saved.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.audit import audit_record, form_changes
from accounts.models import AuditEvent

from .models import AIModel, FaqEntry, ModelPrice, Plan
from .pricing import Price, PriceBook
from .services import (
    COMPONENTS,
    IN_EFFECT_MESSAGE,
    PriceRow,
    amount_text,
    instant_text,
    notice_days,
    price_cancel,
    price_check_components,
    price_history,
    price_is_frozen,
    price_reschedule,
    price_schedule,
    price_validate,
)

FAQ_PLACEHOLDERS = ("taux_tva", "preavis_jours", "lien_documentation")
FAQ_UNFINISHED = "(à préciser)"  # the drafts' marker of an answer still to write


def _price_text(price: Price | ModelPrice) -> str:
    if price.per_image is not None:
        return f"{amount_text(price.per_image)} DZD / image"
    return (
        f"{amount_text(price.input_per_million)} / {amount_text(price.output_per_million)} DZD "
        "(input / output, 1M tokens)"
    )


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "included_credits", "monthly_fee", "order", "is_active")
    list_display_links = ("name",)
    list_editable = ("order", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    ordering = ("order", "included_credits")

    # The slug is the formula's public identifier (API, commands): fixed once created.
    def get_readonly_fields(self, request, obj=None):
        return ("slug",) if obj is not None else ()

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj is not None else self.prepopulated_fields

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and form.changed_data:
            audit_record(
                action=AuditEvent.Action.PLAN_EDITED,
                actor=request.user,
                target=obj.slug,
                details=form_changes(form),
            )


class ModelPriceForm(forms.ModelForm):
    class Meta:
        model = ModelPrice
        fields = ("effective_at", "input_per_million", "output_per_million", "per_image")
        help_texts = {
            "effective_at": (
                "Heure d'Alger. Une baisse peut prendre effet maintenant (enregistrée dans 10 "
                "minutes : des consommations déjà datées de ces minutes sont facturées) ; une "
                "hausse doit être annoncée au moins le préavis des paramètres de facturation à "
                "l'avance."
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Usage may already have been charged at a frozen row: it is shown, never editable.
        self.in_effect = self.instance.pk is not None and price_is_frozen(
            self.instance.effective_at
        )
        for field in self.fields.values():
            field.disabled = self.in_effect or field.disabled

    def tampered(self) -> bool:
        """Whether the submission changes or withdraws this frozen row anyway (Django ignores
        the posted values of disabled fields: saying nothing would report a success)."""
        if not self.in_effect or not self.is_bound:
            return False
        if self.data.get(self.add_prefix(forms.formsets.DELETION_FIELD_NAME)):
            return True
        for name in self.Meta.fields:
            field = self.fields.get(name)
            if field is None:
                continue
            raw = field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
            if raw is None or (isinstance(raw, list) and all(part is None for part in raw)):
                continue  # not sent, as a browser does for a disabled input
            try:
                value = field.clean(raw)
            except ValidationError:
                return True
            if value != getattr(self.instance, name):
                return True
        return False

    def clean(self):
        cleaned_data = super().clean()
        if self.tampered():
            raise ValidationError(IN_EFFECT_MESSAGE)
        # Clear messages before the model's check constraint reports the same in its own words.
        parent = getattr(self, "parent", None)
        if parent is not None and parent.kind in AIModel.Kind.values and not self.in_effect:
            try:
                price_check_components(
                    model=parent, **{field: cleaned_data.get(field) for field in COMPONENTS}
                )
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned_data


class ModelPriceFormSet(forms.BaseInlineFormSet):
    """Checks the submitted changes in order against the history, then saves via services."""

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        form.parent = self.instance
        return form

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if getattr(form, "in_effect", False) and forms.formsets.DELETION_FIELD_NAME in form.fields:
            form.fields[forms.formsets.DELETION_FIELD_NAME].disabled = True

    def _changes(self):
        deleted = [
            form
            for form in self.deleted_forms
            if form.instance.pk is not None and not form.in_effect
        ]
        changed = [
            form
            for form in self.forms
            if form not in deleted
            and not form.in_effect
            and form.has_changed()
            and not self._should_delete_form(form)
        ]
        changed.sort(key=lambda form: form.cleaned_data["effective_at"])
        return deleted, changed

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        self.now = timezone.now()
        self.actor = None  # the staff user, set by AIModelAdmin.save_formset
        history = price_history(self.instance)
        originals = {row.pk: row for row in history}
        deleted, changed = self._changes()
        for form in deleted:
            history = [row for row in history if row.pk != form.instance.pk]
        notice = notice_days()
        for form in changed:
            data = form.cleaned_data
            replacing = originals.get(form.instance.pk)
            try:
                effective_at = price_validate(
                    model=self.instance,
                    effective_at=data["effective_at"],
                    input_per_million=data.get("input_per_million"),
                    output_per_million=data.get("output_per_million"),
                    per_image=data.get("per_image"),
                    now=self.now,
                    replacing=replacing,
                    history=history,
                    notice=notice,
                )
            except ValidationError as error:
                form.add_error(None, error)
                continue
            if replacing is not None:
                history = [row for row in history if row.pk != replacing.pk]
            history.append(
                PriceRow(
                    pk=form.instance.pk,
                    effective_at=effective_at,
                    **{field: data.get(field) for field in COMPONENTS},
                )
            )

    def save(self, commit=True):
        # Every write goes through catalog.services, in the order clean() checked them.
        deleted, changed = self._changes()
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        for form in deleted:
            price_cancel(price=form.instance, by=self.actor)
            self.deleted_objects.append(form.instance)
        for form in changed:
            data = form.cleaned_data
            values = {field: data.get(field) for field in COMPONENTS}
            if form.instance.pk is None:
                price = price_schedule(
                    model=self.instance,
                    effective_at=data["effective_at"],
                    now=self.now,
                    by=self.actor,
                    **values,
                )
                self.new_objects.append(price)
            else:
                price = price_reschedule(
                    price=form.instance,
                    effective_at=data["effective_at"],
                    now=self.now,
                    by=self.actor,
                    **values,
                )
                self.changed_objects.append((price, form.changed_data))
        return self.new_objects + [price for price, _ in self.changed_objects]


class ModelPriceInline(admin.TabularInline):
    model = ModelPrice
    form = ModelPriceForm
    formset = ModelPriceFormSet
    extra = 1
    readonly_fields = ("status",)
    verbose_name = "prix"
    verbose_name_plural = (
        "historique des prix : les prix en vigueur ne se modifient plus, ajoutez une ligne datée"
    )

    def get_fields(self, request, obj=None):
        # Only the columns of the model's kind, once it is fixed (see get_readonly_fields).
        if obj is not None and obj.prices.exists():
            if obj.kind == AIModel.Kind.TEXT:
                return ("effective_at", "input_per_million", "output_per_million", "status")
            return ("effective_at", "per_image", "status")
        return (*ModelPriceForm.Meta.fields, "status")

    @admin.display(description="état")
    def status(self, obj: ModelPrice) -> str:
        if obj.pk is None:
            return "nouveau"
        now = timezone.now()
        if obj.effective_at > now:
            return "annoncé"
        # One history read per model and request, not one query per row.
        books = self.__dict__.setdefault("_books", {})
        if obj.model_id not in books:
            books[obj.model_id] = PriceBook.for_models([obj.model_id])
        current = books[obj.model_id].price_at(obj.model_id, now)
        in_effect = current is not None and current.effective_at == obj.effective_at
        return "en vigueur" if in_effect else "remplacé"


class AIModelForm(forms.ModelForm):
    class Meta:
        model = AIModel
        fields = ("slug", "name", "kind", "description", "order", "is_active")
        help_texts = {
            "slug": "Identifiant utilisé dans l'API (« model »). Non modifiable une fois tarifé.",
            "is_active": (
                "Décochez pour retirer le modèle du catalogue et de l'API sans le supprimer."
            ),
        }


@admin.register(AIModel)
class AIModelAdmin(admin.ModelAdmin):
    form = AIModelForm
    inlines = (ModelPriceInline,)
    list_display = ("slug", "name", "kind", "current_price", "next_change", "order", "is_active")
    list_display_links = ("slug", "name")
    list_filter = ("kind", "is_active")
    search_fields = ("slug", "name")
    ordering = ("-kind", "order", "slug")  # text models first, as on the Tarifs page

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("prices")

    def get_readonly_fields(self, request, obj=None):
        # A priced model's identity is public (API clients, usage rows, price rows' kind).
        if obj is not None and obj.prices.exists():
            return ("slug", "kind")
        return ()

    def _book(self, obj: AIModel) -> PriceBook:
        return PriceBook(obj.prices.all())

    @admin.display(description="prix actuel")
    def current_price(self, obj: AIModel) -> str:
        price = self._book(obj).price_at(obj.pk, timezone.now())
        return _price_text(price) if price else "aucun"

    @admin.display(description="prochain changement")
    def next_change(self, obj: AIModel) -> str:
        upcoming = self._book(obj).upcoming(obj.pk, timezone.now())
        if not upcoming:
            return "—"
        price = upcoming[0]
        return f"{_price_text(price)} à partir du {instant_text(price.effective_at)}"

    def save_formset(self, request, form, formset, change):
        formset.actor = request.user  # recorded in the audit trail with each price row
        super().save_formset(request, form, formset, change)

    def has_delete_permission(self, request, obj=None):
        # Its price history is kept forever: untick « disponible » to withdraw it instead.
        if obj is not None and obj.prices.exists():
            return False
        return super().has_delete_permission(request, obj)


class FaqEntryForm(forms.ModelForm):
    class Meta:
        model = FaqEntry
        fields = ("question", "answer", "order", "is_published")
        help_texts = {
            "answer": (
                "Texte simple : chaque ligne est un paragraphe, une ligne commençant par "
                "« - » est une puce. Espaces réservés remplis par la page Tarifs : {taux_tva} "
                "(taux de TVA des paramètres de facturation), {preavis_jours} (préavis d'une "
                "hausse de prix, en jours), {lien_documentation} (lien vers la page "
                "« Documentation API → Models & Pricing »)."
            ),
        }

    def clean_answer(self):
        answer = self.cleaned_data["answer"]
        unknown = sorted(
            set(re.findall(r"\{([^{}]*)\}", answer)) - set(FAQ_PLACEHOLDERS),
        )
        if unknown:
            known = ", ".join(f"{{{name}}}" for name in FAQ_PLACEHOLDERS)
            found = ", ".join(f"{{{name}}}" for name in unknown)
            raise ValidationError(
                f"Espace réservé inconnu : {found}. Ceux que la page remplit : {known}."
            )
        if FAQ_UNFINISHED in answer.casefold():
            raise ValidationError(
                "La réponse contient encore « (à préciser) » : complétez-la avant d'enregistrer."
            )
        return answer


@admin.register(FaqEntry)
class FaqEntryAdmin(admin.ModelAdmin):
    form = FaqEntryForm
    list_display = ("question", "order", "is_published")
    list_editable = ("order", "is_published")
    list_filter = ("is_published",)
    search_fields = ("question", "answer")
    actions = ("publish", "unpublish")

    @admin.action(description="Publier les questions sélectionnées")
    def publish(self, request, queryset):
        # save() per row, not update(): the cached Tarifs page listens to post_save.
        for entry in queryset:
            entry.is_published = True
            entry.save(update_fields=["is_published"])

    @admin.action(description="Dépublier les questions sélectionnées")
    def unpublish(self, request, queryset):
        for entry in queryset:
            entry.is_published = False
            entry.save(update_fields=["is_published"])
