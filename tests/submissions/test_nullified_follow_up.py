"""A report arriving for a case already nullified."""

from __future__ import annotations

from click.testing import CliRunner
from factories.forms import sae_form
from factories.submissions import sent_initial


def test_follow_up_of_a_nullified_case_is_held_and_owes_no_report(desk):
    """Nullification is final: a later report on the case is held for a person to judge, with
    the reason, and no version (hence no obligation that could only become overdue) appears."""
    from safety.cli import main

    case_id, _ = sent_initial(desk)
    number = desk.case(case_id)["case_number"]
    res = CliRunner().invoke(main, ["submissions", "nullify", number, "--reason",
                                    "Reported in error: the subject was never enrolled"])
    assert res.exit_code == 0, res.output
    form = sae_form(report_type="followup")
    form["events"][0].update(outcome="fatal", seriousness=["hospitalisation", "death"])
    r = desk.post("/api/v1/reports", form, token=desk.site)
    assert r.status_code == 202, r.json
    desk.worker()
    status = desk.get(r.json["status_url"]).json
    assert status["status"] == "held" and status["case_id"] == case_id
    assert [f["code"] for f in status["findings"]] == ["case_nullified"]
    assert number in status["findings"][0]["message"]
    assert desk.case(case_id)["current_version"] == 1
    owed = desk.get(f"/api/v1/cases/{case_id}/obligations").json["obligations"]
    assert not [o for o in owed if o["status"] in ("open", "awaiting_unblinding")]
