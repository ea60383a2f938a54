from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("L'adresse e-mail est obligatoire.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person who logs in, by e-mail (no username)."""

    username = None
    email = models.EmailField("adresse e-mail", unique=True)
    # The language of the customer's pages, e-mails and invoices (settings.LANGUAGES); "": not
    # chosen, settings.LANGUAGE_CODE applies. Readers: `user.language or settings.LANGUAGE_CODE`.
    language = models.CharField("langue", max_length=8, blank=True, default="", db_default="")

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = "utilisateur"
        verbose_name_plural = "utilisateurs"

    def __str__(self) -> str:
        return self.email


class Account(models.Model):
    """The billing entity: a customer organisation. Its people are its `memberships` (issue 16);
    `owner` is the titulaire, the owner printed on invoices and written to: always a member with
    the owner role (ownership transfers move it)."""

    name = models.CharField("raison sociale", max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_accounts",
        verbose_name="titulaire",
    )
    billing_address = models.TextField("adresse de facturation", blank=True)
    nif = models.CharField("NIF", max_length=20, blank=True)
    nis = models.CharField("NIS", max_length=20, blank=True)
    rc = models.CharField("RC", max_length=30, blank=True)
    article = models.CharField("article d'imposition", max_length=30, blank=True)
    tva_exempt = models.BooleanField("exonéré de TVA", default=False)
    # Also receives the spending alerts (with the owner); blank: the owner alone.
    billing_email = models.EmailField("e-mail de facturation", blank=True, db_default="")
    created_at = models.DateTimeField("créé le", auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "compte client"
        verbose_name_plural = "comptes clients"

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """A customer API key: the secret is shown once; only its SHA-256 is stored."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="api_keys", verbose_name="compte client"
    )
    name = models.CharField("nom", max_length=80)
    prefix = models.CharField("préfixe", max_length=16, unique=True)
    key_hash = models.CharField("empreinte", max_length=64, unique=True)
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    last_used_at = models.DateTimeField("dernière utilisation", null=True, blank=True)
    revoked_at = models.DateTimeField("révoquée le", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="créée par",
    )
    expires_at = models.DateTimeField("expire le", null=True, blank=True)
    # What the key's events may charge per month (credits, prepaid and overage), DZD HT;
    # null: no budget. DESIGN.md §3 "Credits, prepaid balance and pay-as-you-go".
    monthly_budget = models.DecimalField(
        "budget mensuel (DZD HT)",
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "clé API"
        verbose_name_plural = "clés API"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class GatewayToken(models.Model):
    """A token of the IAFactory API gateway (a machine), created by staff; stored hashed."""

    name = models.CharField("nom", max_length=80)
    prefix = models.CharField("préfixe", max_length=16, unique=True)
    token_hash = models.CharField("empreinte", max_length=64, unique=True)
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    last_used_at = models.DateTimeField("dernière utilisation", null=True, blank=True)
    revoked_at = models.DateTimeField("révoqué le", null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "jeton passerelle"
        verbose_name_plural = "jetons passerelle"
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="gateway_token_named"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditEvent(models.Model):
    """Who changed a price, a formula, a pay-as-you-go switch or an invoice status, and when."""

    class Action(models.TextChoices):
        PRICE_SCHEDULED = "price.scheduled", "Prix annoncé"
        PRICE_CHANGED = "price.changed", "Prix annoncé modifié"
        PRICE_CANCELLED = "price.cancelled", "Prix annoncé retiré"
        PLAN_EDITED = "plan.edited", "Formule modifiée (catalogue)"
        SUBSCRIPTION_UPGRADED = "subscription.upgraded", "Formule : montée en gamme"
        SUBSCRIPTION_DOWNGRADE_SCHEDULED = (
            "subscription.downgrade_scheduled",
            "Formule : descente programmée",
        )
        SUBSCRIPTION_CHANGE_CANCELLED = (
            "subscription.change_cancelled",
            "Formule : changement annulé",
        )
        SUBSCRIPTION_RESET = "subscription.reset", "Formule : état réinitialisé"
        PAYG_ON = "payg.on", "Pay as you go activé"
        PAYG_OFF = "payg.off", "Pay as you go désactivé"
        PAYG_CAP_CHANGED = "payg.cap", "Plafond pay as you go modifié"
        API_KEY_UPDATED = "api_key.updated", "Clé API modifiée"
        PREPAID_CREDITED = "prepaid.credited", "Solde prépayé crédité"
        INVOICE_PAID = "invoice.paid", "Facture marquée payée"
        INVOICE_VOIDED = "invoice.voided", "Facture annulée"
        SETTINGS_EDITED = "settings.edited", "Paramètres de facturation modifiés"
        # Money in (issue 12).
        PAYMENT_RECORDED = "payment.recorded", "Paiement enregistré"
        PROOF_APPROVED = "proof.approved", "Preuve de virement acceptée"
        PROOF_REJECTED = "proof.rejected", "Preuve de virement refusée"
        CREDIT_NOTE_ISSUED = "credit_note.issued", "Avoir émis"
        RECHARGE_PAID = "recharge.paid", "Recharge payée et créditée"
        REMINDER_SENT = "invoice.reminder", "Relance de facture envoyée"
        ACCOUNT_SUSPENDED = "account.suspended", "Compte suspendu (facture impayée)"
        ACCOUNT_REINSTATED = "account.reinstated", "Suspension levée"
        SUSPENSION_EXEMPTION = "account.exemption", "Exemption de suspension modifiée"
        # Teams (issue 16).
        API_KEY_CREATED = "api_key.created", "Clé API créée"
        API_KEY_REVOKED = "api_key.revoked", "Clé API révoquée"
        MEMBER_INVITED = "member.invited", "Membre invité"
        INVITATION_REVOKED = "member.invitation_revoked", "Invitation retirée"
        MEMBER_JOINED = "member.joined", "Membre ajouté"
        MEMBER_ROLE_CHANGED = "member.role", "Rôle d'un membre modifié"
        MEMBER_REMOVED = "member.removed", "Membre retiré"
        OWNERSHIP_TRANSFERRED = "member.ownership", "Titulaire du compte changé"

    at = models.DateTimeField("le", db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="par",
    )
    actor_label = models.CharField("auteur", max_length=254)
    action = models.CharField(max_length=40, choices=Action.choices)
    account = models.ForeignKey(
        Account,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
        verbose_name="compte client",
    )
    target = models.CharField("objet", max_length=200)
    details = models.JSONField("détails", default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "événement d'audit"
        verbose_name_plural = "journal d'audit"
        indexes = [models.Index(fields=["action", "at"])]

    def __str__(self) -> str:
        return (
            f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.get_action_display()} {self.target}"
        )


class Role(models.TextChoices):
    """A member's role in an account (issue 16); what each may do: accounts/permissions.py."""

    OWNER = "owner", _("propriétaire")
    ADMIN = "admin", _("administrateur")
    DEVELOPER = "developer", _("développeur")
    BILLING = "billing", _("facturation")


class Membership(models.Model):
    """One person in one account, with one role; a user may belong to several accounts."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="memberships", verbose_name="compte client"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name="utilisateur",
    )
    role = models.CharField("rôle", max_length=16, choices=Role.choices)
    created_at = models.DateTimeField("membre depuis", auto_now_add=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="invité par",
    )

    class Meta:
        ordering = ["account", "created_at", "pk"]
        verbose_name = "membre"
        verbose_name_plural = "membres"
        constraints = [
            models.UniqueConstraint(fields=["account", "user"], name="membership_unique"),
            models.CheckConstraint(
                condition=Q(role__in=["owner", "admin", "developer", "billing"]),
                name="membership_role_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.account} ({self.get_role_display()})"


class Invitation(models.Model):
    """An e-mailed invitation to join an account: only the SHA-256 of its token is stored;
    valid 7 days, one use, revocable (issue 16)."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="invitations", verbose_name="compte client"
    )
    email = models.EmailField("adresse e-mail")
    role = models.CharField("rôle", max_length=16, choices=Role.choices)
    token_hash = models.CharField("empreinte", max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="invité par",
    )
    created_at = models.DateTimeField("envoyée le", auto_now_add=True)
    expires_at = models.DateTimeField("expire le")
    accepted_at = models.DateTimeField("acceptée le", null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="acceptée par",
    )
    revoked_at = models.DateTimeField("révoquée le", null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "invitation"
        verbose_name_plural = "invitations"

    def __str__(self) -> str:
        return f"{self.email} → {self.account} ({self.get_role_display()})"

    @property
    def is_pending(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )
