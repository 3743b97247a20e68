"""The audit trail is chained by hash (issue 13, item 9): ``safety audit verify`` exits 0 on
an intact trail and names the event the owner role changed or removed; PostgreSQL's sealing
trigger and the Python verifier agree on every kind of content; concurrent writers make one
unbroken chain per sponsor; migration 0005 chains the events written before it."""

from __future__ import annotations

import types
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import groupby

import pytest
from factories.audit import as_owner, event_ids, verify, write_events
from factories.sponsors import sponsor_id
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from safety.audit.chain import Link, StoredLink, link_hash, walk
from safety.audit.store import AuditEvent, chain_links, record
from safety.db.base import utcnow
from safety.db.migrate import upgrade
from safety.db.session import session_scope
from safety.pipeline import jobs

# What canonical text has to survive: every character class, JSON of every shape.
AWKWARD = [
    {"changes": [{"field": "status", "from": None, "to": "received"}]},
    {"changes": [{"z": 1, "a": [1.5, -0.0001, 1e21, True, None], "é": "ü → ∑ 🙂"}],
     "reason": "quotes \" ' backslash \\ tab \t newline \n nul-free \u0001 \u007f"},
    {"changes": [], "reason": None, "actor": "user:ü@example.org"},
    {"changes": [{"nested": {"b": {"c": [{}, [], ""]}, "a": "1:2~"}}], "reason": "~"},
    {"changes": [{"field": "x", "from": "9:abc", "to": "3:abc"}], "reason": "3:abc~"},
    {"changes": [{"long": "x" * 5000}], "reason": "y" * 3000},
]


def _trail(settings, sealed: bool = True) -> dict[str, int | None]:
    """Events of every kind in the three chains, sealed as the scheduler would (unless not)."""
    url = settings.effective_database_url
    other = sponsor_id(url, "OTHER")
    default = sponsor_id(url, "DEFAULT")
    events = []
    for i, e in enumerate(AWKWARD * 2):
        events.append({**e, "sponsor_id": [default, other, None][i % 3]})
    write_events(url, events)
    if sealed:
        jobs.seal_audit_trail()
    return {"DEFAULT": default, "OTHER": other}


def test_an_intact_trail_verifies_with_every_kind_of_content(settings):
    _trail(settings)
    result = verify()
    assert result.exit_code == 0, result.output
    assert "sponsor DEFAULT: 4 event(s), intact" in result.output
    assert "sponsor OTHER: 5 event(s), intact" in result.output  # and its being added
    assert "no sponsor: 4 event(s), intact" in result.output


def test_verify_names_the_event_the_owner_role_changed(settings):
    _trail(settings)
    ids = event_ids(settings.effective_database_url)
    changed = ids[4]
    as_owner(settings.effective_database_url,
             "UPDATE audit_events SET reason = 'nothing happened' WHERE id = :id", id=changed)
    result = verify()
    assert result.exit_code == 1
    assert f"BROKEN at audit event {changed} " in result.output
    assert "changed after it was written" in result.output
    assert result.output.count("BROKEN") == 1  # the other chains are intact


@pytest.mark.parametrize("column, value", [("at", None), ("changes", "[]"),
                                           ("actor", "user:someone-else")])
def test_any_field_changed_breaks_the_event(settings, column, value):
    _trail(settings)
    changed = event_ids(settings.effective_database_url)[0]
    sql = ("UPDATE audit_events SET at = at + interval '1 second' WHERE id = :id"
           if column == "at" and settings.effective_database_url.startswith("postgres") else
           "UPDATE audit_events SET at = '2020-01-01 00:00:00.000000' WHERE id = :id"
           if column == "at" else
           f"UPDATE audit_events SET {column} = :v WHERE id = :id")
    as_owner(settings.effective_database_url, sql, id=changed, v=value)
    result = verify()
    assert result.exit_code == 1 and f"BROKEN at audit event {changed} " in result.output


def test_verify_names_the_event_after_one_the_owner_role_deleted(settings):
    sponsors = _trail(settings)
    url = settings.effective_database_url
    with session_scope(url) as session:
        chain = list(session.scalars(select(AuditEvent.id).where(
            AuditEvent.sponsor_id == sponsors["OTHER"]).order_by(AuditEvent.seq)))
    as_owner(url, "DELETE FROM audit_events WHERE id = :id", id=chain[1])
    result = verify()
    assert result.exit_code == 1
    assert f"sponsor OTHER: 4 event(s), BROKEN at audit event {chain[2]} (seq 3)" \
        in result.output
    assert "where 2 was expected" in result.output


