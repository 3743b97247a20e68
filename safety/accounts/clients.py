"""Sites and API clients: creating them, issuing their tokens (shown once), revoking them, and
recognising a token."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.accounts.roles import ClientRole
from safety.accounts.store import ApiClient, ApiClientSponsor, Site
from safety.accounts.tokens import hash_token, new_token
from safety.audit.store import record


class ClientError(ValueError):
    """A client or site that cannot be created as asked; the message says why."""


def get_or_create_site(session: Session, name: str, country: str | None, sponsor_id: int, *,
                       protocol: str | None = None, actor: str = "cli") -> tuple[Site, bool]:
    """The sponsor's site named ``name`` (a site belongs to one sponsor: the same name at two
    sponsors is two sites)."""
    site = session.execute(
        select(Site).where(Site.sponsor_id == sponsor_id, Site.name == name)
    ).scalar_one_or_none()
    if site is not None:
        return site, False
    site = Site(sponsor_id=sponsor_id, name=name, country=country, protocol=protocol)
    session.add(site)
    session.flush()
    record(session, actor=actor, action="site.created", entity=site,
           changes=[{"field": "name", "from": None, "to": name},
                    {"field": "protocol", "from": None, "to": protocol}])
    return site, True


def issue_token(session: Session, name: str, role: ClientRole | str, *,
                site: Site | None = None, sponsor_ids: Iterable[int] = (),
                senders: Iterable[str] = (), actor: str = "cli") -> str:
    """Create an API client and return its token; only the hash is kept.

    A site client works for its site's sponsor; a partner client for exactly one sponsor,
    under the E2B sender ids it is bound to; a safety-team client for the sponsors given; a
    migration client for exactly one sponsor (its legacy export's senders are its own to
    name: the old system's records, not a partner's live feed).
    """
    try:
        role = ClientRole(role)
    except ValueError:
        raise ClientError(f"role: one of {', '.join(r.value for r in ClientRole)}") from None
    granted = set(sponsor_ids)
    if role is ClientRole.SITE:
        if site is None:
            raise ClientError("a site client needs a site")
        granted = {site.sponsor_id}
    elif site is not None:
        raise ClientError(f"a {role.value} client has no site")
    if role is ClientRole.PARTNER and (len(granted) != 1 or not list(senders)):
        raise ClientError("a partner client works for one sponsor and needs its sender ids")
    if role is ClientRole.MIGRATION and len(granted) != 1:
        raise ClientError("a migration client works for one sponsor (name it)")
    if not granted:
        raise ClientError(f"a {role.value} client needs the sponsor(s) it works for")
    token = new_token()
    client = ApiClient(name=name, role=role, site_id=site.id if site else None,
                       senders=sorted(set(senders)), token_hash=hash_token(token),
                       token_prefix=token[:12])
    session.add(client)
    session.flush()
    session.add_all(ApiClientSponsor(client_id=client.id, sponsor_id=s) for s in sorted(granted))
    for sponsor_id in sorted(granted):
        record(session, actor=actor, action="api_client.created", entity=client,
               sponsor_id=sponsor_id,
               changes=[{"field": "role", "from": None, "to": role.value},
                        {"field": "senders", "from": None, "to": sorted(set(senders))}])
    return token


class UnknownClient(LookupError):
    """No API client, or more than one, answers to the name or id given."""


def list_clients(session: Session) -> list[tuple[ApiClient, list[int]]]:
    """Every client with the ids of the sponsors it works for."""
    works_for: dict[int, list[int]] = {}
    for client_id, sponsor_id in session.execute(select(
            ApiClientSponsor.client_id, ApiClientSponsor.sponsor_id).order_by(
            ApiClientSponsor.sponsor_id)):
        works_for.setdefault(client_id, []).append(sponsor_id)
    return [(c, works_for.get(c.id, []))
            for c in session.execute(select(ApiClient).order_by(ApiClient.id)).scalars()]


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
    """Who a valid bearer token belongs to, and for which sponsors it works."""

    client_id: int
    name: str
    role: ClientRole
    site_id: int | None
    sponsor_ids: frozenset[int]
    senders: tuple[str, ...] = ()


def client_for_token(session: Session, token_hash: str) -> ClientIdentity | None:
    """The client holding the token with this hash, unless it is unknown or revoked."""
    client = session.execute(
        select(ApiClient).where(ApiClient.token_hash == token_hash)
    ).scalar_one_or_none()
    if client is None or client.revoked_at is not None:
        return None
    granted = frozenset(session.scalars(select(ApiClientSponsor.sponsor_id).where(
        ApiClientSponsor.client_id == client.id)))
    return ClientIdentity(client.id, client.name, ClientRole(client.role), client.site_id,
                          granted, tuple(client.senders or ()))


def sites(session: Session, sponsor_ids: frozenset[int] | None = None) -> list[Site]:
    stmt = select(Site).order_by(Site.name)
    if sponsor_ids is not None:
        stmt = stmt.where(Site.sponsor_id.in_(sponsor_ids))
    return list(session.execute(stmt).scalars())


def site_by_name(session: Session, name: str, sponsor_id: int | None = None) -> Site | None:
    stmt = select(Site).where(Site.name == name)
    if sponsor_id is not None:
        stmt = stmt.where(Site.sponsor_id == sponsor_id)
    found = list(session.execute(stmt).scalars())
    if len(found) > 1:
        raise ClientError(f"{len(found)} sponsors have a site named {name!r}: name the sponsor")
    return found[0] if found else None
