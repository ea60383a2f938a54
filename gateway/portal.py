"""The portal's gateway API over HTTP: the only way the gateway talks to the portal."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from .errors import PortalUnavailable
from .settings import GatewaySettings

__all__ = ["AuthorizeAnswer", "PortalClient", "PortalUnavailable"]


@dataclass(frozen=True)
class AuthorizeAnswer:
    allowed: bool
    reason: str | None
    message: str | None


class PortalClient:
    def __init__(self, settings: GatewaySettings, *, transport=None, async_transport=None):
        self.settings = settings
        headers = {"Authorization": f"Bearer {settings.gateway_token}"}
        timeout = httpx.Timeout(settings.timeout_seconds)
        self._sync = httpx.Client(
            base_url=settings.portal_url, headers=headers, timeout=timeout, transport=transport
        )
        self._async_options = {
            "base_url": settings.portal_url,
            "headers": headers,
            "timeout": timeout,
            "transport": async_transport,
        }
        self._async: httpx.AsyncClient | None = None

    async def authorize(self, raw_key: str) -> AuthorizeAnswer:
        if self._async is None:
            self._async = httpx.AsyncClient(**self._async_options)
        try:
            response = await self._async.post(
                "/api/v1/gateway/authorize/", json={"api_key": raw_key}
            )
        except httpx.HTTPError as error:
            raise PortalUnavailable(str(error)) from error
        if response.status_code != 200:
            raise PortalUnavailable(f"authorize answered {response.status_code}")
        body = response.json()
        return AuthorizeAnswer(
            allowed=bool(body.get("allowed")),
            reason=body.get("reason"),
            message=body.get("message"),
        )

    def send_usage(self, events: list[dict]) -> list[dict]:
        """The portal's result per event, in order; PortalUnavailable when it must be resent."""
        try:
            response = self._sync.post("/api/v1/gateway/usage/", json={"events": events})
        except httpx.HTTPError as error:
            raise PortalUnavailable(str(error)) from error
        if response.status_code != 200:
            # 5xx, and also 401/429/4xx: a wrong token or a throttle must not lose usage either.
            raise PortalUnavailable(f"usage answered {response.status_code}: {response.text[:200]}")
        results = response.json().get("results")
        if not isinstance(results, list) or len(results) != len(events):
            raise PortalUnavailable("usage answer without one result per event")
        return results

    def models(self) -> list[dict]:
        try:
            response = self._sync.get("/api/v1/models/")
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise PortalUnavailable(str(error)) from error
        return response.json()
