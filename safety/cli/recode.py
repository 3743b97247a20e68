"""``safety dictionary recode``: what the active release changes for open cases."""

from __future__ import annotations

import json

import click

from safety.config import load_settings


@click.command("recode")
@click.option("--apply", is_flag=True, help="Apply the changes (audited); default reports only.")
def recode_cmd(apply: bool) -> None:
    """One JSON line per changed term: case, verbatim, old and new code, and why."""
    from safety.db.session import session_scope
    from safety.review.recoding import recode_open_cases

    settings = load_settings()
    with session_scope(settings.effective_database_url) as session:
        rows = recode_open_cases(session, settings, actor="cli:recode", apply=apply)
    for row in rows:
        click.echo(json.dumps(row))
    click.echo(f"{len(rows)} term(s) {'recoded' if apply else 'would change'}", err=True)
