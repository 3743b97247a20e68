"""Bearer tokens for API clients. Tokens are random; only their SHA-256 is stored.

A web process remembers a valid token for ``token_cache_seconds`` (10 s by default): looking it
up cost a database round trip on every submission, the largest single cost of intake after
validation. A revoked token therefore stops working within that many seconds, in every process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, g, request

from safety.accounts.clients import client_for_token
from safety.accounts.roles import ClientRole
from safety.accounts.scope import Scope
from safety.accounts.tokens import hash_token
from safety.api.errors import abort


@dataclass(frozen=True)
class Principal:
    client_id: int
    name: str
    role: str
    site_id: int | None

    @property
    def actor(self) -> str:
        return f"api:{self.client_id}:{self.name}"

    @property
    def scope(self) -> Scope:
        return Scope(all_sites=self.role == ClientRole.SAFETY, site_id=self.site_id)

    @property
    def safety_team(self) -> bool:
        return self.role == ClientRole.SAFETY

    def can_see_site(self, site_id: int | None) -> bool:
        return self.scope.can_see_site(site_id)


class TokenCache:
    """Valid tokens seen recently, by hash, each trusted until its deadline.

    Only valid tokens are kept, so an unknown token is always looked up and a newly issued
    one works at once. Bounded: past ``max_entries`` the cache starts again empty.
    """

    def __init__(self, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self.max_entries = max_entries

    def get(self, token_hash: str) -> Principal | None:
        entry = self._entries.get(token_hash)
        if entry is None or entry[1] <= self._clock():
            return None
        return entry[0]

    def put(self, token_hash: str, principal: Principal, ttl: float) -> None:
        if ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[token_hash] = (principal, self._clock() + ttl)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _token_cache() -> TokenCache:
    """The app's cache (one per app, so apps with different settings do not share one)."""
    cache: TokenCache | None = current_app.extensions.get("safety.accounts.tokens")
    if cache is None:
        cache = current_app.extensions.setdefault("safety.accounts.tokens", TokenCache())
    return cache


def require_client() -> Principal:
    """The authenticated client, or a 401 that says what is wrong."""
    cached: Principal | None = g.get("principal")
    if cached is not None:
        return cached
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, message="Authorization: Bearer <token> header required.",
              headers={"WWW-Authenticate": 'Bearer realm="safetydesk"'})
    token_hash = hash_token(token.strip())
    settings = current_app.config.get("SAFETY")  # absent in a bare app a blueprint test builds
    ttl = settings.token_cache_seconds if settings is not None else 0
    tokens = _token_cache()
    principal = tokens.get(token_hash) if ttl > 0 else None
    if principal is None:
        client = client_for_token(g.db, token_hash)
        if client is None:
            abort(401, message="Unknown or revoked token.",
                  headers={"WWW-Authenticate":
                           'Bearer realm="safetydesk", error="invalid_token"'})
        principal = Principal(client.client_id, client.name, client.role, client.site_id)
        tokens.put(token_hash, principal, ttl)
    g.principal = principal
    return principal
