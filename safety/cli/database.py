"""``safety db``: migrations."""

from __future__ import annotations

import click

from safety.cli.common import migration_attributes, redact, settings


@click.group("db")
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    from safety.db.migrate import upgrade
    from safety.sponsors.service import SponsorError

    loaded = settings()
    url = loaded.effective_database_url
    try:
        upgrade(url, revision, attributes=migration_attributes(loaded))
    except SponsorError as exc:  # the installation's settings 0004 cannot migrate
        raise click.ClickException(f"database not upgraded: {exc}") from exc
    click.echo(f"database at {revision}: {redact(url)}")


@db.command("check")
def db_check() -> None:
    """Fail if the models and the migrations disagree."""
    from safety.db.migrate import check

    check(settings().effective_database_url)
    click.echo("models and migrations agree")
