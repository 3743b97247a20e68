"""``safety obligations CASE``: a case's reporting obligations with their explanations."""

from __future__ import annotations

import json

import click

from safety.cli.common import database, find_case


@click.command()
@click.argument("case")
@click.option("--json", "as_json", is_flag=True, help="Print the obligations as JSON.")
def obligations(case: str, as_json: bool) -> None:
    """The reporting obligations of CASE (case id, case number or worldwide case id)."""
    from safety.rules.service import latest_obligations, obligation_json

    with database() as session:
        found = find_case(session, case)
        rows = [obligation_json(r, found.case_number)
                for r in latest_obligations(session, found.id)]
    if as_json:
        click.echo(json.dumps(rows, default=str, indent=2))
        return
    if not rows:
        click.echo(f"{found.case_number}: no obligations")
    for r in rows:
        click.echo(f"{r['due']}  {r['destination']:4s} {r['report_type']:24s} {r['status']}")
        click.echo("    " + r["explanation"].replace("\n", "\n    "))
