"""Each sponsor sends from its own gateway account: its messages go to its own outbox folder,
and an export for one sponsor never writes (or marks sent) another sponsor's message."""

from __future__ import annotations

import uuid

from factories.cases import case_in_session, only_version
from factories.products import give_demo_sender
from factories.sponsors import DEFAULT_ID, make_sponsor
from factories.submissions import draft_message
from sqlalchemy import select

from safety.db.tenancy import restrict_to_sponsors
from safety.submissions.outbox import approve_for_sending, export_outbox
from safety.submissions.routing import REGION_OF
from safety.submissions.store import Submission


def _approved(session, settings, sponsor: int, sae_id: str) -> set[str]:  # type: ignore[no-untyped-def]
    """A processed, coded case of the sponsor with its FDA and EMA messages drafted and
    approved; the files expected."""
    case_id = uuid.UUID(case_in_session(session, settings, sponsor=sponsor, sae_id=sae_id))
    cv = only_version(session, case_id)
    for region in ("fda", "ema"):
        draft_message(session, settings, case_id, region)
    assert approve_for_sending(session, cv.id, "test") == 2
    subs = session.scalars(select(Submission).where(Submission.case_version_id == cv.id,
                                                    Submission.state == "ready"))
    return {f"{REGION_OF[s.destination]}/{s.batch_id}.xml" for s in subs}


def test_each_sponsor_has_its_own_outbox_folder(db_session, base_settings, tmp_path):
    other = make_sponsor(db_session, "OTHER").id
    for sponsor in (DEFAULT_ID, other):
        give_demo_sender(db_session, sponsor)
    mine = _approved(db_session, base_settings, DEFAULT_ID, "MINE-1")
    theirs = _approved(db_session, base_settings, other, "THEIRS-1")
    outbox = tmp_path / "outbox"

    restrict_to_sponsors(db_session, frozenset({other}))
    written = export_outbox(db_session, outbox, actor="gateway")
    assert {str(p.relative_to(outbox / "OTHER")) for p in written} == theirs
    restrict_to_sponsors(db_session, None)
    assert not (outbox / "DEFAULT").exists()  # not OTHER's to send

    written = export_outbox(db_session, outbox, actor="gateway")
    assert {str(p.relative_to(outbox / "DEFAULT")) for p in written} == mine
