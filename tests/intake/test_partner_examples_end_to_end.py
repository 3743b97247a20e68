"""Issue 14 acceptance: every official example imported through the API is processed, then
exported for its own destination by ``safety export e2b`` and passes ``safety e2b validate``;
its ACK is AA."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from factories.cases import post_e2b
from factories.e2b import EXAMPLES, example
from factories.env import use_settings_env
from factories.products import use_demo_sender

from safety.e2b.ack import read_ack

DESTINATION = {"fda-postmarket": "fda", "fda-premarket": "fda", "ich": "hc"}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_an_example_imports_exports_for_its_destination_and_validates(
        name, client, sites, worker, settings, monkeypatch, tmp_path):
    from sqlalchemy import select

    from safety.cases.store import Case
    from safety.cli import main
    from safety.db.session import session_scope

    token = sites.token("Partner", "US", role="safety")
    r = post_e2b(client, sites.headers(token), example(name))
    assert r.status_code == 202, r.json
    worker()
    rep = client.get(r.json["status_url"], headers=sites.headers(token)).json
    assert rep["status"] == "processed", rep
    assert [f for f in rep["findings"] if f["code"].startswith("e2b")] == []
    ack = read_ack(client.get(r.json["status_url"] + "/ack", headers=sites.headers(token)).data)
    assert ack.code == "AA"
    use_settings_env(monkeypatch, settings)
    use_demo_sender(settings)
    with session_scope(settings.effective_database_url) as s:
        number = s.scalar(select(Case.case_number).where(Case.id == rep["case_id"]))
    if DESTINATION[EXAMPLES[name]] == "hc":  # Health Canada: receivers as in the example
        configured = CliRunner().invoke(main, ["sponsor", "configure", "DEFAULT",
                                               "--gateway", "hc:SAFETYDESK:ICHTEST:ICHTEST"])
        assert configured.exit_code == 0, configured.output
    out = tmp_path / "out.xml"
    res = CliRunner().invoke(main, ["export", "e2b", number,
                                    "--destination", DESTINATION[EXAMPLES[name]],
                                    "-o", str(out)])
    assert res.exit_code == 0, res.output
    valid = CliRunner().invoke(main, ["e2b", "validate", str(out)])
    assert valid.exit_code == 0, valid.output
    # and what we wrote imports again (the FDA profile's null flavours included)
    again = post_e2b(client, sites.headers(token), out.read_bytes())
    assert again.status_code == 202, again.json
    worker()
    back = client.get(again.json["status_url"], headers=sites.headers(token)).json
    assert back["status"] == "processed", back
    assert [f for f in back["findings"] if f["code"].startswith("e2b")] == []
