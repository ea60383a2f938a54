"""The portal's URLs plus /bench/bare/: one insert and one update, no rules (the yardstick)."""

from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.urls import path
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.models import BillingPeriod, UsageEvent
from iafactory.urls import urlpatterns as portal_urlpatterns


class BareUsageView(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    def post(self, request):
        data = request.data
        cost = Decimal("1.625")
        now = timezone.now()
        with transaction.atomic():
            UsageEvent.objects.create(
                account_id=data["account"],
                period_id=data["period"],
                api_key_id=data["key"],
                model_id=data["model"],
                idempotency_key=data["idempotency_key"],
                fingerprint="0" * 64,
                input_tokens=500,
                output_tokens=1500,
                occurred_at=now,
                received_at=now,
                input_price=Decimal("250"),
                output_price=Decimal("1000"),
                cost=cost,
                credits=0,
                overage=0,
                written_off=cost,
                pay_as_you_go=False,
            )
            BillingPeriod.objects.filter(pk=data["period"]).update(
                written_off=F("written_off") + cost
            )
        return Response({"status": "accepted", "cost": "1.625"})


urlpatterns = [path("bench/bare/", BareUsageView.as_view()), *portal_urlpatterns]
