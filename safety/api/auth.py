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
from safety.db.tenancy import restrict_to_sponsors
from safety.sponsors.service import sponsor_id_for


@dataclass(frozen=True)
class Principal:
    client_id: int
    name: str
    role: str
    site_id: int | None
    sponsor_ids: frozenset[int] = frozenset()
    senders: tuple[str, ...] = ()

    @property
    def actor(self) -> str:
        return f"api:{self.client_id}:{self.name}"

    @property
    def scope(self) -> Scope:
        """The client's sponsors; within them, a site client sees its own site only."""
        return Scope(sponsor_ids=self.sponsor_ids,
                     site_id=None if self.role == ClientRole.SAFETY else self.site_id)

    @property
    def safety_team(self) -> bool:
        return self.role == ClientRole.SAFETY

    @property
    def sponsor_id(self) -> int | None:
        """The one sponsor a site or partner client submits for (None for several)."""
        return next(iter(self.sponsor_ids)) if len(self.sponsor_ids) == 1 else None


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
        principal = Principal(client.client_id, client.name, client.role, client.site_id,
                              client.sponsor_ids, client.senders)
        tokens.put(token_hash, principal, ttl)
    g.principal = principal
    restrict_to_sponsors(g.db, principal.sponsor_ids)
    return principal


def named_sponsor(principal: Principal) -> int | None:
    """The sponsor a request names or its client is bound to; None when a multi-sponsor client
    names none (a read that does not need one, such as a dictionary search)."""
    if principal.sponsor_id is not None or not request.headers.get("X-Sponsor", "").strip():
        return principal.sponsor_id
    return acting_sponsor(principal)


def acting_sponsor(principal: Principal) -> int:
    """The sponsor a request acts for: a site's or partner's sponsor; for a safety-team client
    working for several, the one its ``X-Sponsor`` header names (422 otherwise)."""
    if principal.sponsor_id is not None:
        return principal.sponsor_id
    code = request.headers.get("X-Sponsor", "").strip()
    found = sponsor_id_for(g.db, code, principal.sponsor_ids) if code else None
    if found is None:
        abort(422, errors={"headers": {"X-Sponsor": [
            "Name the sponsor this request is for (its code): this client works for "
            "several." if not code else f"{code!r} is not a sponsor this client works for."]}})
    return found
