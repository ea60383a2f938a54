"""Sends usage events to the portal in batches, from the spool, until each one is settled.

A background thread wakes every `flush_seconds` (or as soon as a full batch is waiting), syncs the
spool to disk, and posts its oldest pending events, at most `batch_size` at a time. Accepted and
duplicate events are done; rejected ones are logged with the portal's reason and done too (resending
cannot fix them). When the portal is unreachable or answers anything but 200, the batch stays in the
spool and is retried with exponential backoff, with the same idempotency keys.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .errors import PortalUnavailable
from .spool import Spool

log = logging.getLogger("gateway.usage")


class UsageReporter:
    def __init__(
        self,
        *,
        spool: Spool,
        send: Callable[[list[dict]], list[dict]],
        batch_size: int = 1000,
        flush_seconds: float = 1.0,
        retry_max_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spool = spool
        self.send = send
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.retry_max_seconds = retry_max_seconds
        self.clock = clock
        self.failures = 0
        self.retry_at = 0.0
        self._lock = threading.Lock()  # the spool is shared by the callers and the sender
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, event: dict) -> None:
        with self._lock:
            self.spool.append(event)
            full = len(self.spool) >= self.batch_size
        if full:
            self._wake.set()

    def flush(self) -> int:
        """Sends what is pending now; returns how many events were settled. Never raises."""
        settled = 0
        while True:
            if self.clock() < self.retry_at:
                return settled
            with self._lock:
                batch = self.spool.pending(self.batch_size)
                if batch:
                    self.spool.sync()
            if not batch:
                return settled
            try:
                results = self.send(batch)
            except PortalUnavailable as error:
                self.failures += 1
                delay = min(self.retry_max_seconds, self.flush_seconds * 2 ** (self.failures - 1))
                self.retry_at = self.clock() + delay
                log.warning(
                    "Portail injoignable (%s) : %d événements gardés en file, nouvel essai dans "
                    "%.1f s",
                    error,
                    len(self.spool),
                    delay,
                )
                return settled
            self.failures = 0
            self.retry_at = 0.0
            for event, result in zip(batch, results, strict=True):
                if result.get("status") == "rejected":
                    log.error(
                        "Événement d'usage rejeté par le portail : %s (clé d'idempotence %s, "
                        "modèle %s)",
                        result.get("error"),
                        event["idempotency_key"],
                        event.get("model"),
                    )
            with self._lock:
                self.spool.mark_done([event["idempotency_key"] for event in batch])
            settled += len(batch)

    # --- the background thread ------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="iaf-usage-reporter", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the thread must survive anything: the spool keeps the events
                log.exception("Erreur inattendue à l'envoi de l'usage")

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()
        with self._lock:
            self.spool.close()