def test_verify_for_one_sponsor_walks_its_chain_only(settings):
    sponsors = _trail(settings)
    url = settings.effective_database_url
    with session_scope(url) as session:
        other = session.scalars(select(AuditEvent.id).where(
            AuditEvent.sponsor_id == sponsors["OTHER"])).first()
    as_owner(url, "UPDATE audit_events SET actor = 'x' WHERE id = :id", id=other)
    result = verify("--sponsor", "DEFAULT")
    assert result.exit_code == 0, result.output
    assert "OTHER" not in result.output and "no sponsor" not in result.output


def test_the_walk_names_a_forged_link_and_counts_events_awaiting_their_seal():
    def link(seq, prev):
        return Link(seq=seq, prev_hash=prev, at=utcnow(), actor="a", action="b",
                    entity_type="c", entity_id="1", case_id=None, sponsor_id=None,
                    changes_text="[]", reason=None)

    first = link(1, None)
    h1 = link_hash(first)
    second = link(2, h1)
    ok = [StoredLink(1, first, h1), StoredLink(2, second, link_hash(second))]
    assert walk(None, ok).broken is None
    assert walk(None, ok).head_hash == link_hash(second)
    forged = [ok[0], StoredLink(2, link(2, "0" * 64), link_hash(link(2, "0" * 64)))]
    assert walk(None, forged).broken.problem.startswith("previous hash")
    unsealed = [*ok, StoredLink(3, link(None, None), None)]
    report = walk(None, unsealed)
    assert report.broken is None and report.pending == 1 and report.head_seq == 2


def test_concurrent_writers_and_the_sealer_make_one_unbroken_chain_per_sponsor(settings):
    url = settings.effective_database_url
    if not url.startswith("postgres"):
        pytest.skip("SQLite has one writer at a time")
    default, other = sponsor_id(url, "DEFAULT"), sponsor_id(url, "OTHER")

    def writer(n: int) -> None:
        for i in range(10):
            # three chains in one transaction, in either order: never a deadlock
            order = [default, other, None] if (n + i) % 2 else [None, other, default]
            with session_scope(url) as session:
                for s in order:
                    record(session, actor=f"writer{n}", action="test.concurrent",
                           entity=types.SimpleNamespace(id=uuid.uuid4(), sponsor_id=s))

    def sealer(writers: list[Future[None]]) -> int:
        sealed = 0
        while not all(w.done() for w in writers):  # sealing while they commit
            sealed += jobs.seal_audit_trail()["sealed"]
        return sealed

    with ThreadPoolExecutor(9) as pool:
        writers = [pool.submit(writer, n) for n in range(8)]
        sealing = pool.submit(sealer, writers)
        for done in writers:
            done.result()  # raises what the writer raised
        assert sealing.result() > 0
    result = verify()
    assert result.exit_code == 0, result.output
    for name, n in (("sponsor DEFAULT", 80), ("sponsor OTHER", 81), ("no sponsor", 80)):
        assert f"{name}: {n} event(s), intact; head seq {n} " in result.output


def test_migration_0005_chains_the_events_written_before_it(settings, tmp_path):
    url = settings.effective_database_url
    if url.startswith("postgres"):
        name = f"sd_audit_mig_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://"),
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        fresh = url.rsplit("/", 1)[0] + "/" + name
    else:
        admin, name, fresh = None, None, f"sqlite:///{tmp_path / 'old.db'}"
    try:
        upgrade(fresh, "0004")
        engine = create_engine(fresh.replace("postgresql://", "postgresql+psycopg://"))
        with engine.begin() as conn:
            for i in range(3):
                conn.execute(text(
                    "INSERT INTO audit_events (at, actor, action, entity_type, entity_id, "
                    "sponsor_id, changes) VALUES (:at, 'old', 'old.event', 't', :i, "
                    ":s, :c)"), {"at": utcnow().isoformat(), "i": str(i),
                                 "s": None if i == 1 else 1, "c": '[{"b": 1, "a": "é"}]'})
        engine.dispose()
        upgrade(fresh)
        engine = create_engine(fresh.replace("postgresql://", "postgresql+psycopg://"))
        with Session(engine) as session:
            links = list(chain_links(session))
        engine.dispose()
        assert [(c, s.link.seq) for c, s in links] == [(None, 1), (1, 1), (1, 2)]
        for chain, group in groupby(links, key=lambda p: p[0]):
            assert walk(chain, (s for _, s in group)).broken is None
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
            admin.dispose()


def test_the_scheduler_seals_new_events_and_writers_never_wait_for_it(settings):
    url = settings.effective_database_url
    _trail(settings, sealed=False)
    with session_scope(url) as session:
        unsealed = session.scalar(select(func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.hash.is_(None)))
    if not url.startswith("postgres"):
        assert unsealed == 0  # SQLite: sealed as written
        return
    assert unsealed == 13  # written, committed, awaiting the sealer
    assert jobs.seal_audit_trail() == {"sealed": 13}
    assert jobs.seal_audit_trail() == {"sealed": 0}
    result = verify()
    assert result.exit_code == 0 and "awaiting" not in result.output, result.output
