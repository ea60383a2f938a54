"""The hooks LiteLLM's proxy loads from its config:

    general_settings:
      custom_auth: gateway.litellm_plugin.user_api_key_auth
    litellm_settings:
      callbacks: gateway.litellm_plugin.usage_logger

`user_api_key_auth` asks the portal whether the customer's `iaf_` key may spend (answers cached a
few seconds per key) and turns a refusal into an OpenAI-style error. `usage_logger` turns each
served call into one usage event, appended to the spool and sent by the reporter thread.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from datetime import UTC, datetime

from fastapi import Request
from litellm.integrations.custom_logger import CustomLogger
from litellm.proxy._types import ProxyException, UserAPIKeyAuth

from .auth_cache import AuthCache
from .errors import Refusal, refusal_for
from .portal import PortalClient, PortalUnavailable
from .reporter import UsageReporter
from .settings import GatewaySettings
from .spool import Spool

log = logging.getLogger("gateway")
KEY_PREFIX = "iaf_"
KEY_HASH_PREFIX = "iafh_"


class _Runtime:
    """Created on first use, once per proxy process."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.portal = PortalClient(settings)
        self.cache = AuthCache(
            allow_seconds=settings.allow_cache_seconds,
            refusal_seconds=settings.refusal_cache_seconds,
            stale_allow_seconds=settings.stale_allow_seconds,
        )
        # LiteLLM logs the `api_key` we return in clear: we hand it a hash and keep the key here,
        # in this process only, for the usage events the portal needs it in.
        self.keys: dict[str, str] = {}
        spool = Spool.claim(settings.spool_dir)
        if len(spool):
            log.warning("%d événements d'usage en attente dans %s : renvoi", len(spool), spool.path)
        self.reporter = UsageReporter(
            spool=spool,
            send=self.portal.send_usage,
            batch_size=settings.batch_size,
            flush_seconds=settings.flush_seconds,
            retry_max_seconds=settings.retry_max_seconds,
        )
        self.reporter.start()


_runtime: _Runtime | None = None
_runtime_lock = threading.Lock()


def runtime() -> _Runtime:
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = _Runtime(GatewaySettings.from_env())
        return _runtime


def key_hash(raw_key: str) -> str:
    return KEY_HASH_PREFIX + hashlib.sha256(raw_key.encode()).hexdigest()


def _error(refusal: Refusal) -> ProxyException:
    return ProxyException(
        message=refusal.message, type=refusal.reason, param=None, code=refusal.status
    )


async def user_api_key_auth(request: Request, api_key: str) -> UserAPIKeyAuth:
    raw = (api_key or "").strip()
    if raw[:7].lower() == "bearer ":
        raw = raw[7:].strip()
    if not raw:
        raise _error(refusal_for("missing_key"))
    if not raw.startswith(KEY_PREFIX):
        raise _error(refusal_for("unknown_key"))
    rt = runtime()
    answer = rt.cache.fresh(raw)
    if answer is None:
        try:
            answer = await rt.portal.authorize(raw)
        except PortalUnavailable as error:
            if rt.cache.stale_allowed(raw):
                log.warning("Portail injoignable (%s) : clé servie sur sa dernière réponse", error)
                return _grant(rt, raw)
            raise _error(refusal_for("portal_unavailable")) from error
        rt.cache.store(raw, allowed=answer.allowed, reason=answer.reason, message=answer.message)
    if not answer.allowed:
        raise _error(refusal_for(answer.reason, answer.message))
    return _grant(rt, raw)


def _grant(rt: _Runtime, raw: str) -> UserAPIKeyAuth:
    hashed = key_hash(raw)
    rt.keys[hashed] = raw
    return UserAPIKeyAuth(api_key=hashed, key_alias=raw[:12])


def usage_event(kwargs: dict, response_obj) -> dict | None:
    """The portal's usage event for one served call, or None when nothing is billable."""
    payload = kwargs.get("standard_logging_object") or {}
    call_id = payload.get("id") or kwargs.get("litellm_call_id")
    model = payload.get("model_group") or payload.get("model")
    metadata = payload.get("metadata") or {}
    hashed = metadata.get("user_api_key_hash")
    started = payload.get("startTime")
    event: dict = {"idempotency_key": call_id, "model": model, "_key_hash": hashed}
    if started is not None:
        event["occurred_at"] = datetime.fromtimestamp(float(started), UTC).isoformat()
    call_type = payload.get("call_type") or kwargs.get("call_type") or ""
    if "image" in call_type:
        data = getattr(response_obj, "data", None)
        if data is None and isinstance(response_obj, dict):
            data = response_obj.get("data")
        event["images"] = len(data or [])
    else:
        event["input_tokens"] = int(payload.get("prompt_tokens") or 0)
        event["output_tokens"] = int(payload.get("completion_tokens") or 0)
    return event


class IAFactoryUsageLogger(CustomLogger):
    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        self._record(kwargs, response_obj)

    def log_success_event(self, kwargs, response_obj, start_time, end_time):
        # LiteLLM calls both for some call types; the spool drops a repeated idempotency key.
        self._record(kwargs, response_obj)

    def _record(self, kwargs, response_obj) -> None:
        try:
            event = usage_event(kwargs, response_obj)
            rt = runtime()
            raw = rt.keys.get(event.pop("_key_hash") or "")
            if raw is None or not event["idempotency_key"] or not event["model"]:
                log.error(
                    "Appel servi sans clé IAFactory ni identifiant : non facturable %s", event
                )
                return
            event["api_key"] = raw
            rt.reporter.add(event)
        except Exception:  # a logging callback must never break the call it reports
            log.exception("Usage non enregistré")


usage_logger = IAFactoryUsageLogger()
