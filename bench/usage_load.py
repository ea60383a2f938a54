"""The HTTP side of the metering benchmark: a gunicorn server and the clients that load it."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(*, port: int, root: Path, env: dict, workers: int, timeout: int):
    """gunicorn on 127.0.0.1:`port` (the portal plus bench/bare_urls), once /healthz answers."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "iafactory.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--pythonpath",
        f"{root},{root / 'bench'}",
        "--log-level",
        "warning",
        "--timeout",
        str(timeout),
    ]
    server = subprocess.Popen(command, cwd=root, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return server
        except OSError:
            if server.poll() is not None:
                raise RuntimeError("gunicorn exited") from None
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("gunicorn did not start within 30 s")


def peak_rss_kib(pid: int) -> int:
    """VmHWM (peak resident set) of a process, in KiB; 0 when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def worker_pids(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def timed_threads(target, count: int) -> float:
    """Run `target` in `count` threads at once; the wall time until the last one ends."""
    threads = [threading.Thread(target=target) for _ in range(count)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def hammer(
    *,
    port: int,
    path: str,
    bodies: list[bytes],
    headers: dict,
    clients: int,
    timeout: int,
    all_accepted: bool,
) -> float:
    """POST every body with `clients` threads; return the wall time. Any non-200 aborts, and
    with `all_accepted` any answer that rejected an event."""
    lock = threading.Lock()
    cursor = iter(range(len(bodies)))
    failures: list[str] = []

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        while not failures:
            with lock:
                index = next(cursor, None)
            if index is None:
                break
            conn.request("POST", path, body=bodies[index], headers=headers)
            response = conn.getresponse()
            payload = response.read()
            rejected = all_accepted and b'"rejected":0' not in payload
            if response.status != 200 or rejected:
                failures.append(f"{response.status} {payload[:300]!r}")
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
        conn.close()

    elapsed = timed_threads(client, clients)
    if failures:
        raise RuntimeError(f"request failed: {failures[0]}")
    return elapsed
