"""``safety site`` and ``safety client``: sites, API clients and their tokens."""

from __future__ import annotations

import json

import click

from safety.accounts.clients import (
    ClientError,
    UnknownClient,
    get_or_create_site,
    issue_token,
    list_clients,
    revoke_client,
)
from safety.accounts.roles import ClientRole
from safety.cli.common import database, one_sponsor, ready_settings, scope
from safety.sponsors.service import sponsors


@click.group("site")
def site() -> None:
    """Clinical sites and their API tokens."""


@site.command("add")
@click.argument("name")
@click.option("--country", help="ISO 3166 alpha-2 country of the site.")
@click.option("--protocol", help="The study (protocol number) the site works on.")
def site_add(name: str, country: str | None, protocol: str | None) -> None:
    """Create site NAME of the sponsor (``safety --sponsor CODE site add``; the only sponsor
    if there is one) or reuse it, and print a new API token for it, once."""
    with database(ready_settings()) as session:
        s, created = get_or_create_site(session, name, country.upper() if country else None,
                                        one_sponsor(session), protocol=protocol)
        token = issue_token(session, f"{name} token", ClientRole.SITE, site=s)
        site_id = s.id
    click.echo(json.dumps({"site_id": site_id, "site": name, "created": created,
                           "token": token}))
    click.echo("Store this token now: it is not shown again.", err=True)


@click.group("client")
def client() -> None:
    """API clients: safety teams (their sponsors' cases) and E2B partners (one sponsor)."""


@client.command("add")
@click.argument("name")
@click.option("--partner-sender", "senders", multiple=True, metavar="N.2.r.2",
              help="A partner client (E2B messages for one sponsor) bound to this sender id; "
                   "repeatable. Without it: a safety-team client.")
@click.option("--migration", is_flag=True,
              help="A migration client: brings one sponsor's legacy reports in with their "
                   "original receipt dates (/api/v1/migrations, docs/import.md).")
def client_add(name: str, senders: tuple[str, ...], migration: bool) -> None:
    """Create an API client and print its token, once: a safety-team client for the sponsors
    given with ``safety --sponsor`` (every sponsor when none is given), a partner client
    for one sponsor, or (``--migration``) a migration client for one sponsor."""
    if migration and senders:
        raise click.UsageError("a migration client has no partner senders")
    with database(ready_settings()) as session:
        ids = scope(session).sponsor_ids
        granted = sorted(ids) if ids is not None else [s.id for s in sponsors(session)]
        role = (ClientRole.MIGRATION if migration else
                ClientRole.PARTNER if senders else ClientRole.SAFETY)
        try:
            token = issue_token(session, name, role, sponsor_ids=granted, senders=senders)
        except ClientError as exc:
            raise click.UsageError(str(exc)) from exc
    click.echo(json.dumps({"client": name, "role": role.value, "token": token}))


@client.command("list")
def client_list() -> None:
    """One JSON line per API client (never the token: only its first characters), with the
    sponsors it works for; with ``safety --sponsor CODE``, only that sponsor's clients."""
    with database(ready_settings()) as session:
        only = scope(session).sponsor_ids
        codes = {s.id: s.code for s in sponsors(session)}
        for c, works_for in list_clients(session):
            if only is not None and not only & set(works_for):
                continue
            click.echo(json.dumps({
                "id": c.id, "client": c.name, "role": c.role, "site_id": c.site_id,
                "sponsors": [codes[i] for i in works_for if only is None or i in only],
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
