"""``dedup`` command group: batch scan and per-report candidates.

Both commands work over a JSON-lines file of cases (one per line: ``{"id": ..., "case": {...}}``
or a bare case JSON, then the id is the line number). Database-backed variants are built with
:func:`make_group`, passing loaders, so this module stays free of session handling.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import click

from safety.cases.codec import CodecError, case_from_json
from safety.cases.model import CaseVersionData
from safety.dedup.matching import Candidate, MatchResult, MemoryIndex, match_report
from safety.dedup.scan import assign_versions, scan
from safety.dedup.scoring import Model, ModelError, load_model

ReportLoader = Callable[[], Iterable[tuple[str, CaseVersionData]]]
CandidateFinder = Callable[[str, Model], MatchResult]


def read_jsonl(path: Path) -> Iterator[tuple[str, CaseVersionData]]:
    """Reports from a JSON-lines file; errors name the line and the JSON path."""
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise click.ClickException(f"{path}:{n}: not JSON ({exc.msg})") from exc
            if isinstance(data, dict) and "case" in data:
                rid, body = str(data.get("id") or data.get("report_id") or n), data["case"]
            else:
                rid, body = str(n), data
            try:
                yield rid, case_from_json(body)
            except CodecError as exc:
                raise click.ClickException(f"{path}:{n}: {exc}") from exc


def _model(weights: Path | None, threshold: float | None) -> Model:
    try:
        model = load_model(weights)
    except (ModelError, OSError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"weights: {exc}") from exc
    return model if threshold is None else model.with_threshold(threshold)


def _candidates_from_file(path: Path, report_id: str, model: Model) -> MatchResult:
    reports = list(read_jsonl(path))
    cases, _ = assign_versions(reports)
    by_id = dict(reports)
    if report_id not in by_id:
        raise click.ClickException(f"report {report_id!r} is not in {path}")
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


def _emit(obj: dict[str, Any], as_json: bool, text: str) -> None:
    click.echo(json.dumps(obj, sort_keys=True) if as_json else text)


def make_group(
    load_reports: ReportLoader | None = None, find_candidates: CandidateFinder | None = None
) -> click.Group:
    """The ``dedup`` group; loaders make ``scan``/``candidates`` work without ``--input``."""

    @click.group(name="dedup")
    def group() -> None:
        """Duplicate and follow-up detection."""

    input_opt = click.option("--input", "input_path", type=click.Path(
        exists=True, dir_okay=False, path_type=Path), help="JSON-lines file of cases.")
    weights_opt = click.option("--weights", type=click.Path(exists=True, dir_okay=False,
                               path_type=Path), help="Model weights (default: shipped).")
    threshold_opt = click.option("--threshold", type=click.FloatRange(0, 1),
                                 help="Duplicate probability threshold (default: the model's).")

    @group.command("scan")
    @input_opt
    @weights_opt
    @threshold_opt
    @click.option("--json", "as_json", is_flag=True, help="JSON lines output.")
    def scan_cmd(input_path: Path | None, weights: Path | None, threshold: float | None,
                 as_json: bool) -> None:
        """Follow-ups and clustered duplicate pairs over all cases."""
        if input_path is not None:
            reports: Iterable[tuple[str, CaseVersionData]] = read_jsonl(input_path)
        elif load_reports is not None:
            reports = load_reports()
        else:
            raise click.UsageError("give --input FILE (no database loader is configured)")
        result = scan(reports, _model(weights, threshold))
        for lk in result.links:
            _emit(lk.to_json(), as_json,
                  f"{lk.relation:9} {lk.score:6.3f}  {lk.report_a}  {lk.report_b}")

    @group.command("candidates")
    @click.argument("report_id")
    @input_opt
    @weights_opt
    @threshold_opt
    @click.option("--json", "as_json", is_flag=True, help="JSON lines output.")
    def candidates_cmd(report_id: str, input_path: Path | None, weights: Path | None,
                       threshold: float | None, as_json: bool) -> None:
        """Follow-up link or duplicate candidates (with explanation) of one report."""
        model = _model(weights, threshold)
        if input_path is not None:
            result = _candidates_from_file(input_path, report_id, model)
        elif find_candidates is not None:
            result = find_candidates(report_id, model)
        else:
            raise click.UsageError("give --input FILE (no database loader is configured)")
        if result.followup is not None:
            lk = result.followup
            _emit({"report_a": lk.case_id, "report_b": report_id, "relation": "followup",
                   "score": 1.0, "rule": lk.rule}, as_json,
                  f"follow-up of {lk.case_id} ({lk.rule})")
            return
        for c in result.candidates:
            _emit(_candidate_json(report_id, c), as_json,
                  f"{'SUSPECTED' if c.suspected else 'candidate':9} {c.score:6.3f}  {c.case_id}")

    return group


def _candidate_json(report_id: str, c: Candidate) -> dict[str, Any]:
    return {"report_a": c.case_id, "report_b": report_id, "relation": "duplicate",
            **{k: v for k, v in c.to_json().items() if k != "case_id"}}


dedup = make_group()
