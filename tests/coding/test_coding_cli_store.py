"""CLI (click CliRunner) on a throwaway SQLite file, and release persistence on the test
database in a transaction rolled back after each test."""

from __future__ import annotations

import json
import shutil

import click
import pytest
from click.testing import CliRunner
from factories.coding import FIXTURES, later_release
from factories.sponsors import DEFAULT_ID, make_sponsor
from sqlalchemy import create_engine

from safety.cases.model import CodedTerm
from safety.cli import main
from safety.coding import store
from safety.coding.autocoder import Autocoder, Thresholds
from safety.coding.meddra_ascii import load_meddra_ascii
from safety.coding.recode import recode, release_diff
from safety.db.base import Base
from safety.dedup.store import DedupProfile
from safety.package_data import BUNDLED_DICTIONARIES

KEYS = ["verbatim", "code", "term", "level", "pt_code", "pt_term", "soc_code", "score",
        "method", "auto", "candidates"]


@pytest.fixture()
def cli(monkeypatch: pytest.MonkeyPatch) -> click.Group:
    # Lexical: these tests are about the command, not the model (tests/coding/
    # test_coding_semantic.py runs the semantic mode on a small dictionary).
    monkeypatch.setenv("SAFETY_SEMANTIC_CODING", "off")
    return main


def test_code_events_reads_lines_and_writes_json_lines(cli):
    result = CliRunner().invoke(cli, ["code", "events"], input="threw up blood\n\nfelt off\n")
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert [list(x) for x in lines] == [KEYS, KEYS]
    assert "safety code events: mode lexical" in result.stderr
    assert lines[0]["pt_code"] == "10018830" and lines[0]["auto"] is True
    assert lines[1]["verbatim"] == "felt off" and lines[1]["auto"] is False


def test_code_keeps_its_built_autocoder_and_rebuilds_it_for_a_changed_dictionary(tmp_path):
    """Issue 20: ``safety code`` starts from a cached autocoder; a dictionary that changed
    (or new code) is built afresh, and the answers are those of a freshly built one."""
    import shutil

    from safety.coding.bundled import bundled_autocoder, cached_autocoder
    from safety.package_data import BUNDLED_DICTIONARIES

    folder = tmp_path / "dictionary"
    shutil.copytree(BUNDLED_DICTIONARIES, folder)
    cache = tmp_path / "cache"
    built = cached_autocoder("events", folder, cache)
    files = list(cache.glob("autocoder-events-*.pickle"))
    assert len(files) == 1
    again = cached_autocoder("events", folder, cache)
    assert again is not built  # read back from the cache, not this process's memory
    fresh = bundled_autocoder("events", folder)
    for verbatim in ("threw up blood", "felt off", "headache"):
        assert again.code(verbatim).to_line() == fresh.code(verbatim).to_line()
    some = next(p for p in sorted(folder.rglob("*")) if p.is_file())
    some.write_bytes(some.read_bytes() + b"\n")
    cached_autocoder("events", folder, cache)
    assert list(cache.glob("autocoder-events-*.pickle")) != files  # another key, old one gone
    assert len(list(cache.glob("autocoder-events-*.pickle"))) == 1
    next(iter(cache.glob("autocoder-events-*.pickle"))).write_bytes(b"garbage")
    assert cached_autocoder("events", folder, cache).code("headache").code == "10019211"


def test_code_drugs_gives_unii_and_substance(cli):
    result = CliRunner().invoke(cli, ["code", "drugs"], input="Tylenol 500mg tab\n")
    line = json.loads(result.stdout)
    assert (line["code"], line["term"], line["level"]) == ("362O9ITL9D", "ACETAMINOPHEN",
                                                           "substance")
    assert line["pt_code"] is None and line["soc_code"] is None


def test_code_events_uses_the_configured_dictionary_folder(cli, tmp_path):
    """SAFETY_DICTIONARIES replaces the bundled folder, its curation lists included."""
    mine = tmp_path / "dictionaries"
    shutil.copytree(BUNDLED_DICTIONARIES, mine, ignore=shutil.ignore_patterns("__pycache__"))
    with (mine / "curation" / "non_events.txt").open("a", encoding="utf-8") as fh:
        fh.write("felt off\n")
    runner = CliRunner()
    bundled = json.loads(runner.invoke(cli, ["code", "events"], input="felt off\n").stdout)
    result = runner.invoke(cli, ["code", "events"], input="felt off\n",
                           env={"SAFETY_DICTIONARIES": str(mine)})
    assert result.exit_code == 0, result.output
    assert bundled["method"] != "non_event"
    assert json.loads(result.stdout)["method"] == "non_event"
    missing = runner.invoke(cli, ["code", "events"], input="x\n",
                            env={"SAFETY_DICTIONARIES": str(tmp_path / "nowhere")})
    assert missing.exit_code == 2 and "SAFETY_DICTIONARIES" in missing.output


