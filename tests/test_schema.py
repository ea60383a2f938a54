import re

import pytest
import yaml
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


def test_schema_is_a_valid_openapi_3_document_with_the_catalog_paths(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    for path in ("/api/v1/models/", "/api/v1/plans/", "/api/v1/estimate/"):
        assert "get" in schema["paths"][path]


def test_schema_as_json_describes_the_estimate_parameters_and_answers(client):
    response = client.get("/api/schema/", {"format": "json"})

    schema = response.json()
    estimate = schema["paths"]["/api/v1/estimate/"]["get"]
    parameters = {parameter["name"]: parameter for parameter in estimate["parameters"]}
    assert set(parameters) == {"model", "input_tokens", "output_tokens", "images"}
    assert parameters["model"]["required"] is True
    assert parameters["input_tokens"]["schema"]["type"] == "integer"
    ok = estimate["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    error = estimate["responses"]["400"]["content"]["application/json"]["schema"]["$ref"]
    cost = schema["components"]["schemas"][ok.rsplit("/", 1)[1]]["properties"]["cost"]
    assert (cost["type"], cost["format"]) == ("string", "decimal")
    assert "errors" in schema["components"]["schemas"][error.rsplit("/", 1)[1]]["properties"]


def test_schema_lists_models_and_plans_as_arrays(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()

    for path in ("/api/v1/models/", "/api/v1/plans/"):
        answer = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        assert answer["schema"]["type"] == "array"


def test_docs_page_uses_the_bundled_swagger_ui_served_by_the_portal(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    scripts = re.findall(r'<script src="([^"]+)"></script>', html)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    swagger = [url for url in assets if "swagger-ui" in url]
    assert len(swagger) >= 3, html  # the CSS, the bundle and the standalone preset
    assert all(url.startswith("/static/drf_spectacular_sidecar/") for url in swagger)
    assert not [url for url in assets if url.startswith(("http://", "https://", "//"))]
    assert html.count("<script") == len(scripts)  # no inline script: the CSP forbids it
    for url in swagger:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert b"".join(asset.streaming_content if asset.streaming else [asset.content])
    init = client.get(next(url for url in scripts if url.startswith("/api/docs/")))
    assert init.status_code == 200
    assert init["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in init.content.decode()
