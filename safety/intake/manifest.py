"""A migration manifest: which file came from whom, when it was first received, and what was
already reported of it (``safety import --manifest FILE``, docs/import.md).

Migrating a legacy safety database is a receipt that already happened: each report keeps the
date it was originally received (the clocks of ICH E2D(R1) 5.1 and GVP VI.B.7 count from the
day the organisation first received it, not from the day it was copied into a new system),
its original sender, and, for a case the old system already reported, the dates each
regulator was sent it. The manifest says so per file, in the order the files are imported.

Plain Python: parsed here, applied by ``safety.intake.service``.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

COLUMNS = ("path", "site", "sender", "received", "historical", "submitted")


class ManifestError(ValueError):
    """The manifest cannot be used: ``errors`` name each row and field (nothing is imported)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class ManifestEntry:
    """One file of the migration. ``received``: the original receipt (a date, or an instant
    with its offset); ``None`` for an E2B file means each message's own C.1.5. ``submitted``:
    for a historical case, the day it was submitted, by regulator (a regime id such as
    ``fda-ind`` or a destination such as ``FDA``); ``None`` for a case still to be reported."""

    row: int
    path: Path
    site: str | None = None
    sender: str | None = None
    received: date | datetime | None = None
    submitted: dict[str, date] | None = field(default=None)

    @property
    def historical(self) -> bool:
        return self.submitted is not None

    @property
    def is_xml(self) -> bool:
        return self.path.suffix.lower() == ".xml"


def parse_manifest(text: str, *, base: Path, fmt: str) -> list[ManifestEntry]:
    """The manifest's entries in its order (``fmt``: ``csv`` or ``json``), each path taken
    relative to ``base`` (the manifest's folder). :class:`ManifestError` names every bad row;
    a file named twice is refused (it would be imported twice)."""
    rows = _rows(text, fmt)
    errors: dict[str, list[str]] = {}
    out: list[ManifestEntry] = []
    seen: dict[Path, int] = {}
    for n, raw in enumerate(rows, start=1):
        where = f"row {n}"
        try:
            entry = _entry(n, raw, base)
        except ValueError as exc:
            errors.setdefault(where, []).append(str(exc))
            continue
        if entry.path in seen:
            errors.setdefault(where, []).append(
                f"path: {entry.path} is already row {seen[entry.path]}")
            continue
        seen[entry.path] = n
        out.append(entry)
    if not rows:
        errors["manifest"] = ["no rows: name at least one file"]
    if errors:
        raise ManifestError(errors)
    return out


def _rows(text: str, fmt: str) -> list[dict[str, Any]]:
    if fmt == "json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ManifestError({"manifest": [f"not readable JSON: {exc}"]}) from exc
        if isinstance(data, dict):
            data = data.get("files")
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ManifestError({"manifest": [
                "a JSON manifest is a list of objects (or {\"files\": [...]})"]})
        return data
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        unknown = [c for c in reader.fieldnames or [] if c.strip() not in COLUMNS]
        if reader.fieldnames is None or "path" not in [c.strip() for c in reader.fieldnames]:
            raise ManifestError({"manifest": [
                f"a CSV manifest starts with a header naming its columns: {', '.join(COLUMNS)}"
                " (path required)"]})
        if unknown:
            raise ManifestError({"manifest": [f"unknown columns: {', '.join(unknown)}"]})
        return [{k.strip(): (v or "").strip() for k, v in r.items() if k} for r in reader]
    raise ManifestError({"manifest": [f"format {fmt!r}: use csv or json"]})


def _entry(n: int, raw: dict[str, Any], base: Path) -> ManifestEntry:
    unknown = sorted(set(raw) - set(COLUMNS))
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(unknown)}")
    path_text = raw.get("path")
    if not isinstance(path_text, str) or not path_text:
        raise ValueError("path: required")
    path = Path(path_text)
    path = path if path.is_absolute() else base / path
    if path.suffix.lower() not in (".xml", ".json"):
        raise ValueError(f"path: {path_text}: an E2B batch (.xml) or SAE forms (.json)")
    if not path.is_file():
        raise ValueError(f"path: {path_text}: no such file")
    received = _when(raw.get("received"), "received")
    submitted = _submitted(raw.get("historical"), raw.get("submitted"))
    site = _text(raw.get("site"), "site")
    sender = _text(raw.get("sender"), "sender")
    if path.suffix.lower() == ".json" and received is None:
        raise ValueError("received: required for SAE forms (the date the site's report was "
                         "originally received)")
    if path.suffix.lower() == ".json" and site is None and sender is not None:
        site, sender = sender, None  # a form's sender is its site
    return ManifestEntry(n, path, site, sender, received, submitted)


