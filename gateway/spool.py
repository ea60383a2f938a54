"""An append-only journal of usage events on disk: nothing accepted by the gateway is lost.

Every event is appended as one JSON line before it is sent; once the portal has settled it
(accepted, duplicate or rejected) a `done` line with its idempotency key follows. What has no
`done` line is pending: it is resent, in journal order, after a failure or a restart. Lines are
flushed to the OS on every append (a crashed process loses nothing) and fsync'd by `sync()`, which
the reporter calls before each send. A torn last line (a crash mid-write) is ignored and cut off.
When nothing is pending the journal is compacted to an empty file.

One process owns one journal file: `Spool.claim(directory)` takes the first numbered file no
other process holds (an exclusive `flock`), so several gateway processes share a directory.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from pathlib import Path

log = logging.getLogger("gateway.spool")

COMPACT_AFTER_DONE = 10_000


class Spool:
    def __init__(self, path: Path | str, *, _lock_fd: int | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd = _lock_fd
        self._pending: dict[str, dict] = {}  # idempotency_key -> event, in journal order
        self._done_lines = 0
        self._load()
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (held open)
        os.chmod(self.path, 0o600)  # events carry customer keys

    @classmethod
    def claim(cls, directory: Path | str, *, slots: int = 64) -> Spool:
        """The first `spool-N.jsonl` in `directory` that no other live process holds."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for n in range(slots):
            fd = os.open(directory / f"spool-{n}.lock", os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return cls(directory / f"spool-{n}.jsonl", _lock_fd=fd)
        raise RuntimeError(f"Toutes les {slots} files d'attente de {directory} sont prises.")

    # --- reading back ---------------------------------------------------------------------

    def _load(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        good_end = 0
        offset = 0
        while offset < len(data):
            newline = data.find(b"\n", offset)
            if newline == -1:
                break  # torn last line: written without its newline
            line = data[offset:newline]
            offset = newline + 1
            try:
                record = json.loads(line)
            except ValueError:
                if offset >= len(data):
                    break  # torn last line that happens to end in a newline byte
                log.error("Ligne illisible ignorée dans %s : %r", self.path, line[:200])
                good_end = offset
                continue
            good_end = offset
            self._apply(record)
        if good_end < len(data):
            log.warning("Fin de journal tronquée ignorée dans %s", self.path)
            with open(self.path, "r+b") as file:
                file.truncate(good_end)
                file.flush()
                os.fsync(file.fileno())

    def _apply(self, record: dict) -> None:
        if record.get("op") == "event":
            event = record["event"]
            self._pending.setdefault(event["idempotency_key"], event)
        elif record.get("op") == "done":
            for key in record["keys"]:
                self._pending.pop(key, None)
            self._done_lines += 1

    # --- writing --------------------------------------------------------------------------

    def _write(self, record: dict) -> None:
        self._file.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n")
        self._file.flush()

    def append(self, event: dict) -> None:
        key = event["idempotency_key"]
        if key in self._pending:
            return
        self._write({"op": "event", "event": event})
        self._pending[key] = event

    def mark_done(self, keys: list[str]) -> None:
        keys = [key for key in keys if key in self._pending]
        if not keys:
            return
        self._write({"op": "done", "keys": keys})
        for key in keys:
            del self._pending[key]
        self._done_lines += 1
        if not self._pending or self._done_lines >= COMPACT_AFTER_DONE:
            self.compact()

    def sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())

    def compact(self) -> None:
        """Rewrites the journal with only the pending events (atomic rename, fsync'd)."""
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as file:
            for event in self._pending.values():
                line = json.dumps({"op": "event", "event": event}, separators=(",", ":"))
                file.write(line + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, 0o600)
        self._file.close()
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        self._done_lines = 0

    # --- what is left ---------------------------------------------------------------------

    def pending(self, limit: int | None = None) -> list[dict]:
        events = list(self._pending.values())
        return events if limit is None else events[:limit]

    def __len__(self) -> int:
        return len(self._pending)

    def close(self) -> None:
        self.sync()
        self._file.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
