"""The public pages in Arabic and English (issue 15, Languages): /tarifs/ with its calculator,
the API documentation page, and the public API's errors."""

import pytest

from tests.languages import get_in, in_languages  # noqa: F401 - the fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("in_languages")]

FRENCH_TARIFS_LABELS = [
    "Comprendre la facturation",
    "Calculer le coût d'un appel",
    "Modèles texte",
    "Choisir un modèle",
    "de crédits mensuels inclus",
]


def _page(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_tarifs_in_arabic(client):
    page = _page(get_in(client, "/tarifs/", "ar"))

    assert "أسعار IAFactory" in page
    assert "فهم الفوترة" in page
    assert "النماذج النصية" in page
    assert "احسب التكلفة" in page
    assert "من الأرصدة الشهرية المشمولة" in page
    assert '<td class="col-kind">نص</td>' in page  # the model kind, not cached in French
    assert "د.ج دون احتساب الرسوم" in page
    for french in FRENCH_TARIFS_LABELS:
        assert french not in page


def test_tarifs_in_english(client):
    page = _page(get_in(client, "/tarifs/", "en"))

    assert "IAFactory pricing" in page
    assert "Understanding billing" in page
    assert "Text models" in page
    assert "Calculate the cost" in page
    assert "of monthly included credits" in page
    assert '<td class="col-kind">Text</td>' in page
    for french in FRENCH_TARIFS_LABELS:
        assert french not in page


def test_the_catalog_cache_does_not_keep_a_language(client):
    _page(get_in(client, "/tarifs/", "ar"))  # fills the catalog cache

    page = _page(client.get("/tarifs/", HTTP_ACCEPT_LANGUAGE="fr", HTTP_COOKIE=""))

    assert '<td class="col-kind">Texte</td>' in page


def test_the_calculator_names_every_bad_field_in_the_language(client):
    url = "/tarifs/?model=gpt-4.1&input_tokens=abc&output_tokens=-1&images="

    arabic = _page(get_in(client, url, "ar"))
    english = _page(get_in(client, url, "en"))

    assert "يجب أن يكون عدد رموز الإدخال (tokens) عددًا صحيحًا." in arabic
    assert "لا يمكن أن يكون عدد رموز الإخراج (tokens) سالبًا." in arabic
    assert "The number of input tokens must be a whole number." in english
    assert "The number of output tokens cannot be negative." in english
    assert "Cannot calculate" in english


def test_the_calculator_result_in_english(client):
    page = _page(get_in(client, "/tarifs/?model=flux-schnell&images=4", "en"))

    assert "Estimated cost" in page
    assert "images ×" in page
    assert "Coût estimé" not in page


def test_the_api_docs_page_in_arabic_and_english(client):
    arabic = _page(get_in(client, "/documentation-api/", "ar"))
    english = _page(get_in(client, "/documentation-api/", "en"))

    assert "استدعاء نموذج" in arabic
    assert "حالات رفض البوابة" in arabic
    assert "Calling a model" in english
    assert "Gateway refusals" in english
    assert "Appeler un modèle" not in english
    assert "Refus de la passerelle" not in arabic


def test_the_estimate_api_errors_follow_accept_language(client):
    url = "/api/v1/estimate/?model=gpt-4.1&input_tokens=abc"

    english = get_in(client, url, "en")
    french = get_in(client, url, "fr")

    assert english.status_code == 400
    assert english.json() == {
        "errors": {"input_tokens": ["“input_tokens” must be a whole number."]}
    }
    assert french.json() == {
        "errors": {"input_tokens": ["« input_tokens » doit être un nombre entier."]}
    }