def submission_entry(fields: dict[str, Any], *, xml: bool, name: str) -> ManifestEntry:
    """A migration client's submission (``POST /api/v1/migrations/<run>/reports``) as a
    manifest row: the same fields, the same rules (``received`` required for forms,
    ``submitted`` only and always for a historical case). :class:`ManifestError` names each
    bad field (nothing is stored)."""
    errors: dict[str, list[str]] = {}

    def field_of(exc: ValueError) -> tuple[str, str]:
        key, sep, message = str(exc).partition(": ")
        return (key, message) if sep and key in COLUMNS else ("manifest", str(exc))

    values: dict[str, Any] = {}
    for key, parse in (("received", lambda: _when(fields.get("received"), "received")),
                       ("site", lambda: _text(fields.get("site"), "site")),
                       ("sender", lambda: _text(fields.get("sender"), "sender")),
                       ("submitted", lambda: _submitted(fields.get("historical"),
                                                        fields.get("submitted")))):
        try:
            values[key] = parse()
        except ValueError as exc:
            where, message = field_of(exc)
            errors.setdefault(where, []).append(message)
    if not xml and "received" in values and values["received"] is None:
        errors.setdefault("received", []).append(
            "required for SAE forms (the date the site's report was originally received)")
    if errors:
        raise ManifestError(errors)
    site, sender = values["site"], values["sender"]
    if not xml and site is None and sender is not None:
        site, sender = sender, None  # a form's sender is its site
    suffix = ".xml" if xml else ".json"
    path = Path(name if name.lower().endswith(suffix) else name + suffix)
    return ManifestEntry(0, path, site, sender, values["received"], values["submitted"])


def _text(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name}: a text")
    if len(value) > 150:
        raise ValueError(f"{name}: at most 150 characters")
    return value


def _when(value: Any, name: str) -> date | datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name}: an ISO date (YYYY-MM-DD) or date-time with its offset")
    try:
        if "T" not in value and " " not in value.strip():
            return date.fromisoformat(value)
        instant = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {value!r} is not an ISO date or date-time") from exc
    if instant.tzinfo is None:
        raise ValueError(f"{name}: {value!r} has no offset; give one (e.g. +00:00)")
    return instant


def _submitted(historical: Any, submitted: Any) -> dict[str, date] | None:
    """``submitted`` as ``{regulator: day}`` (JSON) or ``FDA=2021-03-01;EMA=2021-03-04``
    (CSV); ``historical`` true/yes/1 requires it, false/no/0 or empty refuses it."""
    flag = historical
    if isinstance(flag, str):
        low = flag.strip().lower()
        if low in ("", "0", "no", "false", "n"):
            flag = False
        elif low in ("1", "yes", "true", "y"):
            flag = True
        else:
            raise ValueError(f"historical: {historical!r}: yes or no")
    if flag is None:
        flag = False
    if not isinstance(flag, bool):
        raise ValueError("historical: true or false")
    if not flag:
        if submitted not in (None, "", {}):
            raise ValueError("submitted: only for a historical case (historical: yes)")
        return None
    pairs: list[tuple[str, Any]]
    if isinstance(submitted, dict):
        pairs = list(submitted.items())
    elif isinstance(submitted, str):
        pairs = []
        for part in (p for p in submitted.split(";") if p.strip()):
            name, sep, day = part.partition("=")
            if not sep:
                raise ValueError(f"submitted: {part!r}: REGULATOR=YYYY-MM-DD")
            pairs.append((name.strip(), day.strip()))
    else:
        pairs = []
    if not pairs:
        raise ValueError("submitted: a historical case names the regulators it was submitted "
                         "to, each with its date (FDA=2021-03-01;EMA=2021-03-04)")
    out: dict[str, date] = {}
    for name, day in pairs:
        if not name:
            raise ValueError("submitted: a regulator's name is empty")
        try:
            out[name] = date.fromisoformat(str(day))
        except ValueError as exc:
            raise ValueError(f"submitted: {name}: {day!r} is not an ISO date") from exc
    return out


def receipt_instant(when: date | datetime, zone: ZoneInfo, position: int) -> datetime:
    """The UTC instant a report is stored as received: an instant as given; a date (the
    source gave no time) as the start of that day in the sponsor's zone, so that its calendar
    day there is the date given. ``position`` (the report's place in the import, in
    microseconds) keeps the manifest's order among reports of one day: versions of a case
    follow their receipt order."""
    step = timedelta(microseconds=position % 1_000_000)
    if isinstance(when, datetime):
        return when.astimezone(UTC) + step
    return datetime.combine(when, time(0), tzinfo=zone).astimezone(UTC) + step


def regulator_matches(name: str, regime: str, destination: str) -> bool:
    """Whether a manifest's regulator ``name`` is this regime: its id (``fda-ind``), its
    destination (``FDA``) or the destination's first word (``EMA`` for "EMA (EudraVigilance
    CT module)"), in any letter case."""
    key = name.strip().lower()
    dest = destination.strip().lower()
    return key in (regime.lower(), dest) or dest.split(" ", 1)[0] == key
