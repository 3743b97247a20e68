"""``safety user``: web accounts from the command line (the first admin is made here)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import click

from safety.accounts.clients import ClientError, site_by_name
from safety.accounts.grants import grant, grants, withdraw
from safety.accounts.policy import UserError
from safety.accounts.roles import Role, RoleError
from safety.accounts.users import (
    create_user,
    get_user_by_email,
    list_users,
    set_locked,
    set_password,
)
from safety.cli.common import database, ready_settings, scope
from safety.sponsors.service import sponsors


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.group("user")
def user() -> None:
    """Web users: site submitters, case processors, safety physicians, admins."""


@user.command("add")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--site", "site_name", help="The site of a site_submitter.")
@click.option("--name", "printed_name", help="Printed name (shown on signatures).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
def user_add(email: str, role: str, site_name: str | None, printed_name: str | None,
             password_stdin: bool) -> None:
    """Create a user; the password is prompted for (or read from stdin). Staff get ROLE for
    the sponsors given with ``safety --sponsor`` (every sponsor when none is given); a site
    submitter works for the site's sponsor."""
    password = _password(password_stdin)
    try:
        with database(ready_settings()) as session:
            ids = scope(session).sponsor_ids
            site = None
            if site_name:
                site = site_by_name(session, site_name)
                if site is None or (ids is not None and site.sponsor_id not in ids):
                    raise UserError(f"no site named {site_name!r} (create it with "
                                    "`safety site add`)")
            granted = [] if role == Role.SITE_SUBMITTER else (
                sorted(ids) if ids is not None else [s.id for s in sponsors(session)])
            new = create_user(session, email=email, role=role, password=password,
                              printed_name=printed_name or email.split("@")[0],
                              site_id=site.id if site else None, actor="cli",
                              sponsor_ids=granted)
            click.echo(json.dumps({"id": new.id, "email": new.email, "role": new.role,
                                   "site_id": new.site_id, "sponsor_ids": granted}))
    except (UserError, RoleError, ClientError) as exc:
        raise click.UsageError(str(exc)) from exc


@user.command("list")
def user_list() -> None:
    """One JSON line per user, with the role it holds for each sponsor; with ``safety
    --sponsor CODE``, only the users who hold a role for that sponsor (site users: its sites),
    and only those roles."""
    with database(ready_settings()) as session:
        only = scope(session).sponsor_ids
        codes = {s.id: s.code for s in sponsors(session) if only is None or s.id in only}
        for u in list_users(session):
            held = {i: r for i, r in grants(session, u).items() if i in codes}
            if only is not None and not held:
                continue
            click.echo(json.dumps({
                "id": u.id, "email": u.email, "printed_name": u.printed_name, "role": u.role,
                "site": u.site.name if u.site else None,
                "sponsors": {codes[i]: r.value for i, r in sorted(held.items())},
                "locked": u.locked,
                "failed_logins": u.failed_logins,
                "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
            }))


def _grants_change(email: str, role: str | None) -> None:
    with database(ready_settings()) as session:
        target = get_user_by_email(session, email)
        if target is None:
            raise click.UsageError(f"no user with email {email!r}")
        ids = scope(session).sponsor_ids
        if ids is None:
            raise click.UsageError("name the sponsor(s): safety --sponsor CODE user ...")
        codes = {s.id: s.code for s in sponsors(session)}
        try:
            for sponsor_id in sorted(ids):
                if role is None:
                    withdraw(session, target, sponsor_id, actor="cli")
                else:
                    grant(session, target, sponsor_id, role, actor="cli")
        except (UserError, RoleError) as exc:
            raise click.UsageError(str(exc)) from exc
        click.echo(json.dumps({"email": target.email, "sponsors": {
            codes[i]: r.value for i, r in sorted(grants(session, target).items())}}))


@user.command("grant")
@click.argument("email")
@click.option("--role", required=True,
              type=click.Choice([r.value for r in Role if r is not Role.SITE_SUBMITTER]))
def user_grant(email: str, role: str) -> None:
    """Give a staff user ROLE for the sponsors named with ``safety --sponsor CODE``
    (replacing the role it had there); audited."""
    _grants_change(email, role)


@user.command("withdraw")
@click.argument("email")
def user_withdraw(email: str) -> None:
    """Take away a staff user's role for the sponsors named with ``safety --sponsor CODE``;
    audited."""
    _grants_change(email, None)


def _set_lock(email: str, locked: bool, reason: str | None) -> None:
    with database(ready_settings()) as session:
        target = get_user_by_email(session, email)
        if target is None:
            raise click.UsageError(f"no user with email {email!r}")
        set_locked(session, target, locked, actor="cli", now=datetime.now(UTC), reason=reason)
        click.echo(f"{target.email} {'locked' if locked else 'unlocked'}")


@user.command("lock")
@click.argument("email")
@click.option("--reason", help="Why (kept in the audit trail).")
def user_lock(email: str, reason: str | None) -> None:
    """Lock an account (it can no longer log in or sign)."""
    _set_lock(email, True, reason)


@user.command("unlock")
@click.argument("email")
@click.option("--reason", help="Why (kept in the audit trail).")
def user_unlock(email: str, reason: str | None) -> None:
    """Unlock an account and reset its failed-login count."""
    _set_lock(email, False, reason)


@user.command("password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
def user_password(email: str, password_stdin: bool) -> None:
    """Set a new password."""
    password = _password(password_stdin)
    try:
        with database(ready_settings()) as session:
            target = get_user_by_email(session, email)
            if target is None:
                raise click.UsageError(f"no user with email {email!r}")
            set_password(session, target, password, actor="cli", now=datetime.now(UTC))
    except UserError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"password set for {email}")


@user.command("demo")
def user_demo() -> None:
    """Demo accounts (one per staff role, one site submitter per site) with random passwords,
    printed once as JSON lines. Existing accounts are left alone."""
    from safety.demo.service import demo_accounts

    with database(ready_settings()) as session:
        for account in demo_accounts(session):
            click.echo(json.dumps(account))
