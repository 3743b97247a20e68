"""``safety dedup``: batch scan and per-report candidates, over the database or (``--input``)
a JSON-lines file of cases (``safety.dedup.files``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import click

from safety.cases.model import CaseVersionData
from safety.cli.common import database, one_sponsor, ready_settings, reindex_sponsors
from safety.dedup.files import CaseFileError, candidates_from_file, read_jsonl
from safety.dedup.matching import Candidate, MatchResult
from safety.dedup.scan import scan
from safety.dedup.scoring import Model, ModelError, load_model

ReportLoader = Callable[[], Iterable[tuple[str, CaseVersionData]]]
CandidateFinder = Callable[[str, Model], MatchResult]


def _model(weights: Path | None, threshold: float | None) -> Model:
    try:
        model = load_model(weights)
    except (ModelError, OSError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"weights: {exc}") from exc
    return model if threshold is None else model.with_threshold(threshold)


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
        try:
            result = scan(reports, _model(weights, threshold))
        except CaseFileError as exc:
            raise click.ClickException(str(exc)) from exc
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
            try:
                result = candidates_from_file(input_path, report_id, model)
            except CaseFileError as exc:
                raise click.ClickException(str(exc)) from exc
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


def _reports() -> Iterator[tuple[str, CaseVersionData]]:
    """The reports of ONE sponsor (a scan never mixes sponsors' cases)."""
    from safety.dedup.service import processed_reports

    loaded = ready_settings()
    with database(loaded) as session:
        yield from processed_reports(session, one_sponsor(session), loaded)


def _candidates(report_id: str, model: Model) -> MatchResult:
    from safety.dedup.service import report_candidates

    try:
        rid = uuid.UUID(report_id)
    except ValueError:
        raise click.ClickException(f"{report_id!r} is not a report id") from None
    loaded = ready_settings()
    with database(loaded) as session:
        result = report_candidates(session, rid, model, loaded)
    if result is None:
        raise click.ClickException(f"report {report_id} is not processed into a case")
    return result


dedup = make_group(load_reports=_reports, find_candidates=_candidates)


@dedup.command("reindex")
@click.option("--batch", type=click.IntRange(1, 100_000), default=500, show_default=True,
              help="Profiles re-indexed and committed at a time.")
def reindex_cmd(batch: int) -> None:
    """Re-index the dedup profiles stored with an older blocking-key scheme (each sponsor's,
    or those given with --sponsor), so that new reports find them again. Idempotent: a second
    run finds nothing to do. `safety db upgrade` runs it too."""
    loaded = ready_settings()
    with database(loaded) as session:
        report = reindex_sponsors(session, loaded, batch)
    click.echo(report)
