"""Fuzz the public, customer and gateway API from its own OpenAPI schema (schemathesis)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
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
def _keep_the_test_connection():
    # Like Django's test client: the WSGI app must not close the connection that holds the
    # test's transaction at the end of each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


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
