"""Fuzz the public, customer and gateway API from its own OpenAPI schema (schemathesis)."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from accounts.gateway import gateway_token_create
from catalog.models import Plan
from tests.accounts.factories import AccountFactory, ApiKeyFactory

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 25
# Business rules the schema cannot express (at least one quantity, a bounded date range) answer
# 400 to schema-valid input, and a usage batch answers 200 with per-event rejections by design.
SEMANTIC_CHECKS = [positive_data_acceptance, negative_data_rejection]


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    settings.API_RATE_LIMITS = {"public": "off", "customer": "off", "gateway": "off"}


@pytest.fixture
def credentials(db):
    account = AccountFactory(
        subscription__plan=Plan.objects.get(slug="starter"), subscription__pay_as_you_go=True
    )
    _, gateway = gateway_token_create(name="fuzz")
    return {"gateway": gateway, "customer": ApiKeyFactory(account=account).raw}


# Generating the schema touches no table, so it can be loaded at collection time.
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_never_fails_and_answers_as_its_schema_says(case, credentials):
    kind = "gateway" if case.path.startswith("/api/v1/gateway/") else "customer"

    case.call_and_validate(
        headers={"Authorization": f"Bearer {credentials[kind]}"}, excluded_checks=SEMANTIC_CHECKS
    )
