"""``safety e2b validate|read|ack|sample``: file-level E2B(R3) tools that need no database.

``validate`` exits 0 only when the file is conformant for the profile (default: inferred from
the batch receiver N.1.4: ZZFDA → fda-postmarket, ZZFDA_PREMKT → fda-premarket, EVHUMAN/
EVCTMPROD → ema, otherwise ich). ``read`` prints every message as JSON (header + case in the
codec's form); ``ack`` prints an acknowledgement as JSON; ``sample`` writes the demo case.
The database-backed ``export e2b`` / ``import`` / ``ack import`` commands live with the
submissions tracker.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import click

from safety.cases.codec import case_to_json
from safety.cases.values import PartialDate
from safety.cli.common import file_settings
from safety.e2b.ack import read_ack
from safety.e2b.conformance import check
from safety.e2b.export import export_case
from safety.e2b.hl7 import HL7, E2BError, destinations, parse_xml
from safety.e2b.reader import read_batch
from safety.e2b.rules import PROFILES
from safety.e2b.sample import sample_case
from safety.e2b.writer import ExportHeader

_RECEIVER_PROFILES = {"ZZFDA": "fda-postmarket", "ZZFDA_PREMKT": "fda-premarket",
                      "EVHUMAN": "ema", "EVCTMPROD": "ema"}


def infer_profile(data: bytes) -> str:
    """The profile a batch's receiver (N.1.4) asks for."""
    try:
        root = parse_xml(data)
    except E2BError:
        return "ich"
    rid = root.find(f"{{{HL7}}}receiver/{{{HL7}}}device/{{{HL7}}}id")
    return _RECEIVER_PROFILES.get(rid.get("extension", "") if rid is not None else "", "ich")


def _plain(obj: Any) -> Any:
    if isinstance(obj, PartialDate):
        return obj.isoformat()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if getattr(obj, f.name) not in (None, [])}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj


@click.group("e2b")
def e2b_group() -> None:
    """ICH E2B(R3) files: validate, read, acknowledgements, demo export."""


@e2b_group.command("validate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--profile", type=click.Choice(PROFILES), default=None,
              help="conformance profile (default: from the batch receiver N.1.4)")
@click.option("--json", "as_json", is_flag=True, help="findings as JSON lines")
def validate(file: Path, profile: str | None, as_json: bool) -> None:
    """Check FILE; exit 0 only when conformant (warnings do not fail)."""
    loaded = file_settings()
    data = file.read_bytes()
    profile = profile or infer_profile(data)
    findings = check(data, profile, schemas=loaded.schemas_dir, xsd_dir=loaded.e2b_xsd_dir)
    for f in findings:
        if as_json:
            click.echo(json.dumps(dataclasses.asdict(f)))
        else:
            click.echo(str(f))
    errors = sum(1 for f in findings if f.severity == "error")
    click.echo(f"{file}: {errors} error(s), {len(findings) - errors} warning(s) "
               f"[profile {profile}]", err=True)
    sys.exit(1 if errors else 0)


@e2b_group.command("read")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def read(file: Path) -> None:
    """Print each message of FILE as a JSON line: {"header": ..., "case": ..., "findings":
    [...]} (what could not be read as its type: the rest of the message is read)."""
    try:
        messages = read_batch(file.read_bytes())
    except E2BError as exc:
        raise click.ClickException(str(exc)) from exc
    for m in messages:
        click.echo(json.dumps({"header": _plain(m.header), "case": case_to_json(m.case),
                               "findings": [f.as_dict() for f in m.findings]}))


@e2b_group.command("ack")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def ack(file: Path) -> None:
    """Print the acknowledgement FILE (MCCI_IN200101UV01) as JSON."""
    try:
        parsed = read_ack(file.read_bytes())
    except E2BError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(_plain(parsed)))


@e2b_group.command("sample")
@click.option("--destination", type=click.Choice(sorted(destinations())), default="ich")
@click.option("--sender", default="SAFETYDESK", help="sender identifier (N.1.3, N.2.r.2)")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def sample(destination: str, sender: str, output: Path | None) -> None:
    """Export the demo case for DESTINATION; exit 1 if it is not conformant."""
    loaded = file_settings()
    result = export_case(sample_case(), ExportHeader(sender_id=sender, destination=destination),
                         schemas=loaded.schemas_dir, xsd_dir=loaded.e2b_xsd_dir)
    if output is None:
        sys.stdout.buffer.write(result.xml)
    else:
        output.write_bytes(result.xml)
    for f in result.findings:
        click.echo(str(f), err=True)
    sys.exit(0 if result.ready else 1)
