"""Sites and API clients: creating them, issuing their tokens (shown once), revoking them, and
recognising a token."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.accounts.roles import ClientRole
from safety.accounts.store import ApiClient, Organisation, Site
from safety.accounts.tokens import hash_token, new_token
from safety.audit.store import record

DEFAULT_ORGANISATION = "Sponsor"


def get_or_create_site(session: Session, name: str, country: str | None = None,
                       organisation: str = DEFAULT_ORGANISATION) -> tuple[Site, bool]:
    org = session.execute(
        select(Organisation).where(Organisation.name == organisation)
    ).scalar_one_or_none()
    if org is None:
        org = Organisation(name=organisation)
        session.add(org)
        session.flush()
    site = session.execute(
        select(Site).where(Site.organisation_id == org.id, Site.name == name)
    ).scalar_one_or_none()
    if site is not None:
        return site, False
    site = Site(organisation_id=org.id, name=name, country=country)
    session.add(site)
    session.flush()
    record(session, actor="cli", action="site.created", entity=site,
           changes=[{"field": "name", "from": None, "to": name}])
    return site, True


def issue_token(session: Session, name: str, role: str, site: Site | None,
                actor: str = "cli") -> str:
    """Create an API client and return its token; only the hash is kept."""
    if role not in tuple(ClientRole):
        raise ValueError("role must be 'site' or 'safety'")
    if role == ClientRole.SITE and site is None:
        raise ValueError("a site client needs a site")
    token = new_token()
    client = ApiClient(name=name, role=role, site_id=site.id if site else None,
                       token_hash=hash_token(token), token_prefix=token[:12])
    session.add(client)
    session.flush()
    record(session, actor=actor, action="api_client.created", entity=client,
           changes=[{"field": "role", "from": None, "to": role}])
    return token


class UnknownClient(LookupError):
    """No API client, or more than one, answers to the name or id given."""


def list_clients(session: Session) -> list[ApiClient]:
    return list(session.execute(select(ApiClient).order_by(ApiClient.id)).scalars())


def revoke_client(session: Session, ref: str, actor: str = "cli") -> ApiClient:
    """Revoke the client with this id, token prefix or (unique) name; revoking twice is a no-op.

    The row stays: reports keep pointing at the client that sent them.
    """
    from safety.db.base import utcnow

    stmt = select(ApiClient)
    if ref.isdigit():
        stmt = stmt.where(ApiClient.id == int(ref))
    elif ref.startswith("sdk_"):
        stmt = stmt.where(ApiClient.token_prefix == ref[:12])
    else:
        stmt = stmt.where(ApiClient.name == ref)
    found = list(session.execute(stmt).scalars())
    if not found:
        raise UnknownClient(f"no API client with id, token prefix or name {ref!r}")
    if len(found) > 1:
        ids = ", ".join(str(c.id) for c in found)
        raise UnknownClient(f"{len(found)} API clients are named {ref!r} (ids {ids}); "
                            "give the id")
    client = found[0]
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        record(session, actor=actor, action="api_client.revoked", entity=client,
               changes=[{"field": "revoked_at", "from": None,
                         "to": client.revoked_at.isoformat()}])
    return client


@dataclass(frozen=True)
class ClientIdentity:
    """Who a valid bearer token belongs to."""

    client_id: int
    name: str
    role: str  # site | safety
    site_id: int | None


def client_for_token(session: Session, token_hash: str) -> ClientIdentity | None:
    """The client holding the token with this hash, unless it is unknown or revoked."""
    client = session.execute(
        select(ApiClient.id, ApiClient.name, ApiClient.role, ApiClient.site_id,
               ApiClient.revoked_at)
        .where(ApiClient.token_hash == token_hash)
    ).one_or_none()
    if client is None or client.revoked_at is not None:
        return None
    return ClientIdentity(client.id, client.name, client.role, client.site_id)


def sites(session: Session) -> list[Site]:
    return list(session.execute(select(Site).order_by(Site.name)).scalars())
