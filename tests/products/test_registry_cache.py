"""Issue 20: a worker keeps each sponsor's registry and RSI between jobs, keyed by the
sponsor's registry generation, which the database's triggers (migration 0021) bump in the
transaction of every write of the tables they are read from, whoever writes. Each change
below is made by another connection in plain SQL (no application code) and must be seen by
the next job; a change rolled back, or one a transaction reads before it commits, must never
be answered to anyone else."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from factories.database import Statements
from factories.forms import sae_form
from factories.products import add_rsi, load_demo_registry
from factories.sponsors import DEFAULT_ID as D
from factories.sponsors import make_sponsor
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from safety.db.memo import job_memo
from safety.db.session import get_engine, session_scope
from safety.db.tenancy import restrict_to_sponsors
from safety.products.registry import JurisdictionStatus, Product, Registry, Status, Study
from safety.products.rsi import RsiVersion
from safety.products.store import (
    RsiVersionRow,
    load_registry,
    load_rsi,
    save_registry,
    save_rsi_version,
)
from safety.sponsors.service import profile
from safety.sponsors.store import Sponsor

DAY = date(2026, 3, 1)


def _registry() -> Registry:
    reg = Registry()
    reg.add_product(Product("P1", "Zelvorin", ("zelvoritinib",), (
        JurisdictionStatus("US", Status.INVESTIGATIONAL, ("IND 1",)),)))
    reg.add_product(Product("P2", "Otherol", ("otherolimus",), ()))
    reg.add_study(Study("PROT-1", ("US",), ("IND 1",), ("P1",), False, "first"))
    return reg


@pytest.fixture
def url(settings: Any) -> str:
    """An emptied database holding the DEFAULT sponsor's registry, one RSI version, and a
    second sponsor with a registry of its own (committed)."""
    url: str = settings.effective_database_url
    with session_scope(url) as s:
        save_registry(s, _registry(), D)
        save_rsi_version(s, RsiVersion("P1", "IB", "1", date(2026, 1, 1), frozenset({"100"}),
                                       "IB 1"), D)
        other = make_sponsor(s, "OTHER").id
        mine = Registry()
        mine.add_product(Product("P1", "Theirs", (), ()))
        save_registry(s, mine, other)
    return url


def _job(url: str) -> tuple[Registry, Any]:
    """What a pipeline job reads: the sponsor's profile, then its registry and RSI."""
    with session_scope(url) as s, job_memo(s):
        profile(s, D)
        return load_registry(s, D), load_rsi(s, D)


def _generation(url: str, sponsor_id: int = D) -> int:
    with get_engine(url).connect() as conn:
        return conn.scalar(select(Sponsor.registry_generation)
                           .where(Sponsor.id == sponsor_id))  # type: ignore[return-value]


def _other_id(url: str) -> int:
    with get_engine(url).connect() as conn:
        return conn.scalar(select(Sponsor.id).where(Sponsor.code == "OTHER"))  # type: ignore[return-value]


@pytest.fixture
def statements(url: str) -> Iterator[Statements]:
    counted = Statements(url)
    yield counted
    counted.close()


def _sql(url: str, statement: str, **params: Any) -> None:
    """A change committed by another connection, in SQL (no application code)."""
    with get_engine(url).begin() as conn:
        conn.execute(text(statement), params)


def _add_rsi_version(url: str, version: str, pts: list[str], effective: date) -> None:
    with get_engine(url).begin() as conn:
        conn.execute(insert(RsiVersionRow.__table__).values(
            sponsor_id=D, product_id="P1", reference="IB", version=version,
            effective_from=effective, document=f"IB {version}", expected_pts=pts,
            created_at=datetime.now(UTC)))


# --- a job sees what another connection changed ----------------------------------------------


def test_the_next_job_reads_a_kept_registry_and_rsi_without_a_statement(url, statements):
    first_registry, first_rsi = _job(url)
    before = statements.n
    with session_scope(url) as s, job_memo(s):
        profile(s, D)
        after_profile = statements.n
        assert load_registry(s, D) is first_registry  # the kept objects, shared
        assert load_rsi(s, D) is first_rsi
        assert statements.n == after_profile  # the profile's statement carried the generation
    assert after_profile - before == 1


