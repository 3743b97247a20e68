"""``safety e2b ...`` commands (file-level, no database)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from factories.e2b import DATA, EXAMPLES, example

from safety.cli.e2b import e2b_group, infer_profile


def test_validate_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(e2b_group, ["validate", str(DATA / "FAERS2022Scenario3.xml")])
    assert ok.exit_code == 0, ok.output
    wrong = runner.invoke(e2b_group, ["validate", str(DATA / "FAERS2022Scenario3.xml"),
                                      "--profile", "fda-postmarket"])
    assert wrong.exit_code == 1 and "N.1.4" in wrong.output
    bad = tmp_path / "bad.xml"
    bad.write_bytes(example("FAERS2022Scenario1.xml").replace(b'value="20010615"',
                                                              b'value="2001-06-15"'))
    res = runner.invoke(e2b_group, ["validate", str(bad), "--json"])
    assert res.exit_code == 1
    lines = [json.loads(x) for x in res.output.splitlines() if x.startswith("{")]
    assert {"element": "D.2.1", "rule": "date-format"}.items() <= lines[0].items()


def test_profile_is_inferred_from_the_batch_receiver() -> None:
    for name, profile in EXAMPLES.items():
        assert infer_profile(example(name)) == profile


def test_read_ack_and_sample(tmp_path: Path) -> None:
    runner = CliRunner()
    read = runner.invoke(e2b_group, ["read", str(DATA / "FAERS2022Scenario7.xml")])
    assert read.exit_code == 0
    msg = json.loads(read.output.splitlines()[0])
    assert msg["header"]["batch_receiver"] == "ZZFDA"
    assert msg["case"]["drugs"][0]["fda_devices"][0]["malfunction"] is True
    ack = runner.invoke(e2b_group, ["ack", str(DATA / "FDA_R3ack-positive.xml")])
    assert json.loads(ack.output)["code"] == "AA"
    out = tmp_path / "demo.xml"
    sample = runner.invoke(e2b_group, ["sample", "--destination", "ema", "-o", str(out)])
    assert sample.exit_code == 0, sample.output
    again = runner.invoke(e2b_group, ["validate", str(out)])
    assert again.exit_code == 0 and "profile ema" in again.output
    broken = runner.invoke(e2b_group, ["read", str(DATA / "FDA_R3ack-positive.xml")])
    assert broken.exit_code != 0 and "MCCI_IN200100UV01" in broken.output
