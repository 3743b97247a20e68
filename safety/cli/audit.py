"""``safety audit verify``: recompute the audit trail's hash chains and name the first broken
link of each (exit status 1 when one is broken)."""

from __future__ import annotations

import click

from safety.cli.common import database, ready_settings, scope
from safety.integrity.service import verify_audit_trail


@click.group("audit")
def audit() -> None:
    """The audit trail: verify its hash chains."""


@audit.command("verify")
def audit_verify() -> None:
    """Recompute every chain (one per sponsor, one for events of no sponsor; with
    ``safety --sponsor CODE``, that sponsor's only). Prints each chain's head, to keep
    elsewhere: removing a chain's last events shows only against a head kept outside the
    database. Exit status 1 names the first broken link of each broken chain."""
    with database(ready_settings()) as session:
        report = verify_audit_trail(session, scope(session).sponsor_ids)
    for result in report.chains:
        chain = result.report
        name = f"sponsor {result.sponsor}" if result.sponsor else "no sponsor"
        head = (f"head seq {chain.head_seq} hash {chain.head_hash}" if chain.head_hash
                else "no head")
        if chain.broken is None:
            click.echo(f"{name}: {chain.events} event(s), intact; {head}")
        else:
            click.echo(f"{name}: {chain.events} event(s), BROKEN at audit event "
                       f"{chain.broken.row_id} (seq {chain.broken.seq}): "
                       f"{chain.broken.problem}", err=True)
    if not report.chains:
        click.echo("no audit events")
    if not report.intact:
        raise SystemExit(1)
