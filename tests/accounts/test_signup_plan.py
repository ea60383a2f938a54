"""The formula picked on /tarifs/ is named on the sign-up page (issue 15)."""

from urllib.parse import quote

import pytest

pytestmark = pytest.mark.django_db


def test_the_sign_up_page_names_the_formula_chosen_on_tarifs(client):
    tarifs = client.get("/tarifs/").content.decode()
    link = "/comptes/signup/?next=/espace-client/formule/%3Fformule%3Dstandard"
    assert link in tarifs

    page = client.get(link).content.decode().replace("\u00a0", " ")

    assert "Formule choisie : <strong>Standard</strong> — 1 000,00 DZD HT par mois" in page
    assert 'value="/espace-client/formule/?formule=standard"' in page


def test_without_a_formula_the_page_says_it_is_chosen_later(client):
    page = client.get("/comptes/signup/?next=" + quote("/ailleurs/?formule=standard")).content

    assert "vous choisirez votre formule ensuite" in page.decode()
