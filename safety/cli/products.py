"""``products`` command group: import and list the registry and RSI versions (database)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from safety.cli.common import database, one_sponsor, ready_settings
from safety.products.registry import (
    RegistryError,
    load_products_csv,
    load_registry_json,
    load_studies_csv,
)
from safety.products.rsi import RsiError, load_rsi_csv, load_rsi_json
from safety.products.service import import_registry, registry_json

_file = click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))


@click.group("products")
def products() -> None:
    """Products, studies and reference safety information."""


@products.command("import")
@_file
@click.option("--kind", type=click.Choice(["registry", "products", "studies"]),
              default="registry", show_default=True,
              help="registry: JSON {products, studies}; products/studies: CSV.")
def import_cmd(path: Path, kind: str) -> None:
    """Import products and studies (insert or replace by id / protocol)."""
    try:
        if kind == "registry":
            reg = load_registry_json(path)
        elif kind == "products":
            reg = load_products_csv(path)
        else:
            reg = load_studies_csv(path)
    except RegistryError as exc:
        raise click.ClickException(str(exc)) from exc
    with database(ready_settings()) as session:
        import_registry(session, reg, "cli:products", one_sponsor(session))
    click.echo(f"imported {len(reg.products)} product(s), {len(reg.studies)} study(ies)")


@products.command("import-rsi")
@_file
def import_rsi_cmd(path: Path) -> None:
    """Import RSI versions (JSON list, or CSV with one row per expected PT)."""
    try:
        lib = load_rsi_csv(path) if path.suffix.lower() == ".csv" else load_rsi_json(path)
    except RsiError as exc:
        raise click.ClickException(str(exc)) from exc
    from safety.rules.rsi_update import add_rsi_version

    settings = ready_settings()
    versions = lib.versions()
    changes: list[dict[str, object]] = []
    with database(settings) as session:
        sponsor_id = one_sponsor(session)
        try:
            for v in versions:
                changes += add_rsi_version(session, v, settings, "cli:import-rsi", sponsor_id)
        except RsiError as exc:
            raise click.ClickException(f"{path}: {exc}; nothing imported") from exc
    for c in changes:
        click.echo(json.dumps(c, default=str))
    click.echo(f"imported {len(versions)} RSI version(s); {len(changes)} obligation change(s) "
               "for open cases", err=True)


@products.command("list")
def list_cmd() -> None:
    """Print the registry as JSON."""
    with database(ready_settings()) as session:
        click.echo(json.dumps(registry_json(session, one_sponsor(session)), indent=2))
