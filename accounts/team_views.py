"""The « Équipe » pages (members, invitations, the audit trail), the account switcher and the
invitation link (issue 16). Access is decided by accounts/permissions.py; the rules of who may
change whom live in accounts/team.py."""

from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import invitations as invites
from .current import account_switch, memberships_of
from .models import ApiKey, AuditEvent, Invitation, Membership, Role
from .permissions import login_only, member_can, requires
from .team import TeamError, membership_remove, membership_set_role, ownership_transfer
from .team_forms import InviteForm, RemoveForm, RoleForm

# The actions the account's own audit page shows (issue 16); staff-only ones stay in the admin.
TEAM_AUDIT_ACTIONS = [
    action
    for action in AuditEvent.Action.values
    if action.split(".")[0] in {"subscription", "payg", "api_key", "member", "payment", "proof"}
    or action in {"recharge.paid", "invoice.paid", "prepaid.credited", "credit_note.issued"}
]


def _member(request, pk: int) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user"), account=request.account, pk=pk
    )


def _team_context(request, **extra) -> dict:
    me = request.membership
    manage_owners = member_can(me, "members.manage_owners")
    members = request.account.memberships.select_related("user", "invited_by").order_by(
        "created_at", "pk"
    )
    rows = [
        {
            "m": member,
            "titulaire": member.user_id == request.account.owner_id,
            "editable": member.pk != me.pk
            and member_can(me, "members.manage")
            and (manage_owners or member.role != Role.OWNER),
            "role_form": RoleForm(initial={"role": member.role}, auto_id=f"m{member.pk}_%s"),
        }
        for member in members
    ]
    pending = request.account.invitations.filter(
        accepted_at__isnull=True, revoked_at__isnull=True
    ).select_related("invited_by")
    context = {
        "active": "equipe",
        "account": request.account,
        "me": me,
        "rows": rows,
        "invitations": [invitation for invitation in pending if invitation.is_pending],
        "invite_form": InviteForm(may_invite_owners=manage_owners),
        "manage_owners": manage_owners,
        "roles": Role.choices if manage_owners else Role.choices[1:],
    }
    context.update(extra)
    return context


@requires("members.view")
@require_GET
def team(request):
    return render(request, "accounts/equipe.html", _team_context(request))


@requires("members.manage")
@require_POST
def team_invite(request):
    manage_owners = member_can(request.membership, "members.manage_owners")
    form = InviteForm(request.POST, may_invite_owners=manage_owners)
    if form.is_valid():
        try:
            invitation, _raw = invites.invitation_create(
                account=request.account,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                by=request.membership,
            )
        except TeamError as error:
            form.add_error("email", str(error))
        else:
            messages.success(
                request,
                _("Invitation envoyée à %(email)s (lien valable 7 jours).")
                % {"email": invitation.email},
            )
            return redirect("accounts:team")
    return render(
        request, "accounts/equipe.html", _team_context(request, invite_form=form), status=400
    )


@requires("members.manage")
@require_POST
def invitation_revoke(request, pk: int):
    invitation = get_object_or_404(Invitation, account=request.account, pk=pk)
    try:
        invites.invitation_revoke(invitation=invitation, by=request.membership)
    except TeamError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("Invitation de %(email)s retirée.") % {"email": invitation.email}
        )
    return redirect("accounts:team")


@requires("members.manage")
@require_POST
def member_role(request, pk: int):
    member = _member(request, pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Rôle inconnu."))
        return redirect("accounts:team")
    try:
        membership_set_role(
            membership=member, role=form.cleaned_data["role"], by=request.membership
        )
    except TeamError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("%(email)s est maintenant %(role)s.")
            % {"email": member.user.email, "role": Role(form.cleaned_data["role"]).label},
        )
    return redirect("accounts:team")


def _removal(request, member: Membership, *, leaving: bool):
    """Ask what becomes of the member's keys (GET), then remove them (POST)."""
    form = RemoveForm(request.POST or None, membership=member)
    if request.method == "POST" and form.is_valid():
        try:
            count = membership_remove(
                membership=member, by=request.membership, keys_to=form.cleaned_data["keys_to"]
            )
        except TeamError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("%(email)s ne fait plus partie du compte (%(count)s clé(s) traitée(s)).")
                % {"email": member.user.email, "count": count},
            )
            return redirect("accounts:dashboard" if leaving else "accounts:team")
    keys = ApiKey.objects.filter(
        account=request.account, created_by=member.user, revoked_at__isnull=True
    )
    context = {"active": "equipe", "member": member, "form": form, "keys": keys}
    context["leaving"] = leaving
    return render(
        request,
        "accounts/equipe_retirer.html",
        context,
        status=400 if request.method == "POST" else 200,
    )


@requires("members.manage")
@require_http_methods(["GET", "POST"])
def member_remove(request, pk: int):
    return _removal(request, _member(request, pk), leaving=False)


@requires("dashboard.view")
@require_http_methods(["GET", "POST"])
def team_leave(request):
    """Any member may leave an account (but the last owner)."""
    return _removal(request, request.membership, leaving=True)


@requires("members.manage_owners")
@require_POST
def ownership_transfer_view(request, pk: int):
    member = _member(request, pk)
    try:
        ownership_transfer(account=request.account, to=member, by=request.membership)
    except TeamError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("%(email)s est désormais titulaire du compte ; vous restez administrateur.")
            % {"email": member.user.email},
        )
    return redirect("accounts:team")


@requires("audit.view")
@require_GET
def audit(request):
    """Who did what in the account: formula, pay-as-you-go, ceilings, keys, members, payments."""
    events = (
        AuditEvent.objects.filter(account=request.account, action__in=TEAM_AUDIT_ACTIONS)
        .select_related("actor")
        .order_by("-at", "-pk")
    )
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "accounts/journal.html", {"active": "journal", "page": page})


@login_only
@require_POST
def switch(request):
    """The header switcher: make another of the user's accounts the current one."""
    try:
        account_id = int(request.POST.get("account", ""))
    except ValueError:
        account_id = 0
    membership = account_switch(request, account_id=account_id)
    if membership is None:
        messages.error(request, _("Vous n'êtes pas membre de ce compte."))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = reverse("accounts:dashboard")
    return redirect(target)


@never_cache
@require_http_methods(["GET", "POST"])
def invitation(request, token: str):
    """The link of an invitation e-mail: a logged-in user accepts in one click; a visitor logs
    in or signs up (the sign-up form then accepts it) and comes back here."""
    found, refusal = invites.invitation_lookup(token)
    context = {"invitation": found, "refusal": invites.REFUSALS.get(refusal) if refusal else None}
    if refusal is None and not request.user.is_authenticated:
        request.session[invites.SESSION_KEY] = token
        here = reverse("accounts:invitation", args=[token])
        context["login_url"] = f"{reverse('account_login')}?{REDIRECT_FIELD_NAME}={here}"
        context["signup_url"] = reverse("account_signup")
    elif refusal is None and request.method == "POST":
        try:
            membership = invites.invitation_accept(raw=token, user=request.user)
        except TeamError as error:
            context["refusal"] = str(error)
        else:
            account_switch(request, account_id=membership.account_id)
            messages.success(
                request,
                _("Bienvenue dans le compte %(name)s.") % {"name": membership.account.name},
            )
            return redirect("accounts:dashboard")
    elif refusal is None:
        context["mismatch"] = not invites.email_matches(found, request.user)
        context["already"] = memberships_of(request.user).filter(account=found.account).exists()
    return render(
        request, "accounts/invitation.html", context, status=200 if refusal is None else 410
    )
