import threading

import pytest

from accounts.gateway import gateway_token_create
from iafactory.ratelimit import Rate, rate_hit
from tests.accounts.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db


def test_rate_strings_parse_and_off_disables():
    assert Rate.parse("120/m") == Rate(120, 60)
    assert Rate.parse("5/s") == Rate(5, 1)
    assert Rate.parse("off") is None
    with pytest.raises(ValueError, match="expected"):
        Rate.parse("lots")


def test_counter_is_atomic_under_concurrent_hits():
    # Holds in Redis (INCR) when REDIS_URL is set, and in the in-process cache otherwise.
    rate = Rate(100, 3600)
    allowed = []
    barrier = threading.Barrier(16)

    def hammer():
        barrier.wait()
        for _ in range(20):
            allowed.append(rate_hit("test:atomic", rate, now=1_000_000.0)[0])

    threads = [threading.Thread(target=hammer) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert allowed.count(True) == 100
    assert len(allowed) == 320


def test_retry_after_counts_down_to_the_next_window():
    rate = Rate(1, 60)

    first = rate_hit("test:window", rate, now=120.0)
    second = rate_hit("test:window", rate, now=150.5)
    next_window = rate_hit("test:window", rate, now=180.0)

    assert first == (True, 60)
    assert second == (False, 30)
    assert next_window == (True, 60)


def test_public_api_answers_429_with_retry_after(client, settings):
    settings.API_RATE_LIMITS = {**settings.API_RATE_LIMITS, "public": "2/m"}

    statuses = [client.get("/api/schema/").status_code for _ in range(3)]
    response = client.get("/api/schema/")

    assert statuses[:2] == [200, 200]
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60


def test_a_made_up_authorization_header_does_not_open_a_new_bucket(client, settings):
    settings.API_RATE_LIMITS = {**settings.API_RATE_LIMITS, "public": "1/m"}

    first = client.get("/api/schema/", HTTP_AUTHORIZATION="Bearer one")
    other = client.get("/api/schema/", HTTP_AUTHORIZATION="Bearer two")

    assert (first.status_code, other.status_code) == (200, 429)


def test_each_customer_key_has_its_own_limit(client, settings):
    settings.API_RATE_LIMITS = {**settings.API_RATE_LIMITS, "customer": "1/m"}
    one, two = ApiKeyFactory(), ApiKeyFactory()

    first = client.get("/api/v1/account/", HTTP_AUTHORIZATION=f"Bearer {one.raw}")
    other = client.get("/api/v1/account/", HTTP_AUTHORIZATION=f"Bearer {two.raw}")
    again = client.get("/api/v1/account/", HTTP_AUTHORIZATION=f"Bearer {one.raw}")

    assert (first.status_code, other.status_code, again.status_code) == (200, 200, 429)


def test_the_admin_log_in_is_limited_too(client, freeze):
    freeze("2026-11-16 10:00 +01:00")  # a fixed window: the posts never straddle two
    data = {"username": "staff@iafactory.dz", "password": "mauvais"}

    statuses = [client.post("/admin/login/", data).status_code for _ in range(10)]
    response = client.post("/admin/login/", data)

    assert set(statuses) == {200}
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 300


def test_failed_logins_are_refused_after_five_attempts(client):
    data = {"login": "personne@example.dz", "password": "mauvais-mot-de-passe"}

    for _ in range(5):
        client.post("/comptes/login/", data)
    response = client.post("/comptes/login/", data)

    assert response.status_code == 200
    assert "Trop de tentatives" in response.content.decode()


def test_a_login_flood_gets_429_with_retry_after(client):
    data = {"login": "personne@example.dz", "password": "mauvais-mot-de-passe"}

    statuses = [client.post("/comptes/login/", data).status_code for _ in range(30)]
    response = client.post("/comptes/login/", data)

    assert set(statuses) == {200}
    assert response.status_code == 429
    assert response["Retry-After"] == "300"
    assert "Trop de tentatives" in response.content.decode()


def test_a_sign_up_flood_gets_429(client):
    data = {"email": "pas-une-adresse", "password1": "x", "password2": "y"}

    statuses = [client.post("/comptes/signup/", data).status_code for _ in range(20)]
    response = client.post("/comptes/signup/", data)

    assert set(statuses) == {200}
    assert response.status_code == 429
    assert response["Retry-After"] == "300"


def test_password_reset_requests_for_one_address_get_429(client):
    data = {"email": "quelquun@example.dz"}

    statuses = [client.post("/comptes/password/reset/", data).status_code for _ in range(5)]
    response = client.post("/comptes/password/reset/", data)

    assert set(statuses) == {302}
    assert response.status_code == 429


def test_behind_a_proxy_the_admin_limit_counts_each_client(client, settings, freeze):
    freeze("2026-11-16 10:00 +01:00")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    data = {"username": "staff@iafactory.dz", "password": "mauvais"}

    for _ in range(10):
        client.post("/admin/login/", data, HTTP_X_FORWARDED_FOR="203.0.113.7")
    attacker = client.post("/admin/login/", data, HTTP_X_FORWARDED_FOR="203.0.113.7")
    colleague = client.post("/admin/login/", data, HTTP_X_FORWARDED_FOR="198.51.100.2")

    assert (attacker.status_code, colleague.status_code) == (429, 200)


@pytest.fixture
def auth_failures_3_per_minute(settings, freeze):
    freeze("2026-11-16 10:00 +01:00")  # the start of a minute: Retry-After is the whole window
    settings.API_RATE_LIMITS = {**settings.API_RATE_LIMITS, "auth_failures": "3/m"}


def bearer(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_failed_customer_keys_are_throttled_per_ip_before_any_lookup(
    client, auth_failures_3_per_minute
):
    good = ApiKeyFactory()
    failures = [client.get("/api/v1/account/", **bearer("iaf_faux")).status_code for _ in range(3)]

    refused = client.get("/api/v1/account/", **bearer("iaf_faux"))
    # Even the right key is not checked from that address until the window ends.
    right_key_same_ip = client.get("/api/v1/account/", **bearer(good.raw))
    right_key_other_ip = client.get(
        "/api/v1/account/", REMOTE_ADDR="198.51.100.2", **bearer(good.raw)
    )
    public = client.get("/api/v1/plans/")

    assert failures == [401, 401, 401]
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    assert refused.json()["detail"].startswith("Trop d'échecs d'authentification")
    assert right_key_same_ip.status_code == 429
    assert right_key_other_ip.status_code == 200
    assert public.status_code == 200


def test_failed_gateway_tokens_are_throttled_per_ip(client, auth_failures_3_per_minute):
    _, raw = gateway_token_create(name="passerelle")
    usage = "/api/v1/gateway/usage/"

    def post(token, **extra):
        return client.post(
            usage, {"events": []}, content_type="application/json", **bearer(token), **extra
        )

    failures = [post("iafgw_faux").status_code for _ in range(3)]
    refused = post(raw)
    other_ip = post(raw, REMOTE_ADDR="198.51.100.2")

    assert failures == [401, 401, 401]
    assert (refused.status_code, refused["Retry-After"]) == (429, "60")
    assert other_ip.status_code == 200


def test_successful_authentications_are_not_counted_as_failures(client, auth_failures_3_per_minute):
    key = ApiKeyFactory()

    statuses = [client.get("/api/v1/account/", **bearer(key.raw)).status_code for _ in range(5)]

    assert statuses == [200] * 5


def test_the_failure_window_ends(client, auth_failures_3_per_minute, freeze):
    key = ApiKeyFactory()
    for _ in range(3):
        client.get("/api/v1/account/", **bearer("iaf_faux"))

    freeze("2026-11-16 10:01 +01:00")
    response = client.get("/api/v1/account/", **bearer(key.raw))

    assert response.status_code == 200


def test_auth_failure_limit_off_disables_it(client, settings):
    settings.API_RATE_LIMITS = {**settings.API_RATE_LIMITS, "auth_failures": "off"}

    statuses = [client.get("/api/v1/account/", **bearer("iaf_faux")).status_code for _ in range(40)]

    assert set(statuses) == {401}


def test_the_default_limit_is_30_failures_a_minute(client, freeze):
    freeze("2026-11-16 10:00 +01:00")

    statuses = [client.get("/api/v1/account/", **bearer("iaf_faux")).status_code for _ in range(31)]

    assert statuses == [401] * 30 + [429]
