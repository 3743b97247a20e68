"""Open dictionary, column-mapped drug files and PT lists."""

from __future__ import annotations

import json

import pytest
from factories.coding import FIXTURES

from safety.coding.autocoder import Autocoder, Thresholds
from safety.coding.drug_columns import load_column_mapped
from safety.coding.loading import detect
from safety.coding.medical_lists import attach_list, read_pt_list
from safety.coding.open_dictionary import load_open_dictionary
from safety.coding.terminology import TerminologyError
from safety.package_data import BUNDLED_DICTIONARIES


def test_bundled_dictionary_is_consistent_and_versioned():
    events, drugs = load_open_dictionary(BUNDLED_DICTIONARIES)
    meta = json.loads((BUNDLED_DICTIONARIES / "release.json").read_text())
    assert events.release.version == meta["version"] == drugs.release.version
    assert len(list(events.at_level("SOC"))) == 27
    assert len(list(drugs.at_level("substance"))) > 4000
    team = [s for s in events.synonyms if s.origin == "curated"]
    assert team and all(s.added_by and s.reason for s in team)
    for llt in events.at_level("LLT"):
        assert events.rollup(llt.code).pt is not None, llt.code


def test_bundled_release_checksum_matches_files():
    import hashlib

    meta = json.loads((BUNDLED_DICTIONARIES / "release.json").read_text())
    for name, digest in meta["files"].items():
        data = (BUNDLED_DICTIONARIES / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, name


def test_detect_open_dictionary():
    assert detect(BUNDLED_DICTIONARIES) == "open"


def test_column_mapped_drug_file():
    terms = load_column_mapped(FIXTURES / "whodrug_style")
    assert terms.release.family == "WHODrug-test"
    assert terms.get("substance", "00000002").name == "Invented-ol hydrochloride"
    assert terms.moiety_of("00000002").code == "00000001"
    coder = Autocoder(terms, "drugs", Thresholds())
    brand = coder.code("Brandix 20 mg tablets")
    assert (brand.code, brand.method, brand.moiety_code) == ("00000001", "synonym", "00000001")


def test_column_map_must_name_code_and_name(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "MP.txt").write_text("x\n")
    (folder / "columns.json").write_text(
        json.dumps({"family": "X", "version": "1", "file": "MP.txt", "columns": {"code": [0, 1]}})
    )
    assert detect(folder) == "columns"
    with pytest.raises(TerminologyError, match=r"columns.name is required"):
        load_column_mapped(folder)


def test_pt_list_keyed_by_pt_code(fixture_meddra):
    path = FIXTURES / "ime.csv"
    assert detect(path) == "pt_list"
    assert read_pt_list(path) == {"94000003"}
    assert attach_list(fixture_meddra, path) == []
    assert fixture_meddra.memberships["IME"] == {"94000003"}


def test_pt_list_rejects_bad_codes(tmp_path):
    path = tmp_path / "dme.csv"
    path.write_text("PT Code,PT Name\n1234,Too short\n")
    with pytest.raises(TerminologyError, match=r"dme.csv line 2: PT Code '1234'"):
        read_pt_list(path)
