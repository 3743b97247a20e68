"""``safety sponsor add|list|show|configure``: the sponsors a CRO works for and their settings
(stored in the database and audited, ``safety.sponsors``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from safety.cli.common import database, ready_settings, scope
from safety.sponsors.sender import SenderProfileError, load_sender_profile
from safety.sponsors.service import (
    SponsorError,
    add_sponsor,
    configure,
    find,
    show,
    sponsors,
)


@click.group("sponsor")
def sponsor() -> None:
    """The sponsors the CRO works for and their settings."""


def _sender(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        loaded = load_sender_profile(path)
    except SenderProfileError as exc:
        raise click.BadParameter(str(exc), param_hint="--sender") from exc
    if loaded is None:
        raise click.BadParameter(f"{path}: no such file", param_hint="--sender")
    return loaded.to_json()


def _gateways(values: tuple[str, ...], current: dict[str, Any]) -> dict[str, Any] | None:
    """``fda:SENDER`` or ``mhra:SENDER:BATCH_RECEIVER:MESSAGE_RECEIVER`` (``none`` removes)."""
    if not values:
        return None
    out = dict(current)
    for value in values:
        regulator, _, rest = value.partition(":")
        if rest.lower() == "none":
            out.pop(regulator.lower(), None)
            continue
        parts = rest.split(":")
        if not parts[0] or len(parts) not in (1, 3):
            raise click.BadParameter(f"{value!r}: REGULATOR:SENDER_ID or "
                                     "REGULATOR:SENDER_ID:BATCH_RECEIVER:MESSAGE_RECEIVER",
                                     param_hint="--gateway")
        out[regulator.lower()] = {"sender_id": parts[0],
                                  "batch_receiver": parts[1] if len(parts) == 3 else None,
                                  "message_receiver": parts[2] if len(parts) == 3 else None}
    return out


def _reporting(values: tuple[str, ...]) -> list[dict[str, Any]] | None:
    """``fda:ind_holder`` or ``mhra:mah:GB`` (countries comma-separated)."""
    if not values:
        return None
    out = []
    for value in values:
        regulator, capacity, *countries = value.split(":")
        out.append({"regulator": regulator.lower(), "capacity": capacity.lower(),
                    "countries": [c.upper() for c in ",".join(countries).split(",") if c]})
    return out


_options = [
    click.option("--name", help="The sponsor's name."),
    click.option("--org-code", help="Organisation part of worldwide case ids (C.1.8.1)."),
    click.option("--case-prefix", help="Prefix of its case numbers (PREFIX-2026-000001)."),
    click.option("--timezone", help="IANA zone its day 0 is counted in (e.g. Europe/Paris)."),
    click.option("--sender", type=click.Path(dir_okay=False, path_type=Path),
                 help="JSON file with its C.3 sender block (organisation, department, ...)."),
    click.option("--gateway", "gateways", multiple=True, metavar="REG:SENDER[:BATCH:MSG]",
                 help="E2B gateway ids per regulator (fda, ema, mhra, hc); repeatable."),
    click.option("--reports-to", "reporting", multiple=True, metavar="REG:CAPACITY[:CC,..]",
                 help="A regulator it reports to as ind_holder, cta_holder or mah; "
                      "repeatable (replaces the list)."),
    click.option("--partner", "partners", multiple=True, metavar="SENDER:ROLE[:NAME]",
                 help="An E2B sender (N.2.r.2) acting for it: ROLE affiliate, licence_partner "
                      "or vendor; its C.1.4/C.1.5 receipt starts the clock (ICH E2D 4.1, GVP "
                      "VI.B.7). Repeatable (replaces the list); '-' alone clears it."),
    click.option("--uk-ct-followup", type=click.Choice(["always", "if_incomplete"]),
                 help="Its reading of SI 2004/1031 reg. 33(2) as amended in 2026: the 8-day "
                      "report after every fatal/life-threatening UK SUSAR report, or only after "
                      "one filed incomplete (docs/rules.md)."),
]


def _partners(values: tuple[str, ...]) -> list[dict[str, Any]] | None:
    """``SENDER:ROLE[:NAME]`` each (``-`` alone: none); ``None``: none given."""
    if not values:
        return None
    if values == ("-",):
        return []
    out = []
    for value in values:
        sender, _, rest = value.partition(":")
        role, _, name = rest.partition(":")
        out.append({"sender": sender, "role": role.lower(), "name": name or sender})
    return out


def _rules(uk_ct_followup: str | None, current: dict[str, Any]) -> dict[str, Any] | None:
    """The sponsor's rules options with the one given changed (``None``: none given)."""
    if uk_ct_followup is None:
        return None
    return {**current, "uk_ct_followup": uk_ct_followup}


