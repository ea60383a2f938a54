"""Writes the LiteLLM proxy's config from the portal's catalog.

    python -m gateway.config --out var/gateway/litellm.yaml --upstreams upstreams.yaml
    python -m gateway.config --out var/gateway/litellm.yaml --mock   # no upstream: canned answers

Each active model of `GET /api/v1/models/` becomes one `model_list` entry named by its catalog slug
(what customers send as `model`). How to reach the provider comes from the upstreams file (slug ->
LiteLLM `litellm_params`, secrets as `os.environ/NAME`); a catalog model without an upstream is left
out with a warning, and a model withdrawn from the catalog disappears at the next run. Run it before
starting the proxy (and on a timer, then reload the proxy) so staff edits in the admin reach it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import yaml

from .portal import PortalClient
from .settings import GatewaySettings

log = logging.getLogger("gateway.config")
MOCK_TEXT = "Réponse de test de la passerelle IAFactory."
MOCK_IMAGE_URL = "https://api.iafactory.dz/static/test-image.png"


def build_config(models: list[dict], *, upstreams: dict | None, mock: bool) -> dict:
    model_list = []
    for model in models:
        slug, kind = model["slug"], model["kind"]
        mode = "image_generation" if kind == "image" else "chat"
        if mock:
            params = {
                "model": f"openai/{slug}",
                "api_key": "mock",
                "mock_response": MOCK_IMAGE_URL if kind == "image" else MOCK_TEXT,
            }
        elif upstreams and slug in upstreams:
            params = dict(upstreams[slug])
        else:
            log.warning(
                "Modèle « %s » sans fournisseur dans le fichier upstreams : non servi", slug
            )
            continue
        model_list.append(
            {"model_name": slug, "litellm_params": params, "model_info": {"mode": mode}}
        )
    return {
        "model_list": model_list,
        "general_settings": {"custom_auth": "gateway.litellm_plugin.user_api_key_auth"},
        "litellm_settings": {"callbacks": ["gateway.litellm_plugin.usage_logger"]},
    }


def write_config(path: Path, config: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    os.replace(tmp, path)  # the proxy never reads a half-written file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--upstreams", type=Path, help="YAML : slug -> litellm_params")
    parser.add_argument("--mock", action="store_true", help="réponses factices, sans fournisseur")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.mock and args.upstreams is None:
        parser.error("--upstreams ou --mock est obligatoire")
    upstreams = yaml.safe_load(args.upstreams.read_text()) if args.upstreams else None
    models = PortalClient(GatewaySettings.from_env()).models()
    config = build_config(models, upstreams=upstreams, mock=args.mock)
    write_config(args.out, config)
    log.info("%d modèles écrits dans %s", len(config["model_list"]), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
