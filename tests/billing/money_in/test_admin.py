"""Staff find money in in the admin: read-only lists, proof review, exemptions."""

import pytest
from django.urls import reverse

from accounts.models import User
from billing.models import AccountStanding

pytestmark = pytest.mark.django_db

LISTS = [
    "payment",
    "transferproof",
    "creditnote",
    "webhookevent",
    "chargilycheckout",
    "recharge",
    "accountstanding",
]


@pytest.fixture
def staff(client):
    user = User.objects.create_superuser(email="staff@iafactory.dz", password="x-x-x-x-x-x-1")
    client.force_login(user)
    return user


@pytest.mark.parametrize("model", LISTS)
def test_the_money_in_lists_open(client, staff, model):
    response = client.get(reverse(f"admin:billing_{model}_changelist"))

    assert response.status_code == 200


def test_staff_exempt_an_account_from_suspension(client, staff, invoice):
    standing = AccountStanding.objects.create(account=invoice.account)

    client.post(
        reverse("admin:billing_accountstanding_changelist"),
        {"action": "exempt_on", "_selected_action": [standing.account_id]},
    )

    standing.refresh_from_db()
    assert (standing.exempt, standing.exempt_by) == (True, staff)


def test_a_pending_proof_shows_the_review_form(client, staff, invoice):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from billing.services.proofs import proof_upload

    proof = proof_upload(
        account=invoice.account,
        invoice=invoice,
        upload=SimpleUploadedFile("v.png", b"\x89PNG\r\n\x1a\n0000", "image/png"),
    )

    page = client.get(reverse("admin:billing_transferproof_change", args=[proof.pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="decision"' in html
    assert reverse("billing:proof_file", args=[proof.pk]) in html
