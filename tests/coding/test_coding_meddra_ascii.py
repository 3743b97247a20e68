"""The MedDRA ASCII loader on an invented fixture release (no MedDRA content)."""

from __future__ import annotations

import pytest
from factories.coding import FIXTURES, medascii_copy
from hypothesis import given
from hypothesis import strategies as st

from safety.coding.autocoder import Autocoder, Thresholds
from safety.coding.loading import detect
from safety.coding.meddra_ascii import load_meddra_ascii, read_records
from safety.coding.terminology import TerminologyError


def test_release_identity(fixture_meddra):
    release = fixture_meddra.release
    assert (release.family, release.version, release.language) == ("MedDRA", "99.0", "English")
    assert len(release.checksum) == 64


def test_llt_rolls_up_to_pt_hlt_hlgt_and_primary_soc(fixture_meddra):
    up = fixture_meddra.rollup("95000001")
    assert up.llt.name == "Head hurting"
    assert (up.pt.code, up.hlt.code, up.hlgt.code, up.soc.code) == (
        "94000001", "93000001", "92000001", "91000001",
    )
    assert up.soc.abbrev == "Fnerv"


def test_pt_with_secondary_soc_rolls_up_to_primary_only(fixture_meddra):
    assert fixture_meddra.socs_of_pt("94000003") == [("91000001", True), ("91000003", False)]
    up = fixture_meddra.rollup("95000004")
    assert up.pt.code == "94000003"
    assert up.soc.code == "91000001"
    assert up.hlt.code == "93000001"


def test_secondary_path_listed_first_in_file_does_not_win(fixture_meddra):
    # 94000001 has a secondary path in 91000002; the primary flag decides, not file order.
    assert fixture_meddra.rollup("94000001", "PT").soc.code == "91000001"


def test_non_current_llt_is_loaded_but_never_chosen(fixture_meddra):
    old = fixture_meddra.get("LLT", "95000002")
    assert old is not None and old.current is False
    assert fixture_meddra.rollup("95000002").pt.code == "94000001"
    coder = Autocoder(fixture_meddra, "events", Thresholds())
    result = coder.code("Cephalic pain old wording")
    assert result.code != "95000002"
    assert all(c.code != "95000002" for c in result.candidates)


def test_current_llt_codes_exactly_with_rollup(fixture_meddra):
    coder = Autocoder(fixture_meddra, "events", Thresholds())
    result = coder.code("head hurting")
    assert (result.code, result.method, result.auto) == ("95000001", "exact", True)
    assert (result.pt_code, result.soc_code) == ("94000001", "91000001")


def test_smq_and_release_files_are_read(fixture_meddra):
    smq = fixture_meddra.memberships["SMQ 96000001 Fixture headache SMQ"]
    assert smq == {"94000001", "94000003"}


def test_detect_picks_meddra_for_the_folder_and_its_parent():
    assert detect(FIXTURES / "MedAscii") == "meddra"
    assert detect(FIXTURES) == "meddra"


def test_record_without_terminator_is_rejected_with_its_line(tmp_path):
    folder = medascii_copy(tmp_path)
    (folder / "pt.asc").write_text("94000001$Cephalic pain$$91000001\n")
    with pytest.raises(TerminologyError, match=r"pt.asc line 1: record does not end"):
        load_meddra_ascii(folder)


def test_bad_currency_flag_is_rejected(tmp_path):
    folder = medascii_copy(tmp_path)
    text = (folder / "llt.asc").read_text().replace("$Y$$\n", "$X$$\n", 1)
    (folder / "llt.asc").write_text(text)
    with pytest.raises(TerminologyError, match="llt_currency 'X'"):
        load_meddra_ascii(folder)


def test_code_that_is_not_8_digits_is_rejected(tmp_path):
    folder = medascii_copy(tmp_path)
    (folder / "soc.asc").write_text("9100001$Short code$Sc$$$$$$$$\n")
    with pytest.raises(TerminologyError, match="not 8 digits"):
        load_meddra_ascii(folder)


def test_primary_flag_must_agree_with_pt_soc_code(tmp_path):
    folder = medascii_copy(tmp_path)
    text = (folder / "mdhier.asc").read_text()
    (folder / "mdhier.asc").write_text(text.replace("$Fgut$$91000001$N$", "$Fgut$$91000001$Y$"))
    with pytest.raises(TerminologyError, match="primary_soc_fg disagrees"):
        load_meddra_ascii(folder)


field_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="$\r\n\x1c\x1d\x1e\x85\u2028\u2029\x0b\x0c",
    ),
    max_size=20,
)


@given(st.lists(st.lists(field_text, min_size=2, max_size=12), min_size=1, max_size=20))
def test_read_records_round_trips_dollar_records(tmp_path_factory, records):
    path = tmp_path_factory.mktemp("asc") / "x.asc"
    path.write_text("".join("$".join(r) + "$\n" for r in records), encoding="utf-8")
    assert read_records(path, 2) == records
