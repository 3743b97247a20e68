"""Case numbers are counted per sponsor: each sponsor's first case is its number 1, under its
own prefix, however the sponsors' reports interleave; worldwide ids (C.1.8.1) carry the
sponsor's organisation code with the sponsor's own sequence."""

from __future__ import annotations

import re
import uuid

import pytest
from factories.cases import case_in_session
from factories.sponsors import DEFAULT_ID, make_sponsor
from sqlalchemy import select
from sqlalchemy.orm import Session

from safety.cases.store import Case, Counter
from safety.config import Settings
from safety.sponsors.service import SponsorError, configure


def test_each_sponsor_counts_its_own_cases(db_session: Session,
                                           base_settings: Settings) -> None:
    alpha = make_sponsor(db_session, "ALPHA", case_prefix="ALP", org_code="ALPHAORG")
    beta = make_sponsor(db_session, "BETA", case_prefix="BET", org_code="BETAORG")
    order = [alpha.id, beta.id, alpha.id, DEFAULT_ID, beta.id, alpha.id]
    made = [(sponsor, case_in_session(db_session, base_settings, sponsor=sponsor,
                                      stages=False, site=f"Site {sponsor}",
                                      sae_id=f"SAE-{i}"))
            for i, sponsor in enumerate(order)]

    def numbered(sponsor: int) -> list[tuple[str, str]]:
        """(prefix and sequence of the case number, org code and sequence of C.1.8.1)"""
        out = []
        for owner, case_id in made:
            if owner != sponsor:
                continue
            case = db_session.get_one(Case, uuid.UUID(case_id))
            number = re.fullmatch(r"([A-Z]+)-\d{4}-(\d{6})", case.case_number)
            wwid = re.fullmatch(r"GB-([A-Z]+)-\d{4}(\d{6})", case.worldwide_case_id)
            assert number and wwid, (case.case_number, case.worldwide_case_id)
            assert number.group(2) == wwid.group(2)  # one sequence for both
            out.append((f"{number.group(1)}:{number.group(2)}",
                        f"{wwid.group(1)}:{wwid.group(2)}"))
        return out

    assert numbered(alpha.id) == [("ALP:000001", "ALPHAORG:000001"),
                                  ("ALP:000002", "ALPHAORG:000002"),
                                  ("ALP:000003", "ALPHAORG:000003")]
    assert numbered(beta.id) == [("BET:000001", "BETAORG:000001"),
                                 ("BET:000002", "BETAORG:000002")]
    assert numbered(DEFAULT_ID) == [("SD:000001", "SAFETYDESK:000001")]
    counters = {n: v for n, v in db_session.execute(select(Counter.name, Counter.value))}
    assert counters == {f"case:{alpha.id}": 3, f"case:{beta.id}": 2, f"case:{DEFAULT_ID}": 1}


def test_a_prefix_that_numbered_another_sponsors_cases_is_refused(
        db_session: Session, base_settings: Settings) -> None:
    """Each sponsor's sequence starts at 1: a sponsor given a prefix that numbered another
    sponsor's cases (that sponsor has moved to a new prefix since) would number its first case
    as one that exists. The prefix is refused, when a sponsor is added and when it is changed."""
    alpha = make_sponsor(db_session, "ALPHA", case_prefix="ALP", org_code="ALPHAORG")
    case_in_session(db_session, base_settings, sponsor=alpha.id, stages=False,
                    site="Site alpha", sae_id="SAE-A1")
    configure(db_session, alpha, {"case_prefix": "ALX"}, actor="test", reason="renamed")
    with pytest.raises(SponsorError, match=r"case_prefix: 'ALP' numbers another sponsor's"):
        make_sponsor(db_session, "BETA", case_prefix="ALP", org_code="BETAORG")
    beta = make_sponsor(db_session, "BETA", case_prefix="BET", org_code="BETAORG")
    with pytest.raises(SponsorError, match="ALP-"):
        configure(db_session, beta, {"case_prefix": "ALP"}, actor="test", reason="r")
    # a sponsor may go back to its own old prefix: its sequence continues
    configure(db_session, alpha, {"case_prefix": "ALP"}, actor="test", reason="back")
