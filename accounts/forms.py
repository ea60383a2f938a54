from decimal import Decimal

from allauth.account.forms import AddEmailForm as AllauthAddEmailForm
from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import ResetPasswordForm as AllauthResetPasswordForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from allauth.account.models import EmailAddress
from allauth.core import context as allauth_context
from django import forms
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from . import invitations as invites
from .current import SESSION_KEY as SESSION_ACCOUNT
from .language import supported
from .services import account_create, user_language_set

NO_PLAN = "aucune"
EMAIL_LABEL = _("Adresse e-mail")


class AddEmailForm(AllauthAddEmailForm):
    # Django's own French catalog says « Courriel »: one term everywhere.
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = EMAIL_LABEL
        self.fields["email"].widget.attrs["placeholder"] = EMAIL_LABEL


class LoginForm(AllauthLoginForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["login"].label = EMAIL_LABEL


class ResetPasswordForm(AllauthResetPasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = EMAIL_LABEL


class SignupForm(AllauthSignupForm):
    """allauth's sign-up plus the organisation's name: every new user gets an account."""

    organisation = forms.CharField(
        label=_("Nom de votre organisation"),
        max_length=200,
        help_text=_("Entreprise, administration ou association : il figurera sur vos factures."),
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    field_order = ["organisation", "email", "password1", "password2"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = EMAIL_LABEL
        # Signing up through an invitation link (issue 16): the invited address joins that
        # account instead of creating an organisation of its own.
        request = allauth_context.request  # set by allauth's AccountMiddleware
        self.invitation_token = None
        self.invitation = None
        if request is not None:
            token = request.session.get(invites.SESSION_KEY)
            invitation, refusal = invites.invitation_lookup(token) if token else (None, "none")
            if refusal is None:
                self.invitation_token, self.invitation = token, invitation
                del self.fields["organisation"]
                self.fields["email"].initial = invitation.email

    def clean_organisation(self):
        name = self.cleaned_data["organisation"].strip()
        if not name:
            raise forms.ValidationError(_("Indiquez le nom de votre organisation."))
        return name

    def clean_email(self):
        email = super().clean_email()
        if self.invitation is not None and email.lower() != self.invitation.email.lower():
            raise forms.ValidationError(
                _("L'invitation est adressée à %(email)s : inscrivez-vous avec cette adresse.")
                % {"email": self.invitation.email}
            )
        return email

    def save(self, request):
        with transaction.atomic():
            user = super().save(request)
            # The language the sign-up page was read in: the verification e-mail follows it.
            user_language_set(user=user, language=supported(translation.get_language()))
            if self.invitation is None:
                account_create(owner=user, name=self.cleaned_data["organisation"])
            else:
                # Receiving the link proved the address: no second verification e-mail.
                EmailAddress.objects.filter(user=user, email__iexact=user.email).update(
                    verified=True
                )
                membership = invites.invitation_accept(raw=self.invitation_token, user=user)
                request.session.pop(invites.SESSION_KEY, None)
                request.session[SESSION_ACCOUNT] = membership.account_id
        return user


class PlanChoiceForm(forms.Form):
    """A formula picked on /espace-client/formule/: a plan slug, or "aucune"."""

    formule = forms.CharField(max_length=50)

    def __init__(self, *args, plans, **kwargs):
        super().__init__(*args, **kwargs)
        self.plans = {plan.slug: plan for plan in plans}

    def clean_formule(self):
        slug = self.cleaned_data["formule"]
        if slug == NO_PLAN:
            return None
        if slug not in self.plans:
            raise forms.ValidationError(_("Cette formule n'existe pas ou n'est plus proposée."))
        return self.plans[slug]


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Nom de la clé"),
        max_length=80,
        help_text=_("Pour vous y retrouver : « Production », « Serveur de test »…"),
    )

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Donnez un nom à la clé."))
        return name


class PaygForm(forms.Form):
    """The pay-as-you-go switch and its monthly ceiling: turning it on (or changing the ceiling
    while on) asks for an amount, or « sans plafond » ticked as an explicit choice."""

    enabled = forms.TypedChoiceField(
        choices=[("1", _("activé")), ("0", _("désactivé"))], coerce=lambda value: value == "1"
    )
    cap = forms.DecimalField(
        label=_("Plafond mensuel de dépassement (DZD HT)"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        localize=True,
        help_text=_(
            "Au-delà, l'API s'arrête jusqu'au mois suivant ou jusqu'à ce que vous le releviez."
        ),
    )
    no_cap = forms.BooleanField(label=_("Sans plafond"), required=False)

    def clean(self):
        data = super().clean()
        if data.get("enabled") and not self.errors:
            if data.get("no_cap"):
                data["cap"] = None
            elif data.get("cap") is None:
                raise forms.ValidationError(
                    _("Indiquez un plafond mensuel, ou cochez « Sans plafond ».")
                )
        return data


class ApiKeyUpdateForm(forms.Form):
    name = forms.CharField(label=_("Nom"), max_length=80)
    budget = forms.DecimalField(
        label=_("Budget mensuel (DZD HT)"),
        required=False,
        min_value=Decimal("0.01"),
        max_digits=14,
        decimal_places=2,
        localize=True,
        help_text=_("Vide : pas de budget."),
    )
    expires_on = forms.DateField(
        label=_("Expire le"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Vide : n'expire pas. La clé cesse de fonctionner ce jour-là à 0 h (Alger)."),
    )

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Donnez un nom à la clé."))
        return name


class BillingDetailsForm(forms.Form):
    name = forms.CharField(label=_("Raison sociale"), max_length=200)
    billing_address = forms.CharField(
        label=_("Adresse de facturation"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}),
    )
    nif = forms.RegexField(
        label="NIF",
        required=False,
        regex=r"^\d{15,20}$",
        error_messages={"invalid": _("Le NIF se compose de 15 à 20 chiffres.")},
        help_text=_("Numéro d'identification fiscale (facultatif)."),
    )
    nis = forms.RegexField(
        label="NIS",
        required=False,
        regex=r"^\d{15,20}$",
        error_messages={"invalid": _("Le NIS se compose de 15 à 20 chiffres.")},
        help_text=_("Numéro d'identification statistique (facultatif)."),
    )
    rc = forms.CharField(
        label="RC",
        required=False,
        max_length=30,
        help_text=_("Numéro du registre du commerce (facultatif)."),
    )
    article = forms.CharField(
        label=_("Article d'imposition"),
        required=False,
        max_length=30,
        help_text=_("Numéro d'article d'imposition (facultatif)."),
    )