CHANGES = {
    "status inserted": ("INSERT INTO product_statuses (sponsor_id, product_id, jurisdiction, "
                        "status, numbers) VALUES (:d, 'P1', 'EU', 'authorised', '[]')",
                        lambda reg, lib: reg.products["P1"].status_in("EU") == {
                            Status.AUTHORISED}),
    "status updated": ("UPDATE product_statuses SET jurisdiction = 'UK' WHERE sponsor_id = :d "
                       "AND product_id = 'P1'",
                       lambda reg, lib: reg.products["P1"].status_in("UK") == {
                           Status.INVESTIGATIONAL}),
    "status deleted": ("DELETE FROM product_statuses WHERE sponsor_id = :d",
                       lambda reg, lib: reg.products["P1"].statuses == ()),
    "product updated": ("UPDATE products SET name = 'Zelvorin XR' WHERE sponsor_id = :d "
                        "AND id = 'P1'",
                        lambda reg, lib: reg.products["P1"].name == "Zelvorin XR"),
    "product deleted": ("DELETE FROM products WHERE sponsor_id = :d AND id = 'P2'",
                        lambda reg, lib: "P2" not in reg.products),
    "study inserted": ("INSERT INTO studies (sponsor_id, protocol, title, jurisdictions, "
                       "ind_numbers, products, blinded, updated_at) VALUES (:d, 'PROT-2', "
                       "'second', '[]', '[]', '[]', false, CURRENT_TIMESTAMP)",
                       lambda reg, lib: "PROT-2" in reg.studies),
    "study updated": ("UPDATE studies SET blinded = true WHERE sponsor_id = :d",
                      lambda reg, lib: reg.studies["PROT-1"].blinded),
    "study deleted": ("DELETE FROM studies WHERE sponsor_id = :d",
                      lambda reg, lib: reg.studies == {}),
    "rsi updated": ("UPDATE rsi_versions SET version = '1a' WHERE sponsor_id = :d",
                    lambda reg, lib: lib.in_force("P1", "IB", DAY).version == "1a"),
    "rsi deleted": ("DELETE FROM rsi_versions WHERE sponsor_id = :d",
                    lambda reg, lib: lib.in_force("P1", "IB", DAY) is None),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_the_next_job_sees_a_change_another_connection_committed(url, change):
    statement, seen = CHANGES[change]
    before = _job(url)
    assert _job(url) == before and _job(url)[0] is before[0]  # kept
    assert not seen(*before)
    _sql(url, statement, d=D)
    assert seen(*_job(url))


def test_the_next_job_sees_a_new_rsi_version(url):
    assert _job(url)[1].in_force("P1", "IB", DAY).version == "1"
    _add_rsi_version(url, "2", ["100", "200"], date(2026, 2, 1))
    assert _job(url)[1].in_force("P1", "IB", DAY).version == "2"


# --- the generation ----------------------------------------------------------------------------


ROWS = {
    "products": ("INSERT INTO products (sponsor_id, id, name, substances, aliases, updated_at) "
                 "VALUES (:d, 'P9', 'New', '[]', '[]', CURRENT_TIMESTAMP)",
                 "UPDATE products SET name = 'Renamed' WHERE sponsor_id = :d AND id = 'P9'",
                 "DELETE FROM products WHERE sponsor_id = :d AND id = 'P9'"),
    "product_statuses": ("INSERT INTO product_statuses (sponsor_id, product_id, jurisdiction, "
                         "status, numbers) VALUES (:d, 'P2', 'JP', 'authorised', '[]')",
                         "UPDATE product_statuses SET jurisdiction = 'KR' "
                         "WHERE sponsor_id = :d AND product_id = 'P2'",
                         "DELETE FROM product_statuses WHERE sponsor_id = :d "
                         "AND product_id = 'P2'"),
    "studies": ("INSERT INTO studies (sponsor_id, protocol, title, jurisdictions, ind_numbers, "
                "products, blinded, updated_at) VALUES (:d, 'P-9', 't', '[]', '[]', '[]', "
                "false, CURRENT_TIMESTAMP)",
                "UPDATE studies SET title = 'u' WHERE sponsor_id = :d AND protocol = 'P-9'",
                "DELETE FROM studies WHERE sponsor_id = :d AND protocol = 'P-9'"),
    "rsi_versions": ("INSERT INTO rsi_versions (sponsor_id, product_id, reference, version, "
                     "effective_from, document, expected_pts, created_at) VALUES (:d, 'P2', "
                     "'IB', '9', '2026-05-01', '', '[]', CURRENT_TIMESTAMP)",
                     "UPDATE rsi_versions SET version = '9a' WHERE sponsor_id = :d "
                     "AND product_id = 'P2'",
                     "DELETE FROM rsi_versions WHERE sponsor_id = :d AND product_id = 'P2'"),
}


@pytest.mark.parametrize("table", sorted(ROWS))
def test_every_write_of_each_table_bumps_its_sponsors_generation_only(url, table):
    other = _other_id(url)
    theirs = _generation(url, other)
    for statement in ROWS[table]:
        before = _generation(url)
        _sql(url, statement, d=D)
        assert _generation(url) == before + 1, statement
    assert _generation(url, other) == theirs


def test_the_generation_moves_in_the_writing_transaction(url):
    """Committed with the write (no reader sees the one without the other), and undone with
    it."""
    before = _generation(url)
    with get_engine(url).connect() as conn:
        conn.execute(text("UPDATE studies SET title = 'x' WHERE sponsor_id = :d"), {"d": D})
        assert conn.scalar(select(Sponsor.registry_generation)
                           .where(Sponsor.id == D)) == before + 1
        conn.rollback()
    assert _generation(url) == before


def test_the_application_cannot_write_the_generation(url):
    from safety.db.base import ImmutableRowError

    with pytest.raises(ImmutableRowError), session_scope(url) as s:
        s.get_one(Sponsor, D).registry_generation = 0
        s.flush()


# --- never stale -------------------------------------------------------------------------------


def test_a_change_read_then_rolled_back_is_never_answered_to_another_job(url):
    """A transaction reads its own uncommitted change (generation n + 1), then rolls back;
    another writer commits a different change, which is generation n + 1 too. The next job
    must read that one."""
    _job(url)
    with session_scope(url) as s:
        s.execute(text("UPDATE products SET name = 'Rolled back' WHERE sponsor_id = :d "
                       "AND id = 'P1'"), {"d": D})
        profile(s, D)
        assert load_registry(s, D).products["P1"].name == "Rolled back"
        s.rollback()
    _sql(url, "UPDATE products SET name = 'Committed' WHERE sponsor_id = :d AND id = 'P1'",
         d=D)
    assert _job(url)[0].products["P1"].name == "Committed"


def test_a_change_written_after_the_generation_was_read_and_rolled_back_is_never_kept(url):
    """The profile read generation n; the transaction then changes the registry (its own
    n + 1) and reads it, under n, while n is still the committed generation; it rolls back.
    What it read must not be what the next job gets for n. (Nothing kept yet for n: the
    load reads.)"""
    with session_scope(url) as s, job_memo(s):
        profile(s, D)
        s.execute(text("DELETE FROM product_statuses WHERE sponsor_id = :d"), {"d": D})
        s.execute(text("DELETE FROM rsi_versions WHERE sponsor_id = :d"), {"d": D})
        assert load_registry(s, D).products["P1"].statuses == ()
        assert load_rsi(s, D).in_force("P1", "IB", DAY) is None
        s.rollback()
    registry, rsi = _job(url)
    assert registry.products["P1"].status_in("US") == {Status.INVESTIGATIONAL}
    assert rsi.in_force("P1", "IB", DAY) is not None


def test_a_session_holding_the_sponsor_reads_this_transactions_generation(url):
    """Sessions keep their objects at commit: a job whose session holds the ``Sponsor`` from
    an earlier transaction still keys the registry by the generation it reads now."""
    with session_scope(url) as s:
        sponsor = s.get_one(Sponsor, D)
        with job_memo(s):
            profile(s, D)
            assert load_registry(s, D).studies["PROT-1"].title == "first"
        s.commit()
        _sql(url, "UPDATE studies SET title = 'changed' WHERE sponsor_id = :d", d=D)
        with job_memo(s):
            profile(s, D)
            assert load_registry(s, D).studies["PROT-1"].title == "changed"
        assert sponsor.id == D


def test_a_change_read_in_a_job_then_committed_is_right(url):
    """A transaction that wrote the registry reads it and commits: what it kept, if anything,
    is what the next job reads from the database."""
    with session_scope(url) as s, job_memo(s):
        s.execute(text("UPDATE studies SET title = 'mine' WHERE sponsor_id = :d"), {"d": D})
        profile(s, D)
        assert load_registry(s, D).studies["PROT-1"].title == "mine"
    assert _job(url)[0].studies["PROT-1"].title == "mine"
    _sql(url, "UPDATE studies SET title = 'next' WHERE sponsor_id = :d", d=D)
    assert _job(url)[0].studies["PROT-1"].title == "next"


def test_a_restricted_session_reads_as_before_and_is_never_kept(url):
    """A session limited to other sponsors reads nothing of this one's (the tenancy filter);
    that empty read is never answered to a job."""
    with session_scope(url) as s:
        restrict_to_sponsors(s, {_other_id(url)})
        assert load_registry(s, D).products == {}
    assert set(_job(url)[0].products) == {"P1", "P2"}
    with session_scope(url) as s:
        restrict_to_sponsors(s, {_other_id(url)})
        assert load_registry(s, D).products == {}  # a kept registry is not answered either


def test_a_kept_registry_and_rsi_cannot_be_changed(url):
    reg, lib = _job(url)
    with pytest.raises(TypeError):
        reg.add_product(Product("P3", "Third"))
    with pytest.raises(TypeError):
        reg.add_study(Study("PROT-3"))
    with pytest.raises(TypeError):
        reg.products["P3"] = Product("P3", "Third")  # type: ignore[index]
    with pytest.raises(TypeError):
        lib.add(RsiVersion("P1", "IB", "9", date(2026, 9, 1), frozenset()))


def test_outside_a_job_the_generation_is_read_each_time(url, statements):
    """A web request or command (no memo) reads the generation at each load: a change
    committed in between is seen by the next load of the same session."""
    _job(url)
    with session_scope(url) as s:
        before = statements.n
        assert load_registry(s, D).studies["PROT-1"].title == "first"
        assert statements.n - before == 1  # the generation; the registry was kept
        s.commit()
        _sql(url, "UPDATE studies SET title = 'later' WHERE sponsor_id = :d", d=D)
        assert load_registry(s, D).studies["PROT-1"].title == "later"


def test_a_session_of_a_rolled_back_test_transaction_keeps_nothing(db_session: Session):
    """The harness's rolled-back sessions (``db_session``): what they write is never
    committed, so nothing they read is kept for another test."""
    save_registry(db_session, _registry(), D)
    db_session.commit()  # a savepoint of the outer transaction, rolled back at the end
    assert "P1" in load_registry(db_session, D).products
    with get_engine(str(db_session.get_bind().engine.url)).connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM products")) == 0


# --- end to end: the worker's jobs --------------------------------------------------------------


def test_a_worker_sees_an_rsi_version_added_in_sql_between_two_reports(client, sites, worker,
                                                                       settings):
    """Two reports of the same unexpected reaction, processed by the same worker process; in
    between, an RSI version listing it as expected is inserted in SQL by another connection
    (no API: nothing in the application hears of it). The second case owes no FDA IND safety
    report; with the first job's RSI kept, it would."""
    safety = sites.token("Safety team", role="safety")
    load_demo_registry(client, sites.headers(safety))
    assert add_rsi(client, sites.headers(safety), "PEMBRO", "12", ["10035742"]).status_code \
        == 201
    site = sites.token("Site 101", "GB")

    def case_destinations(sae_id: str, subject: str) -> set[str]:
        form = sae_form(sae_id=sae_id)
        form["study"]["ind_number"] = "145678"
        form["subject"]["id"] = subject
        rep = client.post("/api/v1/reports", json=form, headers=sites.headers(site)).json
        worker()
        case_id = client.get(rep["status_url"], headers=sites.headers(site)).json["case_id"]
        got = client.get(f"/api/v1/cases/{case_id}/obligations",
                         headers=sites.headers(safety)).json
        return {o["destination"] for o in got["obligations"]}

    assert "FDA" in case_destinations("ONC-301-101-SAE001", "101-004")
    url = settings.effective_database_url
    with get_engine(url).begin() as conn:
        row = conn.execute(select(RsiVersionRow.__table__).where(
            RsiVersionRow.version == "12")).one()
        conn.execute(insert(RsiVersionRow.__table__).values(
            sponsor_id=row.sponsor_id, product_id="PEMBRO", reference="IB", version="13",
            effective_from=date(2026, 2, 1), document="IB 13",
            expected_pts=["10035742", "10016288"],
            created_at=row.created_at))
    assert "FDA" not in case_destinations("ONC-301-102-SAE001", "102-007")
