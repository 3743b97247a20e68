"""``blinding`` command group: the randomisation list and end-of-study unblinding.

Both act as a named user holding the unblinded role (``--as EMAIL``), whose password is asked
for (or read from stdin): the list is read and written only by that role, and an end-of-study
unblinding is signed (21 CFR 11.200(a)).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlalchemy.orm import Session

from safety.accounts.users import get_user_by_email
from safety.blinding.randomisation import RandomisationError
from safety.cli.common import database, one_sponsor, ready_settings
from safety.review.unblinding import (
    BULK_MEANING,
    UnblindingRefused,
    import_randomisation,
    unblind_study,
)

if TYPE_CHECKING:
    from safety.accounts.store import User

_as = click.option("--as", "email", required=True, help="The unblinded user's e-mail address.")
_protocol = click.option("--protocol", required=True, help="The study's protocol number.")


@click.group("blinding")
def blinding() -> None:
    """Blinded trials: the randomisation list and end-of-study unblinding."""


def _user(session: Session, email: str) -> User:
    user = get_user_by_email(session, email)
    if user is None:
        raise click.ClickException(f"--as: no user {email}")
    return user


@blinding.command("import-list")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_protocol
@_as
def import_list(path: Path, protocol: str, email: str) -> None:
    """Import the IWRS/IXRS randomisation list (CSV) of a blinded study."""
    with database(ready_settings()) as session:
        try:
            n = import_randomisation(session, _user(session, email), one_sponsor(session),
                                     protocol, path.read_text(encoding="utf-8-sig"))
        except (RandomisationError, UnblindingRefused) as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"imported {n} subject(s) of {protocol}")


@blinding.command("unblind-study")
@_protocol
@_as
@click.option("--reason", required=True, help="Why (e.g. database lock, DSUR).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
def unblind_study_cmd(protocol: str, email: str, reason: str, password_stdin: bool) -> None:
    """End-of-study unblinding: every subject's assignment, signed, as CSV on stdout."""
    password = (sys.stdin.readline().rstrip("\n") if password_stdin
                else click.prompt("Password", hide_input=True))
    with database(ready_settings()) as session:
        try:
            found = unblind_study(session, _user(session, email), one_sponsor(session),
                                  protocol, reason=reason, password=password,
                                  meaning=BULK_MEANING, now=datetime.now(UTC))
        except UnblindingRefused as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo("subject,arm,treatment,strength,kits")
    for a in found:
        click.echo(f"{a.subject},{a.arm},{a.treatment},{a.strength},{';'.join(a.kits)}")