def test_code_events_against_a_meddra_folder(cli):
    result = CliRunner().invoke(
        cli, ["code", "events", "--dictionary", str(FIXTURES / "MedAscii")],
        input="Head hurting\n",
    )
    line = json.loads(result.stdout)
    assert (line["code"], line["pt_code"], line["soc_code"]) == ("95000001", "94000001",
                                                                 "91000001")


@pytest.fixture()
def db_url(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'coding.db'}"
    engine = create_engine(url)
    # the dedup profiles too: activating a release marks them for re-indexing
    Base.metadata.create_all(engine, tables=[*store.TABLES, DedupProfile.__table__])
    engine.dispose()
    monkeypatch.setenv("SAFETY_DATABASE_URL", url)
    monkeypatch.setenv("SAFETY_HOME", str(tmp_path))
    return url


def test_dictionary_load_and_list(cli, db_url):
    runner = CliRunner()
    loaded = runner.invoke(cli, ["dictionary", "load", str(FIXTURES / "MedAscii")])
    assert loaded.exit_code == 0, loaded.output
    assert "MedDRA 99.0 (active)" in loaded.output
    ime = runner.invoke(cli, ["dictionary", "load", str(FIXTURES / "ime.csv")])
    assert "IME: 1 PTs attached to MedDRA 99.0" in ime.output
    listed = runner.invoke(cli, ["dictionary", "list"])
    assert listed.output.startswith("* MedDRA 99.0 English")


def test_dictionary_load_rejects_unknown_folder(cli, db_url, tmp_path):
    empty = tmp_path / "nothing"
    empty.mkdir()
    result = CliRunner().invoke(cli, ["dictionary", "load", str(empty)])
    assert result.exit_code != 0 and "not a MedAscii folder" in result.output


def test_dictionary_load_for_some_sponsors_is_refused(cli, db_url):
    """A release is every sponsor's: narrowed to one, its activation would mark only that
    sponsor's duplicate profiles for re-indexing."""
    result = CliRunner().invoke(cli, ["--sponsor", "ACME", "dictionary", "load",
                                      str(FIXTURES / "MedAscii")])
    assert result.exit_code == 2 and "without --sponsor" in result.output
    listed = CliRunner().invoke(cli, ["dictionary", "list"])
    assert "MedDRA 99.0" not in listed.output


def test_release_round_trips_and_one_is_active_per_family(db_session):
    session = db_session
    terms = load_meddra_ascii(FIXTURES / "MedAscii")
    first = store.save(session, terms)
    again = store.save(session, terms)
    assert first == again
    second_terms = load_meddra_ascii(FIXTURES / "MedAscii")
    second_terms.release = type(terms.release)("MedDRA", "99.1", "English", "other")
    second = store.save(session, second_terms)
    session.commit()
    assert store.active_release(session, "MedDRA").id == second
    store.set_active(session, first)
    assert store.active_release(session, "MedDRA").id == first
    back = store.read(session, first)
    assert back.counts() == terms.counts()
    assert back.rollup("95000004").soc.code == "91000001"
    assert back.get("LLT", "95000002").current is False
    assert back.memberships == terms.memberships


def test_team_synonym_must_target_an_existing_concept(db_session):
    store.save(db_session, load_meddra_ascii(FIXTURES / "MedAscii"))
    row = store.add_team_synonym(db_session, "MedDRA", "skull ache", "95000001", "LLT",
                                 "dr.x", "confirmed on case 1", DEFAULT_ID)
    assert row.origin == "team"
    with pytest.raises(ValueError, match="LLT 99999999 does not exist"):
        store.add_team_synonym(db_session, "MedDRA", "x", "99999999", "LLT", "dr.x", "r",
                               DEFAULT_ID)


def test_a_team_synonym_codes_only_its_own_sponsors_cases(db_session):
    release = store.save(db_session, load_meddra_ascii(FIXTURES / "MedAscii"))
    other = make_sponsor(db_session, "OTHER")
    store.add_team_synonym(db_session, "MedDRA", "noggin throb", "95000001", "LLT",
                           "dr.x", "confirmed on case 1", DEFAULT_ID)
    mine = store.read(db_session, release, DEFAULT_ID)
    theirs = store.read(db_session, release, other.id)
    assert "noggin throb" in {s.text for s in mine.synonyms}
    assert "noggin throb" not in {s.text for s in theirs.synonyms}


