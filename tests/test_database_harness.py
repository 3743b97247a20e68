"""The two ways to the test database (tests/factories/database.py) keep the tests apart."""

from __future__ import annotations

import pytest
from factories.accounts import site_token
from factories.cases import case_in_session
from factories.database import count_rows, reset, rolled_back_session
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from safety.accounts.store import Site
from safety.db.base import Base
from safety.db.session import import_all_models, session_scope
from safety.sponsors.store import Sponsor


def _sites(session) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(Site))


def test_what_a_store_test_commits_stays_in_its_transaction(base_settings, db_engine):
    url = base_settings.effective_database_url
    reset(url)
    with rolled_back_session(db_engine) as session:
        site_token(session, "Site R")
        session.commit()  # the code under test commits: a SAVEPOINT is released
        assert _sites(session) == 1
        assert count_rows(url, Site) == 0  # no other connection sees it
    assert count_rows(url, Site) == 0  # nor does anyone after the test
    with rolled_back_session(db_engine) as session:
        assert _sites(session) == 0


def test_an_error_rolled_back_by_the_code_under_test_keeps_the_earlier_work(db_session):
    site_token(db_session, "Site A")
    db_session.commit()
    db_session.add(Sponsor(id=1, code="AGAIN", name="Again", org_code="AGAIN",
                           case_prefix="AG", timezone="UTC"))  # the DEFAULT sponsor has id 1
    with pytest.raises(IntegrityError):
        db_session.flush()
    db_session.rollback()  # back to the last commit, not to the start of the test
    assert _sites(db_session) == 1


def test_reset_leaves_the_database_as_the_migrations_do(settings):
    url = settings.effective_database_url
    with session_scope(url) as s:  # committed: a processed case, its audit trail, a site
        case_in_session(s, settings)
        first_site = s.scalar(select(Site.id))
    reset(url)
    import_all_models()
    with session_scope(url) as s:
        counts = {t.name: s.scalar(select(func.count()).select_from(t))
                  for t in Base.metadata.sorted_tables if t.name != "counters"}
        assert {name for name, n in counts.items() if n} == {"sponsors"}  # DEFAULT only
        assert s.scalar(select(func.count()).select_from(Sponsor)) == 1
        assert [tuple(r) for r in s.execute(text("SELECT name, value FROM counters"))] == []
        site_token(s, "Site again")
        assert s.scalar(select(Site.id)) == first_site  # the ids start again
