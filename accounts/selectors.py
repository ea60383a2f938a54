from django.http import Http404

from .models import Account


def account_for_user(user) -> Account:
    """The customer account the logged-in user owns; 404 when there is none."""
    try:
        return Account.objects.select_related("owner").get(owner=user)
    except Account.DoesNotExist:
        raise Http404("Aucun compte client pour cet utilisateur.") from None
