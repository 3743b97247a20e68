"""``safety site`` and ``safety client``: sites, API clients and their tokens."""

from __future__ import annotations

import json

import click

from safety.accounts.clients import (
    UnknownClient,
    get_or_create_site,
    issue_token,
    list_clients,
    revoke_client,
)
from safety.accounts.roles import ClientRole
from safety.cli.common import database, ready_settings


@click.group("site")
def site() -> None:
    """Clinical sites and their API tokens."""


@site.command("add")
@click.argument("name")
@click.option("--country", help="ISO 3166 alpha-2 country of the site.")
@click.option("--organisation", default="Sponsor", show_default=True)
def site_add(name: str, country: str | None, organisation: str) -> None:
    """Create site NAME (or reuse it) and print a new API token for it, once."""
    with database(ready_settings()) as session:
        s, created = get_or_create_site(session, name, country.upper() if country else None,
                                        organisation)
        token = issue_token(session, f"{name} token", ClientRole.SITE, s)
        site_id = s.id
    click.echo(json.dumps({"site_id": site_id, "site": name, "created": created,
                           "token": token}))
    click.echo("Store this token now: it is not shown again.", err=True)


@click.group("client")
def client() -> None:
    """API clients of the safety team (see every case)."""


@client.command("add")
@click.argument("name")
def client_add(name: str) -> None:
    """Create a safety-team API client and print its token, once."""
    with database(ready_settings()) as session:
        token = issue_token(session, name, ClientRole.SAFETY, None)
    click.echo(json.dumps({"client": name, "role": "safety", "token": token}))


@client.command("list")
def client_list() -> None:
    """One JSON line per API client (never the token: only its first characters)."""
    with database(ready_settings()) as session:
        for c in list_clients(session):
            click.echo(json.dumps({
                "id": c.id, "client": c.name, "role": c.role, "site_id": c.site_id,
                "token_prefix": c.token_prefix,
                "revoked_at": c.revoked_at.isoformat() if c.revoked_at else None}))


@client.command("revoke")
@click.argument("ref")
def client_revoke(ref: str) -> None:
    """Revoke a client's token, by id, token prefix or name (site tokens too)."""
    loaded = ready_settings()
    try:
        with database(loaded) as session:
            c = revoke_client(session, ref)
            assert c.revoked_at is not None
            out = {"id": c.id, "client": c.name, "revoked_at": c.revoked_at.isoformat()}
    except UnknownClient as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(out))
    click.echo(f"Web processes stop accepting it within {loaded.token_cache_seconds} s.",
               err=True)
