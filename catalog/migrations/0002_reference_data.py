"""Reference data of DESIGN.md section 2: formulas, models with prices, and the FAQ."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import migrations

PRICES_FROM = datetime(2026, 1, 1, tzinfo=ZoneInfo("Africa/Algiers"))

PLANS = [
    ("Starter", "starter", "500", "Pour tester IAFactory sur un petit volume."),
    ("Standard", "standard", "1000", "Pour un usage régulier dans une petite équipe."),
    ("Expert", "expert", "2500", "Pour un usage intensif ou plusieurs projets."),
]

TEXT_MODELS = [
    ("gpt-4.1", "GPT-4.1", "250", "1000"),
    ("gpt-5.2", "GPT-5.2", "500", "1500"),
    ("claude-sonnet-4.5", "Claude Sonnet 4.5", "750", "3750"),
    ("gemini-3-pro", "Gemini 3 Pro", "312", "1250"),
    ("mistral-medium", "Mistral Medium", "125", "375"),
    ("deepseek-v3", "DeepSeek V3", "70", "140"),
]

IMAGE_MODELS = [
    ("flux-schnell", "FLUX.1 schnell", "8"),
    ("stable-diffusion-3.5", "Stable Diffusion 3.5", "16"),
]

# {taux_tva}, {preavis_jours} and {lien_documentation} are filled in from the database.
FAQ = [
    (
        "Les prix incluent-ils la TVA ?",
        "Non : tous les prix affichés sont hors taxes (HT), en dinars algériens (DZD). "
        "La TVA au taux en vigueur ({taux_tva}) est ajoutée sur chaque facture. "
        "Les clients exonérés de TVA (sur justificatif transmis à notre service facturation) "
        "sont facturés sans TVA.",
    ),
    (
        "Que se passe-t-il si je dépasse mes crédits mensuels ?",
        "Chaque appel consomme d'abord les crédits inclus dans votre formule pour le mois en cours. "
        "Une fois ces crédits épuisés :\n"
        "- si le « pay as you go » est activé (Espace client → API), l'API reste disponible et "
        "la consommation au-delà des crédits est facturée en fin de mois, au tarif des modèles "
        "ci-dessus ;\n"
        "- s'il est désactivé, l'API est suspendue jusqu'au 1er du mois suivant ; la part de "
        "l'appel qui dépasse vos crédits ne vous est pas facturée.\n"
        "Vous pouvez activer ou désactiver le pay as you go à tout moment, avec effet immédiat. "
        "Les crédits non utilisés ne sont pas reportés sur le mois suivant.",
    ),
    (
        "Puis-je changer de formule à tout moment ?",
        "Oui, depuis votre espace client, sans engagement.\n"
        "- Passage à une formule supérieure : immédiat. Vous recevez tout de suite les crédits "
        "supplémentaires au prorata des jours restants du mois, et l'abonnement du mois est "
        "facturé au prorata de chaque formule (le jour du changement compte pour la nouvelle).\n"
        "- Passage à une formule inférieure (ou à aucune formule) : effectif le 1er du mois "
        "suivant ; vous pouvez l'annuler jusque-là.",
    ),
    (
        "Les tarifs peuvent-ils évoluer ?",
        "Oui. IAFactory peut ajuster les tarifs en fonction des coûts des fournisseurs et des "
        "évolutions du marché. Toute hausse est annoncée sur cette page au moins {preavis_jours} "
        "jours à l'avance, avec sa date d'effet ; une baisse peut s'appliquer immédiatement. "
        "Chaque appel est facturé au prix en vigueur au moment où il a eu lieu.",
    ),
    (
        "Où trouver plus de détails techniques sur les modèles ?",
        "La page {lien_documentation} décrit les modèles, leurs identifiants, leurs prix, "
        "les endpoints et les paramètres techniques à utiliser dans vos intégrations.",
    ),
]


def load(apps, schema_editor):
    Plan = apps.get_model("catalog", "Plan")
    AIModel = apps.get_model("catalog", "AIModel")
    ModelPrice = apps.get_model("catalog", "ModelPrice")
    FaqEntry = apps.get_model("catalog", "FaqEntry")

    for order, (name, slug, credits, description) in enumerate(PLANS, start=1):
        Plan.objects.update_or_create(
            slug=slug,
            defaults={
                "name": name,
                "included_credits": Decimal(credits),
                "monthly_fee": Decimal(credits),
                "description": description,
                "order": order,
            },
        )
    for order, (slug, name, price_in, price_out) in enumerate(TEXT_MODELS, start=1):
        model, _ = AIModel.objects.update_or_create(
            slug=slug, defaults={"name": name, "kind": "text", "order": order}
        )
        ModelPrice.objects.get_or_create(
            model=model,
            effective_at=PRICES_FROM,
            defaults={
                "input_per_million": Decimal(price_in),
                "output_per_million": Decimal(price_out),
            },
        )
    for order, (slug, name, per_image) in enumerate(IMAGE_MODELS, start=1):
        model, _ = AIModel.objects.update_or_create(
            slug=slug, defaults={"name": name, "kind": "image", "order": order}
        )
        ModelPrice.objects.get_or_create(
            model=model, effective_at=PRICES_FROM, defaults={"per_image": Decimal(per_image)}
        )
    for order, (question, answer) in enumerate(FAQ, start=1):
        FaqEntry.objects.update_or_create(
            question=question, defaults={"answer": answer, "order": order}
        )


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