def test_the_bundled_open_dictionary_loads_into_the_database_for_every_sponsor(db_session):
    """Regression: its curated synonym table was stored as team synonyms of no sponsor, which
    the database refuses (a team synonym is one sponsor's), so loading the bundled dictionary
    (``safety dictionary load dictionaries/``) failed on every database since sponsors came."""
    from safety.coding.open_dictionary import load_open_dictionary

    events, drugs = load_open_dictionary(BUNDLED_DICTIONARIES)
    release = store.save(db_session, events)
    store.save(db_session, drugs)
    other = make_sponsor(db_session, "OTHER").id
    for sponsor in (DEFAULT_ID, other):
        held = store.read(db_session, release, sponsor)
        assert "threw up blood" in {s.text for s in held.synonyms}


def test_a_team_synonym_codes_at_once_in_a_process_that_already_coded(db_session):
    """Regression: the autocoder was cached per release and sponsor for the life of the
    process, so a synonym the team added was ignored by the web app and the worker until they
    restarted; the cache now follows the sponsor's synonyms (and never another's)."""
    store.save(db_session, load_meddra_ascii(FIXTURES / "MedAscii"))
    other = make_sponsor(db_session, "OTHER").id
    before = store.active_autocoder(db_session, "events", BUNDLED_DICTIONARIES, DEFAULT_ID)
    assert before.code("noggin throb").code != "95000001"
    store.add_team_synonym(db_session, "MedDRA", "noggin throb", "95000001", "LLT",
                           "dr.x", "confirmed on case 1", DEFAULT_ID)
    mine = store.active_autocoder(db_session, "events", BUNDLED_DICTIONARIES, DEFAULT_ID)
    assert mine.code("noggin throb").code == "95000001"
    theirs = store.active_autocoder(db_session, "events", BUNDLED_DICTIONARIES, other)
    assert theirs.code("noggin throb").code != "95000001"


def test_recode_reports_retired_and_moved_terms(tmp_path):
    old = load_meddra_ascii(FIXTURES / "MedAscii")
    # 95000001 "Head hurting" retired; 95000004 "Headache from vessel spasm" moved to PT 94000001
    new = load_meddra_ascii(later_release(tmp_path, "99.1", retire=("95000001",),
                                          move={"95000004": "94000001"}))
    assert new.release.version == "99.1"
    diff = release_diff(old, new)
    assert diff.retired == ["95000001"]
    assert diff.moved == [("95000004", "94000003", "94000001")]

    coder_old = Autocoder(old, "events", Thresholds())
    coded = [coder_old.code(v).to_coded_term() for v in
             ("head hurting", "headache from vessel spasm", "queasiness")]
    changes = recode(coded, new, Autocoder(new, "events", Thresholds()))
    by_verbatim = {c.verbatim: c for c in changes}
    assert set(by_verbatim) == {"head hurting", "headache from vessel spasm"}
    assert by_verbatim["head hurting"].reason == "retired"
    assert by_verbatim["head hurting"].new.code != "95000001"
    moved = by_verbatim["headache from vessel spasm"]
    assert (moved.reason, moved.old.pt_code, moved.new.pt_code) == ("moved", "94000003",
                                                                    "94000001")
    assert moved.new.verbatim == "headache from vessel spasm"
    assert isinstance(moved.old, CodedTerm) and moved.new.version == "99.1"


def test_terminology_objects_read_back_from_a_pickle_are_the_same():
    """Issue 20: the built autocoder's objects are unpickled by their constructors (faster
    than dataclasses' ``__setstate__``); every field, defaults and None included, survives."""
    import pickle

    from safety.coding.index import Entry
    from safety.coding.terminology import Concept, Edge, Synonym

    for obj in (Concept("10019211", "Headache", "PT"),
                Concept("10000001", "Old term", "LLT", False, "OT"),
                Synonym("sick", "10028813", "LLT", "curated", False, "user:x", "lay"),
                Edge(("llt", "1"), ("pt", "2"), False),
                Entry("headache", "10019211", "name", True)):
        for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
            back = pickle.loads(pickle.dumps(obj, protocol=protocol))
            assert back == obj and type(back) is type(obj)
