"""Cases from a JSON-lines file, for the ``dedup`` commands without a database: one case per
line, ``{"id": ..., "case": {...}}`` or a bare case JSON (then the id is the line number)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from safety.cases.codec import CodecError, case_from_json
from safety.cases.model import CaseVersionData
from safety.dedup.matching import MatchResult, MemoryIndex, match_report
from safety.dedup.scan import assign_versions
from safety.dedup.scoring import Model


class CaseFileError(ValueError):
    """A line that is not a case; the message names the file, the line and the JSON path."""


def read_jsonl(path: Path) -> Iterator[tuple[str, CaseVersionData]]:
    """Reports from a JSON-lines file; errors name the line and the JSON path."""
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CaseFileError(f"{path}:{n}: not JSON ({exc.msg})") from exc
            if isinstance(data, dict) and "case" in data:
                rid, body = str(data.get("id") or data.get("report_id") or n), data["case"]
            else:
                rid, body = str(n), data
            try:
                yield rid, case_from_json(body)
            except CodecError as exc:
                raise CaseFileError(f"{path}:{n}: {exc}") from exc


def candidates_from_file(path: Path, report_id: str, model: Model) -> MatchResult:
    """Follow-up link or duplicate candidates of one report of the file, against the cases
    the file held before it arrived."""
    reports = list(read_jsonl(path))
    cases, _ = assign_versions(reports)
    by_id = dict(reports)
    if report_id not in by_id:
        raise CaseFileError(f"report {report_id!r} is not in {path}")
    own = next(c for c in cases if report_id in c.reports)
    index = MemoryIndex()
    for c in cases:
        if c is not own:
            index.add(c.case_id, by_id[c.reports[-1]])
    position = own.reports.index(report_id)
    if position > 0:  # a follow-up: its case as it stood before this report arrived
        index.add(own.case_id, by_id[own.reports[position - 1]])
    return match_report(by_id[report_id], id_lookup=index.id_lookup, key_lookup=index.key_lookup,
                        model=model)
