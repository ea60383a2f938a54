import pytest

from gateway.auth_cache import AuthCache
from gateway.errors import refusal_for


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def cache(clock):
    return AuthCache(allow_seconds=5, refusal_seconds=2, stale_allow_seconds=900, clock=clock)


def test_an_approval_is_remembered_for_the_allow_ttl_only(cache, clock):
    cache.store("iaf_a", allowed=True, reason=None, message="ok")

    clock.now = 4.9
    assert cache.fresh("iaf_a").allowed
    clock.now = 5.0
    assert cache.fresh("iaf_a") is None


def test_a_refusal_is_remembered_for_less_time(cache, clock):
    cache.store("iaf_a", allowed=False, reason="no_credits", message="Crédits épuisés")

    clock.now = 1.9
    assert cache.fresh("iaf_a").reason == "no_credits"
    clock.now = 2.0
    assert cache.fresh("iaf_a") is None


def test_a_refusal_ttl_is_never_longer_than_the_approval_ttl(clock):
    cache = AuthCache(allow_seconds=1, refusal_seconds=60, stale_allow_seconds=0, clock=clock)
    cache.store("iaf_a", allowed=False, reason="revoked_key", message=None)

    clock.now = 1.0

    assert cache.fresh("iaf_a") is None


def test_keys_are_cached_separately(cache):
    cache.store("iaf_a", allowed=True, reason=None, message=None)

    assert cache.fresh("iaf_b") is None


def test_while_the_portal_is_away_only_a_recent_approval_is_served(cache, clock):
    cache.store("iaf_ok", allowed=True, reason=None, message=None)
    cache.store("iaf_no", allowed=False, reason="no_credits", message=None)

    clock.now = 899
    assert cache.stale_allowed("iaf_ok")
    assert not cache.stale_allowed("iaf_no")
    assert not cache.stale_allowed("iaf_never_seen")
    clock.now = 900
    assert not cache.stale_allowed("iaf_ok")


def test_a_refusal_replaces_an_earlier_approval_for_the_stale_rule(cache, clock):
    cache.store("iaf_a", allowed=True, reason=None, message=None)
    cache.store("iaf_a", allowed=False, reason="revoked_key", message=None)

    clock.now = 10

    assert not cache.stale_allowed("iaf_a")


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        ("missing_key", 401),
        ("unknown_key", 401),
        ("revoked_key", 401),
        ("inactive_account", 401),
        ("no_credits", 402),
        ("no_formula", 402),
        ("payg_cap_reached", 402),
        ("key_budget_reached", 402),
        ("unpaid_invoice", 402),
        ("portal_unavailable", 503),
        ("a_reason_added_later", 403),
    ],
)
def test_every_portal_reason_maps_to_its_http_status(reason, status):
    refusal = refusal_for(reason)

    assert refusal.status == status
    assert refusal.reason == reason
    assert refusal.message  # a French sentence, never empty


def test_the_portal_message_is_kept_when_it_sends_one():
    refusal = refusal_for("no_credits", "Crédits du mois épuisés (500,00 DZD consommés).")

    assert refusal.message == "Crédits du mois épuisés (500,00 DZD consommés)."
    assert refusal_for("revoked_key").message == "Cette clé API a été révoquée."
