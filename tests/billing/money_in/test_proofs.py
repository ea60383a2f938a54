"""Bank transfers with a proof: checked from its bytes, private, reviewed by staff."""

from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import AuditEvent, User
from billing.models import TransferProof
from billing.services.proofs import MAX_SIZE, ProofError, proof_approve, proof_reject
from tests.accounts.factories import AccountFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(client, invoice, content: bytes, name="virement.pdf", content_type="application/pdf"):
    url = reverse("billing:invoice_proof", args=[invoice.number])
    return client.post(
        url, {"fichier": SimpleUploadedFile(name, content, content_type)}, follow=True
    )


@pytest.fixture
def staff():
    return User.objects.create_superuser(email="staff@iafactory.dz", password="x-x-x-x-x-x-1")


def test_a_pdf_proof_is_stored_privately_and_staff_are_told(
    client, invoice, django_capture_on_commit_callbacks
):
    client.force_login(invoice.account.owner)

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, invoice, PDF)

    proof = TransferProof.objects.get()
    assert "Preuve de virement envoyée" in response.content.decode()
    assert (proof.content_type, proof.size, proof.status) == (
        "application/pdf",
        len(PDF),
        "pending",
    )
    path = proof.file.path
    assert path.startswith(str(settings.MEDIA_ROOT))
    assert "static" not in path
    assert proof.file.name.endswith(".pdf")
    assert "virement" not in proof.file.name
    assert [message.to for message in mail.outbox] == [["facturation@iafactory.dz"]]


def test_a_png_is_accepted_whatever_its_name(client, invoice):
    client.force_login(invoice.account.owner)

    upload(client, invoice, PNG, name="scan.pdf", content_type="application/pdf")

    assert TransferProof.objects.get().content_type == "image/png"


def test_a_file_of_another_type_is_refused_by_its_bytes(client, invoice):
    client.force_login(invoice.account.owner)

    response = upload(client, invoice, b"GIF89a" + b"\x00" * 100, name="preuve.pdf")
    html = upload(
        client, invoice, b"<html><script>x</script>", name="p.png", content_type="image/png"
    )

    assert "Format non accepté : envoyez un PDF, un JPEG ou un PNG." in response.content.decode()
    assert "Format non accepté" in html.content.decode()
    assert TransferProof.objects.count() == 0


def test_a_file_over_5_mb_is_refused(client, invoice):
    client.force_login(invoice.account.owner)

    too_big = upload(client, invoice, PDF + b"0" * (MAX_SIZE + 1 - len(PDF)))
    just_fits = upload(client, invoice, PDF + b"0" * (MAX_SIZE - len(PDF)))

    assert "Le fichier dépasse 5 Mo" in too_big.content.decode()
    assert TransferProof.objects.get().size == MAX_SIZE
    assert "Preuve de virement envoyée" in just_fits.content.decode()


def test_a_proof_is_served_to_its_account_and_staff_only(client, invoice, staff):
    client.force_login(invoice.account.owner)
    upload(client, invoice, PDF)
    proof = TransferProof.objects.get()
    url = reverse("billing:proof_file", args=[proof.pk])

    own = client.get(url)
    client.force_login(AccountFactory().owner)
    other = client.get(url)
    client.force_login(staff)
    by_staff = client.get(url)
    client.logout()
    anonymous = client.get(url)

    assert own.status_code == 200
    assert b"".join(own.streaming_content) == PDF
    assert own["Content-Type"] == "application/pdf"
    assert other.status_code == 404
    assert by_staff.status_code == 200
    assert anonymous.status_code == 302


def test_cannot_send_a_proof_for_another_accounts_invoice(client, invoice):
    client.force_login(AccountFactory().owner)

    response = upload(client, invoice, PDF)

    assert response.status_code == 404
    assert TransferProof.objects.count() == 0


def test_staff_approve_in_the_admin_the_invoice_is_paid_and_the_customer_told(
    client, invoice, staff, freeze, django_capture_on_commit_callbacks
):
    freeze("2026-12-20 10:00 +01:00")
    client.force_login(invoice.account.owner)
    upload(client, invoice, PDF)
    proof = TransferProof.objects.get()
    mail.outbox.clear()
    client.force_login(staff)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:billing_transferproof_change", args=[proof.pk]),
            {
                "decision": "approve",
                "date_recue": "2026-12-18",
                "montant_recu": "1190.00",
                "motif": "",
            },
        )

    assert response.status_code == 302
    proof.refresh_from_db()
    invoice.refresh_from_db()
    payment = invoice.payments.get()
    assert (proof.status, proof.received_on, proof.reviewed_by) == (
        "approved",
        date(2026, 12, 18),
        staff,
    )
    assert (payment.amount, payment.method, payment.proof) == (
        Decimal("1190.00"),
        "transfer",
        proof,
    )
    assert invoice.status == "paid"
    assert invoice.paid_at.date() == date(2026, 12, 18)
    assert mail.outbox[0].to == [invoice.account.owner.email]
    assert "bien reçu votre virement" in mail.outbox[0].body
    assert AuditEvent.objects.filter(action="proof.approved", actor=staff).count() == 1


def test_staff_reject_with_a_reason_the_customer_sees(
    client, invoice, staff, django_capture_on_commit_callbacks
):
    client.force_login(invoice.account.owner)
    upload(client, invoice, PDF)
    proof = TransferProof.objects.get()
    mail.outbox.clear()

    with pytest.raises(ProofError, match="motif"):
        proof_reject(proof=proof, reason="  ", by=staff)
    with django_capture_on_commit_callbacks(execute=True):
        proof_reject(proof=proof, reason="Montant illisible sur le scan.", by=staff)
    page = client.get(reverse("billing:invoice_detail", args=[invoice.number])).content.decode()

    invoice.refresh_from_db()
    assert invoice.status == "issued"
    assert "Refusée : Montant illisible sur le scan." in page
    assert "Montant illisible sur le scan." in mail.outbox[0].body
    with pytest.raises(ProofError, match="déjà"):
        proof_approve(proof=proof, received_on=date(2026, 12, 1), by=staff)
