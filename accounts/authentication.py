"""DRF authentication by bearer secret: customer API keys (iaf_…) and gateway tokens (iafgw_…)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from iafactory.ratelimit import auth_failure_record, auth_failures_check

from .gateway import gateway_token_authenticate
from .keys import API_KEY_PREFIX, LAST_USED_RESOLUTION
from .models import ApiKey, GatewayToken
from .selectors import KEY_REFUSALS, api_key_lookup


def _bearer(request) -> str | None:
    header = get_authorization_header(request).split()
    if not header or header[0].lower() != b"bearer":
        return None
    if len(header) != 2:
        raise exceptions.AuthenticationFailed(
            _("En-tête Authorization invalide : « Bearer <secret> » attendu.")
        )
    try:
        return header[1].decode()
    except UnicodeError:
        raise exceptions.AuthenticationFailed(_("Secret invalide.")) from None


def _throttled_failures(authenticate):
    """Count each refused credential per client IP; past the limit, refuse before any lookup."""

    def wrapper(self, request):
        if not get_authorization_header(request):
            return authenticate(self, request)
        auth_failures_check(request)
        try:
            return authenticate(self, request)
        except exceptions.AuthenticationFailed:
            auth_failure_record(request)
            raise

    return wrapper


def _mark_used(key: ApiKey) -> None:
    """A key read only on the customer API is used too: at most once a minute, as metering."""
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now


class CustomerKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer iaf_…`: request.user is the account owner, request.auth the key."""

    @_throttled_failures
    def authenticate(self, request):
        raw = _bearer(request)
        # Not a customer key ("iaf_…"; gateway tokens are "iafgw_…"): another scheme's turn.
        if raw is None or not raw.startswith(API_KEY_PREFIX):
            return None
        key, refusal = api_key_lookup(raw)
        if refusal is not None:
            raise exceptions.AuthenticationFailed(_(KEY_REFUSALS[refusal]))
        _mark_used(key)
        return key.account.owner, key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class GatewayPrincipal:
    """The gateway as request.user: authenticated, never a person."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_active = True

    def __init__(self, token: GatewayToken) -> None:
        self.token = token

    def __str__(self) -> str:
        return f"passerelle {self.token.name}"


class GatewayTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer iafgw_…`: request.auth is the GatewayToken."""

    @_throttled_failures
    def authenticate(self, request):
        raw = _bearer(request)
        if raw is None:
            return None
        token = gateway_token_authenticate(raw=raw)
        if token is None:
            raise exceptions.AuthenticationFailed("Jeton de passerelle invalide ou révoqué.")
        return GatewayPrincipal(token), token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="gateway"'


class IsCustomer(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKey)


class IsGateway(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, GatewayToken)


class CustomerKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.CustomerKeyAuthentication"
    name = "cleClient"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "iaf_…",
            "description": "Clé API client (Espace client → API), envoyée comme "
            "`Authorization: Bearer iaf_…`.",
        }


class GatewayTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.GatewayTokenAuthentication"
    name = "jetonPasserelle"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "iafgw_…",
            "description": "Jeton de la passerelle IAFactory (créé par l'équipe dans l'admin), "
            "envoyé comme `Authorization: Bearer iafgw_…`.",
        }
