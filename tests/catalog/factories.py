from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import factory

from catalog.models import AIModel, FaqEntry, ModelPrice, Plan

ALGIERS = ZoneInfo("Africa/Algiers")


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Formule {n}")
    slug = factory.Sequence(lambda n: f"formule-{n}")
    included_credits = Decimal("1000.00")
    monthly_fee = factory.LazyAttribute(lambda o: o.included_credits)
    description = "Une formule de test."
    order = factory.Sequence(lambda n: 10 + n)


class AIModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AIModel

    slug = factory.Sequence(lambda n: f"model-{n}")
    name = factory.Sequence(lambda n: f"Modèle {n}")
    kind = AIModel.Kind.TEXT
    order = factory.Sequence(lambda n: 10 + n)


class TextPriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelPrice

    model = factory.SubFactory(AIModelFactory)
    effective_at = datetime(2026, 1, 1, tzinfo=ALGIERS)
    input_per_million = Decimal("100")
    output_per_million = Decimal("200")


class ImagePriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelPrice

    model = factory.SubFactory(AIModelFactory, kind=AIModel.Kind.IMAGE)
    effective_at = datetime(2026, 1, 1, tzinfo=ALGIERS)
    per_image = Decimal("10")


class FaqEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FaqEntry

    question = factory.Sequence(lambda n: f"Question {n} ?")
    answer = "Une réponse."
    order = factory.Sequence(lambda n: 100 + n)
