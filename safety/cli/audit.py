"""``safety audit seal|verify``: seal the audit events written since the last seal; recompute
the hash chains and name the first broken link of each (exit status 1 when one is broken)."""

from __future__ import annotations

import click

from safety.cli.common import database, ready_settings, scope
from safety.integrity.service import seal_audit_trail, verify_audit_trail


@click.group("audit")
def audit() -> None:
    """The audit trail: seal and verify its hash chains."""


@audit.command("seal")
def audit_seal() -> None:
    """Seal the events written since the last seal into their chains (the scheduler does it
    every few seconds)."""
    with database(ready_settings()) as session:
        sealed = seal_audit_trail(session)
    click.echo(f"{sealed} event(s) sealed")


@audit.command("verify")
def audit_verify() -> None:
    """Seal what awaits its seal, then recompute every chain (one per sponsor, one for events
    of no sponsor; with ``safety --sponsor CODE``, that sponsor's only). Prints each chain's
    head, to keep elsewhere: removing a chain's last events shows only against a head kept
    outside the database. Exit status 1 names the first broken link of each broken chain."""
    loaded = ready_settings()
    with database(loaded) as session:
        seal_audit_trail(session)
    with database(loaded) as session:
        report = verify_audit_trail(session, scope(session).sponsor_ids)
    for result in report.chains:
        chain = result.report
        name = f"sponsor {result.sponsor}" if result.sponsor else "no sponsor"
        head = (f"head seq {chain.head_seq} hash {chain.head_hash}" if chain.head_hash
                else "no head")
        pending = f" ({chain.pending} awaiting their seal)" if chain.pending else ""
        if chain.broken is None:
            click.echo(f"{name}: {chain.events} event(s), intact; {head}{pending}")
        else:
            click.echo(f"{name}: {chain.events} event(s), BROKEN at audit event "
                       f"{chain.broken.row_id} (seq {chain.broken.seq}): "
                       f"{chain.broken.problem}", err=True)
    if not report.chains:
        click.echo("no audit events")
    if not report.intact:
        raise SystemExit(1)
