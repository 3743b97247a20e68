"""``safety blinding``: the list lands in the chosen sponsor's compartment, only for a user
holding the unblinded role there; another sponsor's study is "no study"."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from factories.accounts import PASSWORD, add_user
from factories.sponsors import make_sponsor
from sqlalchemy import func, select

from safety.blinding.store import TreatmentAssignment
from safety.cli import main
from safety.config import Settings
from safety.db.session import session_scope
from safety.products.service import import_registry, registry_from_json

REGISTRY = {"products": [{"id": "ZEL", "name": "Zelvorin"}],
            "studies": [{"protocol": "ZEL-301", "products": ["ZEL"], "blinded": True}]}


def test_the_list_lands_in_the_chosen_sponsor_and_only_for_unblinders(
        settings: Settings, tmp_path: Path) -> None:
    url = settings.effective_database_url
    with session_scope(url) as session:
        alder, birch = make_sponsor(session, "ALDER").id, make_sponsor(session, "BIRCH").id
        import_registry(session, registry_from_json(REGISTRY), "test", birch)
        add_user(session, "u@cro.test", "unblinded_physician", sponsors=(alder, birch))
        add_user(session, "doc@cro.test", "safety_physician", sponsors=(alder, birch))
    csv = tmp_path / "list.csv"
    csv.write_text("Subject,Arm,Treatment,Kit\n101-004,A,ZEL,K-1\n102-001,B,placebo,K-2\n")

    def run(sponsor: str, *args: str, stdin: str | None = None) -> tuple[int, str]:
        res = CliRunner().invoke(main, ["--sponsor", sponsor, "blinding", *args], input=stdin)
        assert "Traceback" not in res.output
        return res.exit_code, res.output

    code, out = run("ALDER", "import-list", str(csv), "--protocol", "ZEL-301",
                    "--as", "u@cro.test")
    assert code != 0 and "no study 'ZEL-301'" in out  # BIRCH's study is not ALDER's
    code, out = run("BIRCH", "import-list", str(csv), "--protocol", "ZEL-301",
                    "--as", "doc@cro.test")
    assert code != 0 and "only the unblinded role" in out
    code, out = run("BIRCH", "import-list", str(csv), "--protocol", "ZEL-301",
                    "--as", "u@cro.test")
    assert code == 0, out
    code, out = run("ALDER", "unblind-study", "--protocol", "ZEL-301", "--as", "u@cro.test",
                    "--reason", "DSUR", "--password-stdin", stdin=PASSWORD + "\n")
    assert code != 0 and "K-1" not in out
    code, out = run("BIRCH", "unblind-study", "--protocol", "ZEL-301", "--as", "u@cro.test",
                    "--reason", "DSUR", "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 0 and "101-004,A,ZEL,,K-1" in out
    with session_scope(url) as session:
        held = dict(session.execute(select(TreatmentAssignment.sponsor_id, func.count())
                                    .group_by(TreatmentAssignment.sponsor_id)).all())
    assert held == {birch: 2}
