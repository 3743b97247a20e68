from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from factories.dedup import make_case
from hypothesis import given, settings
from hypothesis import strategies as st

from safety.cases.codec import case_to_json
from safety.cli.dedup import make_group
from safety.dedup.matching import MemoryIndex, match_report
from safety.dedup.scan import VETO, average_link, scan
from safety.dedup.scoring import load_model

MODEL = load_model()


def _reports() -> list[tuple[str, object]]:
    original = make_case(report_id="FR-ACME-2024-000001")
    followup = make_case(report_id="fr-acme-2024-000001 ", onset="2024-02-10", weight=69.0)
    duplicate = make_case(sender="Borealis", report_id="B-9", initials="SJ", birth=None, age=53,
                          drugs=["coumadin"], reporter=("C.", "Martin", "1"))
    other = make_case(report_id="FR-ACME-2024-000002", initials="KL", birth="1950-01-01",
                      sex="1", weight=90.0, onset="2024-06-01", events=["rash"],
                      drugs=["ibuprofen"], reporter=("Paul", "Roux", "3"))
    return [("r1", original), ("r2", followup), ("r3", duplicate), ("r4", other)]


def test_scan_links_followups_and_duplicates() -> None:
    result = scan(_reports(), MODEL)  # type: ignore[arg-type]
    rows = {(lk.report_a, lk.report_b, lk.relation) for lk in result.links}
    assert ("r1", "r2", "followup") in rows
    assert ("r1", "r3", "duplicate") in rows
    assert not any("r4" in (a, b) for a, b, _ in rows)
    assert [c.reports for c in result.cases] == [["r1", "r2"], ["r3"], ["r4"]]


def test_average_link_does_not_chain_a_literature_series() -> None:
    """Patients A and C of one series both look like B, but A against C is clearly different."""
    scores = {(0, 1): 0.95, (1, 2): 0.9, (0, 2): 0.01}
    assert average_link(3, scores, 0.5) == [[0, 1]]


def test_average_link_keeps_a_group_whose_one_pair_is_just_under_the_threshold() -> None:
    """Site form, partner E2B and a faxed copy: the fax lacks the birth date, so fax against
    site scores 0.4; complete-link split the group, the pipeline would suggest all three."""
    scores = {(0, 1): 0.98, (1, 2): 0.9, (0, 2): 0.4}
    assert average_link(3, scores, 0.5) == [[0, 1, 2]]


@settings(deadline=None, max_examples=50)
@given(st.dictionaries(st.tuples(st.integers(0, 7), st.integers(0, 7))
                       .filter(lambda p: p[0] < p[1]).map(tuple), st.floats(0, 1), max_size=20),
       st.floats(0.05, 0.95))
def test_average_link_groups_hold_no_vetoed_pair_and_average_above_threshold(
        scores: dict, t: float) -> None:
    for cluster in average_link(8, scores, t):
        inside = [s for (a, b), s in scores.items() if a in cluster and b in cluster]
        assert min(inside) >= VETO
        assert max(inside) >= t


def test_match_report_followup_short_circuits_scoring() -> None:
    index = MemoryIndex()
    index.add("c1", make_case())
    res = match_report(make_case(weight=70.0), id_lookup=index.id_lookup,
                       key_lookup=index.key_lookup, model=MODEL)
    assert res.followup is not None and res.followup.case_id == "c1"
    assert res.candidates == []


def test_match_report_offers_explained_candidates_and_honours_rejections() -> None:
    index = MemoryIndex()
    index.add("c1", make_case())
    incoming = make_case(sender="Borealis", report_id="B-9", initials="SJ", drugs=["coumadin"])
    res = match_report(incoming, id_lookup=index.id_lookup, key_lookup=index.key_lookup,
                       model=MODEL)
    (cand,) = res.candidates
    assert cand.case_id == "c1" and cand.suspected and cand.explanation is not None
    again = match_report(incoming, id_lookup=index.id_lookup, key_lookup=index.key_lookup,
                         model=MODEL, rejected={"c1"})
    assert again.candidates == []


def test_reindexing_a_new_version_replaces_its_keys() -> None:
    index = MemoryIndex()
    index.add("c1", make_case(events=["rash"], drugs=["ibuprofen"]))
    index.add("c1", make_case())
    incoming = make_case(sender="Borealis", report_id="B-9")
    keys = match_report(incoming, id_lookup=index.id_lookup, key_lookup=index.key_lookup,
                        model=MODEL).keys
    assert [cid for cid, _ in index.key_lookup(keys)] == ["c1"]
    assert not any("SUB005" in k for k in index._keys["c1"])


def _write(tmp_path: Path) -> Path:
    path = tmp_path / "cases.jsonl"
    lines = [json.dumps({"id": rid, "case": case_to_json(case)}) for rid, case in _reports()]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cli_scan_prints_json_lines(tmp_path: Path) -> None:
    result = CliRunner().invoke(make_group(), ["scan", "--input", str(_write(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert {"report_a": "r1", "report_b": "r2", "relation": "followup", "score": 1.0} in rows
    dup = next(r for r in rows if r["relation"] == "duplicate")
    assert set(dup) == {"report_a", "report_b", "relation", "score"}


def test_cli_candidates_with_explanation(tmp_path: Path) -> None:
    path = _write(tmp_path)
    result = CliRunner().invoke(make_group(), ["candidates", "r3", "--input", str(path), "--json"])
    assert result.exit_code == 0, result.output
    first = json.loads(result.output.splitlines()[0])
    assert first["report_a"] == "r1" and first["suspected"] is True
    assert {e["field"] for e in first["explanation"]} >= {"initials", "drugs", "events"}
    fu = CliRunner().invoke(make_group(), ["candidates", "r2", "--input", str(path), "--json"])
    assert json.loads(fu.output)["relation"] == "followup"


def test_cli_uses_the_loader_when_no_file(tmp_path: Path) -> None:
    group = make_group(load_reports=lambda: _reports())  # type: ignore[arg-type, return-value]
    result = CliRunner().invoke(group, ["scan", "--json"])
    assert result.exit_code == 0 and "followup" in result.output
    bare = CliRunner().invoke(make_group(), ["scan"])
    assert bare.exit_code != 0 and "--input" in bare.output


def test_cli_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "x", "case": {"patient": {"sex": 3}}}\n')
    result = CliRunner().invoke(make_group(), ["scan", "--input", str(path)])
    assert result.exit_code != 0 and "bad.jsonl:1" in result.output and "sex" in result.output
