"""End to end: case JSON (plain or wrapped) → facts → obligations, through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from safety.cases.codec import case_from_json, case_to_json
from safety.cli.rules import rules
from safety.rules.obligations import obligation_from_json
from safety.rules.whatif import WhatIfError, load_whatif

DEMO = Path(__file__).parents[2] / "safety" / "rules" / "examples" / "demo_case.json"


def _demo() -> dict:
    return json.loads(DEMO.read_text())


def _obs(res) -> list:
    """The obligations of ``evaluate --json`` (the whole evaluation is printed)."""
    assert res.exit_code == 0, res.output
    return json.loads(res.output)["obligations"]


def _run(tmp_path, data, *args, env=None):
    p = tmp_path / "case.json"
    p.write_text(json.dumps(data))
    return CliRunner().invoke(rules, [*args, str(p)], env=env)


def test_evaluate_json_lists_obligations_with_required_keys(tmp_path):
    res = _run(tmp_path, _demo(), "evaluate", "--json")
    assert res.exit_code == 0, res.output
    out = _obs(res)
    assert {o["regime"] for o in out} == {"eu-ctr", "uk-ct", "hc-ct"}
    for o in out:
        assert {"destination", "regime", "report_type", "day0", "due", "rule",
                "citation"} <= set(o)
        # received 2026-02-27 23:30 New York = 2026-02-28 04:30 UTC = 2026-02-28 in London
        assert o["day0"] == "2026-02-28" and o["due"] == "2026-03-15"


def test_sponsor_upgrade_adds_fda_with_determination_anchor(tmp_path):
    data = _demo()
    drug = data["case"]["drugs"][0]
    drug["reactions"][0]["assessments"][1]["result"] = "Possible"
    out = _obs(_run(tmp_path, data, "evaluate", "--json"))
    fda = next(o for o in out if o["regime"] == "fda-ind")
    assert (fda["rule"], fda["day0"], fda["due"]) == ("fda-ind-15day", "2026-03-02", "2026-03-17")


def test_new_york_zone_keeps_the_calendar_day(tmp_path):
    data = _demo() | {"timezone": "America/New_York"}
    out = _obs(_run(tmp_path, data, "evaluate", "--json"))
    assert {o["day0"] for o in out} == {"2026-02-27"}


def test_the_configured_zone_applies_when_the_file_names_none(tmp_path):
    data = _demo()
    data.pop("timezone", None)
    out = _obs(_run(tmp_path, data, "evaluate", "--json",
                          env={"SAFETY_TIMEZONE": "America/New_York"}))
    assert {o["day0"] for o in out} == {"2026-02-27"}
    out = _obs(_run(tmp_path, data, "evaluate", "--json",
                          env={"SAFETY_TIMEZONE": "Europe/London"}))
    assert {o["day0"] for o in out} == {"2026-02-28"}


def test_a_bad_configured_zone_is_a_usage_error(tmp_path):
    res = _run(tmp_path, _demo(), "evaluate", env={"SAFETY_TIMEZONE": "Mars/Olympus"})
    assert res.exit_code == 2 and "SAFETY_TIMEZONE 'Mars/Olympus'" in res.output


def test_explain_prints_arithmetic_and_ime_note(tmp_path):
    res = _run(tmp_path, _demo(), "explain")
    assert res.exit_code == 0, res.output
    assert ("Due 2026-03-15 = day 0 2026-02-28 (organisation first received a valid case, "
            "Europe/London) + 15 calendar days, Regulation (EU) No 536/2014 Art. 42(2)(b)"
            in res.output)
    assert "IME" in res.output and "sponsor may not downgrade" in res.output


def test_blinded_study_then_unblinded_to_placebo(tmp_path):
    data = _demo()
    data["registry"]["studies"][0]["blinded"] = True
    out = _obs(_run(tmp_path, data, "evaluate", "--json"))
    assert out and {o["status"] for o in out} == {"awaiting_unblinding"}
    data["unblinded_arm"] = "placebo"
    assert _obs(_run(tmp_path, data, "evaluate", "--json")) == []
    data["unblinded_arm"] = "SDX-101"
    out = _obs(_run(tmp_path, data, "evaluate", "--json"))
    assert out and {o["status"] for o in out} == {"open"}


def test_plain_case_json_uses_c14_and_has_no_registry(tmp_path):
    res = _run(tmp_path, _demo()["case"], "evaluate", "--json")
    assert res.exit_code == 0 and _obs(res) == []


def test_previous_obligations_drive_followup(tmp_path):
    data = _demo()
    first = _obs(_run(tmp_path, data, "explain", "--json"))
    prev = [o | {"status": "submitted", "submitted_on": "2026-03-05"} for o in first]
    data["case"]["reactions"][0]["outcome"] = "5"
    data |= {"version": 2, "followup": "significant", "previous": prev,
             "anchors": {"significant_followup": "2026-03-10", "fatal_lt_awareness": "2026-03-10"}}
    out = _obs(_run(tmp_path, data, "evaluate", "--json"))
    eu = {(o["rule"], o["due"]) for o in out if o["regime"] == "eu-ctr"}
    assert ("eu-ctr-susar-7", "2026-03-17") in eu


def test_a_previous_obligations_basis_must_be_a_list(tmp_path):
    """A string basis used to be read as its characters, a number failed with a TypeError
    that named no key."""
    first = _obs(_run(tmp_path, _demo(), "explain", "--json"))[0]
    assert first["basis"] and obligation_from_json(first).basis == tuple(first["basis"])
    assert obligation_from_json(first | {"basis": None}).basis == ()
    for bad in ("IB", 7):
        with pytest.raises(ValueError, match=r"previous\[0\]\.basis: expected a list"):
            obligation_from_json(first | {"basis": bad}, "previous[0]")


def test_round_trip_and_errors_name_the_key():
    case = case_from_json(_demo()["case"])
    assert case_to_json(case) == _demo()["case"]
    with pytest.raises(WhatIfError, match="followup"):
        load_whatif(_demo() | {"followup": "maybe"})
    with pytest.raises(WhatIfError, match=r"anchors\.first_receipt"):
        load_whatif(_demo() | {"anchors": {"first_receipt": "2026-02"}})


def test_cli_reports_bad_input_as_click_error(tmp_path):
    res = _run(tmp_path, {"case": {"admin": {"report_type": 2}}}, "evaluate", "--json")
    assert res.exit_code != 0 and "report_type" in res.output


def test_naranjo_questionnaire_in_wrapper_upgrades_sponsor_view(tmp_path):
    data = _demo()
    # sponsor said "Unlikely"; a sponsor Naranjo questionnaire scoring 6 (probable) is added
    data["assessments"] = [{"reaction_id": "r-1", "drug_id": "d-1", "source": "Sponsor",
                            "naranjo": ["yes", "yes", "yes", "unknown", "no", "unknown",
                                        "unknown", "unknown", "unknown", "unknown"]}]
    res = _run(tmp_path, data, "explain")
    assert "Naranjo 6 (probable)" in res.output
    out = _obs(_run(tmp_path, data, "evaluate", "--json"))
    assert "fda-ind" in {o["regime"] for o in out}


def test_bad_naranjo_answers_named(tmp_path):
    data = _demo()
    data["assessments"] = [{"reaction_id": "r-1", "drug_id": "d-1", "source": "Sponsor",
                            "naranjo": ["yes"]}]
    res = _run(tmp_path, data, "evaluate", "--json")
    assert res.exit_code != 0 and "assessments[0].naranjo" in res.output


def test_evaluate_json_round_trips_as_previous_and_keeps_notes(tmp_path):
    """Issue #15 item 8: the --json output of one evaluation is the `previous` of the next.
    Without `days` and `group` a previous 15-day SUSAR read as a 0-day one and the upgrade to
    fatal (Regulation (EU) No 536/2014 Art. 42(2)(c): 7 days from awareness of the fatal
    outcome) was lost."""
    v1 = _run(tmp_path, _demo(), "evaluate", "--json")
    assert v1.exit_code == 0, v1.output
    out = json.loads(v1.output)
    assert {"obligations", "notes", "recommendations"} <= set(out)
    assert all({"days", "group", "day0", "due"} <= set(o) for o in out["obligations"])
    assert any("IME" in n for n in out["notes"])
    data = _demo()
    data["case"]["reactions"][0]["outcome"] = "5"
    data |= {"version": 2, "followup": "significant", "previous": out,
             "anchors": {"significant_followup": "2026-03-03", "fatal_lt_awareness": "2026-03-03"}}
    v2 = json.loads(_run(tmp_path, data, "evaluate", "--json").output)
    eu = {(o["rule"], o["due"], o["status"]) for o in v2["obligations"] if o["regime"] == "eu-ctr"}
    assert ("eu-ctr-susar-7", "2026-03-10", "open") in eu
    assert ("eu-ctr-susar-15", "2026-03-15", "superseded") in eu


def test_rules_evaluate_imports_no_database_stack():
    """Issue #15 item 8: the what-if command touches no database, so it must not pay for
    importing SQLAlchemy, Alembic or Flask at start-up (the cold start it took: 1-2 s)."""
    code = ("import sys\n"
            "from safety.cli import main\n"
            f"main(['rules', 'evaluate', {str(DEMO)!r}, '--json'], standalone_mode=False)\n"
            "heavy = sorted(m for m in ('sqlalchemy', 'alembic', 'flask', 'psycopg', 'redis', 'rq',"
            " 'lxml') if m in sys.modules)\n"
            "sys.stderr.write('HEAVY=' + ','.join(heavy))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert res.stderr.strip().endswith("HEAVY=")


def test_receipts_by_party_set_day_0_through_the_cli_and_errors_name_the_field(tmp_path):
    """GVP VI.B.7: day 0 is the earliest receipt by the sponsor or anyone acting for it; the
    explanation says whose receipt it was. A receipt by someone else is a usage error naming
    the field, and receipts cannot be combined with an explicit first_receipt."""
    data = _demo()
    anchors = {k: v for k, v in data["anchors"].items() if k != "first_receipt"}
    data |= {"anchors": anchors, "receipts": [
        {"party": "PV London", "role": "sponsor", "at": "2026-03-01T09:00:00+00:00"},
        {"party": "Acme CRO", "role": "vendor", "at": "2026-02-25T23:30:00-05:00"},
    ]}
    res = _run(tmp_path, data, "evaluate", "--json")
    out = json.loads(res.output)
    assert res.exit_code == 0, res.output
    # 23:30 in New York is 04:30 on the 26th in London: day 0 is the vendor's own date, the
    # earlier one (safety.rules.day0.receipt_day; docs/decisions.md "Day 0 across time zones").
    assert {o["day0"] for o in out["obligations"]} == {"2026-02-25"}
    assert any("Acme CRO (vendor)" in n for n in out["notes"])
    bad = data | {"receipts": [{"party": "X", "role": "investigator", "at": "2026-02-25"}]}
    with pytest.raises(WhatIfError, match=r"receipts\[0\]\.role"):
        load_whatif(bad)
    with pytest.raises(WhatIfError, match="first_receipt"):
        load_whatif(data | {"anchors": anchors | {"first_receipt": "2026-02-27"}})


def test_rules_options_in_the_wrapper_apply_the_sponsors_reading_and_say_so(tmp_path):
    """SI 2004/1031 reg. 33(2) read per sponsor (docs/rules.md): the what-if takes the same
    setting as the stored sponsor, and an unknown value is refused naming the key."""
    data = _demo() | {"rules_options": {"uk_ct_followup": "if_incomplete"}}
    out = json.loads(_run(tmp_path, data, "evaluate", "--json").output)
    assert any("rules.uk_ct_followup = if_incomplete" in n for n in out["notes"])
    with pytest.raises(WhatIfError, match=r"rules_options\.uk_ct_followup"):
        load_whatif(_demo() | {"rules_options": {"uk_ct_followup": "never"}})
