"""Bearer tokens for API clients. Tokens are random; only their SHA-256 is stored."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, request
from flask_smorest import abort
from sqlalchemy import select

from safety.db.models import ApiClient
from safety.tokens import hash_token


@dataclass(frozen=True)
class Principal:
    client_id: int
    name: str
    role: str
    site_id: int | None

    @property
    def actor(self) -> str:
        return f"api:{self.client_id}:{self.name}"

    def can_see_site(self, site_id: int | None) -> bool:
        return self.role == "safety" or (site_id is not None and site_id == self.site_id)


def require_client() -> Principal:
    """The authenticated client, or a 401 that says what is wrong."""
    cached = g.get("principal")
    if cached is not None:
        return cached
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, message="Authorization: Bearer <token> header required.",
              headers={"WWW-Authenticate": 'Bearer realm="safetydesk"'})
    client = g.db.execute(
        select(ApiClient.id, ApiClient.name, ApiClient.role, ApiClient.site_id,
               ApiClient.revoked_at)
        .where(ApiClient.token_hash == hash_token(token.strip()))
    ).one_or_none()
    if client is None or client.revoked_at is not None:
        abort(401, message="Unknown or revoked token.",
              headers={"WWW-Authenticate": 'Bearer realm="safetydesk", error="invalid_token"'})
    principal = Principal(client.id, client.name, client.role, client.site_id)
    g.principal = principal
    return principal
