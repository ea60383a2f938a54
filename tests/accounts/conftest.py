from types import SimpleNamespace

import pytest

from catalog.models import Plan

from .factories import AccountFactory


@pytest.fixture
def plans():
    return SimpleNamespace(**{plan.slug: plan for plan in Plan.objects.all()})


@pytest.fixture
def customer(plans):
    """An account on Starter, pay-as-you-go off."""
    return AccountFactory(subscription__plan=plans.starter)


@pytest.fixture
def customer_client(client, customer):
    client.force_login(customer.owner)
    return client
