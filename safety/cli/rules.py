"""``rules`` command group: what-if evaluation and explanations of a case JSON file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from safety.cases.codec import CodecError
from safety.config import ConfigError, load_settings
from safety.products.registry import RegistryError, load_registry_json
from safety.products.rsi import RsiError, load_rsi_csv, load_rsi_json
from safety.rules.capacity import with_options
from safety.rules.day0 import Day0Error
from safety.rules.history import HistoryError
from safety.rules.obligations import Evaluation, evaluate
from safety.rules.regime import RegimeError, load_regimes
from safety.rules.whatif import WhatIfError, evaluate_history_json, is_history, load_whatif

F = TypeVar("F", bound=Callable[..., Any])

ERRORS = (CodecError, RegistryError, RsiError, Day0Error, RegimeError, WhatIfError,
          HistoryError, json.JSONDecodeError)


def _run(case_file: Path, registry: Path | None, rsi: Path | None,
         regimes_dir: Path | None) -> Evaluation:
    try:  # safety.cli.common would do, but imports the database stack this command never uses
        zone = load_settings().timezone
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    reg = load_registry_json(registry) if registry else None
    lib = None
    if rsi:
        lib = load_rsi_csv(rsi) if rsi.suffix.lower() == ".csv" else load_rsi_json(rsi)
    data = json.loads(case_file.read_text(encoding="utf-8"))
    if is_history(data):  # a case history: the unit the pipeline evaluates too
        return evaluate_history_json(data, reg, lib, zone, load_regimes(regimes_dir))
    w = load_whatif(data, reg, lib, zone)
    chosen = with_options(load_regimes(regimes_dir), w.options)
    ev = evaluate(w.facts, chosen.regimes, w.previous)
    ev.notes.extend(chosen.notes)
    return ev


_options = [
    click.argument("case_file", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
    click.option("--registry", type=click.Path(exists=True, path_type=Path),
                 help="Products/studies JSON (registry_to_json form)."),
    click.option("--rsi", type=click.Path(exists=True, path_type=Path),
                 help="RSI versions, JSON list or CSV (one row per expected PT)."),
    click.option("--regimes", "regimes_dir", type=click.Path(exists=True, file_okay=False,
                 path_type=Path), help="Directory of regime TOML files (default: shipped)."),
]


def _with_options(f: F) -> F:
    for opt in reversed(_options):
        f = opt(f)
    return f


@click.group("rules")
def rules() -> None:
    """Regulatory rules: reporting obligations and their explanations."""


@rules.command("evaluate")
@_with_options
@click.option("--json", "as_json", is_flag=True,
              help="The evaluation as JSON (obligations, recommendations, notes); it can be "
                   "given back as `previous` of the next version.")
def evaluate_cmd(case_file: Path, registry: Path | None, rsi: Path | None,
                 regimes_dir: Path | None, as_json: bool) -> None:
    """What-if: obligations of CASE_FILE (a case history, or a case JSON optionally
    wrapped), nothing stored."""
    try:
        ev = _run(case_file, registry, rsi, regimes_dir)
    except ERRORS as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:  # the whole evaluation: it is the `previous` of the next what-if as it stands
        click.echo(json.dumps(ev.to_json(), indent=2))
        return
    if not ev.obligations:
        click.echo("No reporting obligations.")
    for o in ev.obligations:
        click.echo(f"{o.due.isoformat()}  {o.destination:<45} {o.report_type}  [{o.status.value}]")
    for r in ev.recommendations:
        click.echo(f"RECOMMEND {r.kind.value}: {r.destination} ({r.rule_id}): {r.reason}")
    for n in ev.notes:
        click.echo(f"note: {n}")


@rules.command("explain")
@_with_options
@click.option("--json", "as_json", is_flag=True, help="Full evaluation as JSON.")
def explain_cmd(case_file: Path, registry: Path | None, rsi: Path | None,
                regimes_dir: Path | None, as_json: bool) -> None:
    """Every obligation of CASE_FILE with its rule, citation, anchors and arithmetic."""
    try:
        ev = _run(case_file, registry, rsi, regimes_dir)
    except ERRORS as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(ev.to_json(), indent=2))
        return
    for o in ev.obligations:
        click.echo(f"== {o.destination} — {o.report_type} [{o.status.value}]")
        click.echo(o.explanation)
        click.echo("")
    for r in ev.recommendations:
        click.echo(f"== RECOMMENDATION ({r.kind.value}) — {r.destination}: {r.reason} "
                   f"[{r.citation}]")
    for n in ev.notes:
        click.echo(f"note: {n}")
    if not ev.obligations and not ev.recommendations:
        click.echo("No reporting obligations.")