def _with_options(f: Any) -> Any:
    for option in reversed(_options):
        f = option(f)
    return f


@sponsor.command("add")
@click.argument("code")
@_with_options
@click.option("--actor", default="cli:sponsor", show_default=True)
def sponsor_add(code: str, name: str | None, org_code: str | None, case_prefix: str | None,
                timezone: str | None, sender: Path | None, gateways: tuple[str, ...],
                reporting: tuple[str, ...], partners: tuple[str, ...],
                uk_ct_followup: str | None, actor: str) -> None:
    """Add sponsor CODE (its name, organisation code and case prefix are required)."""
    if not (name and org_code and case_prefix):
        raise click.UsageError("--name, --org-code and --case-prefix are required")
    more = {k: v for k, v in {"sender": _sender(sender), "gateways": _gateways(gateways, {}),
                               "reporting": _reporting(reporting),
                               "partners": _partners(partners),
                               "rules": _rules(uk_ct_followup, {})}.items() if v is not None}
    try:
        with database(ready_settings()) as session:
            added = add_sponsor(session, code=code, name=name, org_code=org_code,
                                case_prefix=case_prefix, timezone=timezone or "UTC",
                                actor=actor, **more)
            out = show(added)
    except SponsorError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(json.dumps(out))


@sponsor.command("list")
def sponsor_list() -> None:
    """One JSON line per sponsor (those given with --sponsor, else all)."""
    with database(ready_settings()) as session:
        rows = [show(s) for s in sponsors(session, scope(session).sponsor_ids)]
    for row in rows:
        click.echo(json.dumps({k: row[k] for k in ("code", "name", "org_code", "case_prefix",
                                                   "timezone")}))


@sponsor.command("show")
@click.argument("code")
def sponsor_show(code: str) -> None:
    """Every setting of sponsor CODE, as JSON."""
    try:
        with database(ready_settings()) as session:
            out = show(_visible(session, code))
    except SponsorError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(json.dumps(out, indent=2))


@sponsor.command("configure")
@click.argument("code")
@_with_options
@click.option("--reason", help="Why (kept in the audit trail).")
@click.option("--actor", default="cli:sponsor", show_default=True)
def sponsor_configure(code: str, name: str | None, org_code: str | None,
                      case_prefix: str | None, timezone: str | None, sender: Path | None,
                      gateways: tuple[str, ...], reporting: tuple[str, ...],
                      partners: tuple[str, ...], uk_ct_followup: str | None,
                      reason: str | None, actor: str) -> None:
    """Change settings of sponsor CODE; prints what changed (audited field by field)."""
    try:
        with database(ready_settings()) as session:
            target = _visible(session, code)
            changes = {k: v for k, v in {
                "name": name, "org_code": org_code, "case_prefix": case_prefix,
                "timezone": timezone, "sender": _sender(sender),
                "gateways": _gateways(gateways, target.gateways or {}),
                "reporting": _reporting(reporting), "partners": _partners(partners),
                "rules": _rules(uk_ct_followup, target.rules or {})}.items() if v is not None}
            done = configure(session, target, changes, actor=actor, reason=reason)
    except SponsorError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(json.dumps(done, default=str))


def _visible(session: Any, code: str) -> Any:
    found = find(session, code)
    ids = scope(session).sponsor_ids
    if ids is not None and found.id not in ids:
        raise SponsorError(f"no sponsor {code.strip().upper()!r}")
    return found
