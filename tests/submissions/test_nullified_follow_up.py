"""A report arriving for a case already nullified."""

from __future__ import annotations

from click.testing import CliRunner

from .test_lifecycle_flow import _desk, _sent_initial


def test_follow_up_of_a_nullified_case_owes_no_report(client, sites, worker, settings,
                                                      monkeypatch, tmp_path):
    """Nothing is drafted after a nullification, so an obligation left open by a later version
    would only ever become overdue in the due-date monitor and the queue."""
    from safety.cli import main

    desk = _desk(client, sites, worker, settings, monkeypatch, tmp_path)
    case_id, _ = _sent_initial(desk)
    number = desk.case(case_id)["case_number"]
    res = CliRunner().invoke(main, ["submissions", "nullify", number, "--reason",
                                    "Reported in error: the subject was never enrolled"])
    assert res.exit_code == 0, res.output
    desk.follow_up()
    assert desk.case(case_id)["current_version"] == 2
    owed = desk.get(f"/api/v1/cases/{case_id}/obligations").json["obligations"]
    later = [o for o in owed if o["version"] == 2]
    assert later  # the follow-up was evaluated
    assert {o["status"] for o in later} <= {"not_required", "superseded"}
