"""``safety db``: migrations and the application's role, both run as the owner role
(``SAFETY_OWNER_DATABASE_URL``, else ``SAFETY_DATABASE_URL``)."""

from __future__ import annotations

import click

from safety.cli.common import (
    ask_held_reports,
    index_queue,
    migration_attributes,
    redact,
    reindex_dedup,
    settings,
)


@click.group("db")
def db() -> None:
    """Database migrations and roles."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (as the owner role; then `safety db roles` grants the
    application role any new table)."""
    from safety.db.migrate import upgrade
    from safety.sponsors.service import SponsorError

    loaded = settings()
    url = loaded.effective_owner_url
    try:
        upgrade(url, revision, attributes=migration_attributes(loaded))
    except SponsorError as exc:  # the installation's settings 0004 cannot migrate
        raise click.ClickException(f"database not upgraded: {exc}") from exc
    indexed = index_queue(url)
    asked = ask_held_reports(url, loaded)
    notes = [f"{indexed} case(s) added to the queue's index" if indexed else "",
             f"{asked} question(s) raised on reports held for minimum criteria" if asked
             else ""]
    shown = "; ".join(n for n in notes if n)
    click.echo(f"database at {revision}: {redact(url)}" + (f" ({shown})" if shown else ""))
    if revision == "head":
        click.echo(reindex_dedup(url, loaded))


@db.command("check")
def db_check() -> None:
    """Fail if the models and the migrations disagree."""
    from safety.db.migrate import check

    check(settings().effective_owner_url)
    click.echo("models and migrations agree")


@db.command("roles")
@click.option("--app-role", required=True, metavar="NAME",
              help="The role the web app, workers and commands connect as.")
@click.option("--unblinded-role", metavar="NAME",
              help="The only role that may read the treatment assignments of blinded studies "
                   "(SAFETY_UNBLINDED_DATABASE_URL connects as it).")
@click.option("--set-password", is_flag=True, help="Prompt for the roles' passwords.")
def db_roles(app_role: str, unblinded_role: str | None, set_password: bool) -> None:
    """Create the application's role (if missing) and grant it what the service may do and no
    more: it may insert audit events but never change, delete or truncate them, never change
    what a report or case version holds, and never read the treatment assignments of a
    blinded study (those only the unblinded role may). Run by the owner after every upgrade
    (PostgreSQL only)."""
    from safety.db.roles import RoleError, grant_app_role, grant_unblinded_role

    def password(role: str) -> str | None:
        return (click.prompt(f"password of {role}", hide_input=True, confirmation_prompt=True)
                if set_password else None)

    owner = settings().effective_owner_url
    try:
        grants = grant_app_role(owner, app_role, password(app_role))
        compartment = (grant_unblinded_role(owner, unblinded_role, app_role,
                                            password(unblinded_role))
                       if unblinded_role else [])
    except RoleError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"{app_role}: granted on {len(grants)} tables; audit_events insert-only; "
               "no privilege on treatment_assignments")
    if unblinded_role:
        click.echo(f"{unblinded_role}: granted on "
                   f"{', '.join(g.table for g in compartment)} only")
    else:
        click.echo("no unblinded role named: blinded studies' lists can be read only once one "
                   "is (--unblinded-role NAME, then SAFETY_UNBLINDED_DATABASE_URL)")
