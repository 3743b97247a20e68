"""Migration 0004 on a populated wave-1 database: a single-organisation installation upgraded
in place becomes the DEFAULT sponsor, and keeps working.

Each test gets a PostgreSQL database of its own (created here, dropped after), migrated to 0003
and filled with SQL against that schema (``factories.wave1``), then upgraded the way an
operator does it: ``safety db upgrade`` with the installation's settings (organisation code,
time zone, the sender block file).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner, Result
from factories.e2b import example
from factories.env import use_settings_env
from factories.forms import sae_form
from factories.wave1 import ORG_CODE, PASSWORD, SENDER_FILE, Wave1, populate
from factories.web import Browser
from factories.worker import run_worker
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from safety.app import create_app
from safety.cli import main
from safety.config import Settings
from safety.db.base import Base
from safety.db.migrate import alembic_config, check, upgrade
from safety.db.session import get_engine, import_all_models, normalise_url
from safety.pipeline.jobs import sweep
from safety.queue.connection import get_redis
from safety.queue.relay import flush_all

TEST_DB = os.environ.get("SAFETY_TEST_DATABASE_URL", "")

pytestmark = [
    pytest.mark.skipif(not TEST_DB.startswith("postgres"),
                       reason="the migration is tested on PostgreSQL (SAFETY_TEST_DATABASE_URL)"),
    pytest.mark.slow,  # each test creates, migrates and fills a database of its own
]

# The nullable sponsor columns (docs/decisions.md): an audit event about an account may belong
# to no sponsor, and a dictionary's own synonyms belong to none.
NULLABLE = {"audit_events", "terminology_synonyms"}
# What the issue names as belonging to exactly one sponsor.
OWNED = {"cases", "case_versions", "reports", "products", "studies", "rsi_versions", "sites",
         "obligations", "submissions", "terminology_synonyms", "dedup_candidates",
         "audit_events"}


@dataclass
class Upgraded:
    url: str
    settings: Settings
    wave: Wave1
    before: dict[str, int]  # rows per table before the upgrade


def _admin_url() -> str:
    return make_url(normalise_url(TEST_DB)).set(database="postgres") \
        .render_as_string(hide_password=False)


@pytest.fixture()
def fresh_db() -> Iterator[str]:
    """A database of the test's own, dropped afterwards."""
    name = f"sd_migr_w1_{uuid.uuid4().hex[:10]}"
    admin = create_engine(_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(normalise_url(TEST_DB)).set(database=name) \
        .render_as_string(hide_password=False)
    try:
        yield url
    finally:
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _populated(url: str) -> tuple[Wave1, dict[str, int]]:
    """The database at 0003, filled as wave 1 left it; what was written and the row counts."""
    upgrade(url, "0003")
    with get_engine(url).begin() as conn:
        wave = populate(conn)
        return wave, _row_counts(conn)


def _db_upgrade(url: str, base_settings: Settings, home: Path,
                monkeypatch: pytest.MonkeyPatch, *, org_code: str = ORG_CODE,
                sender: str | None = json.dumps(SENDER_FILE)) -> tuple[Settings, Result]:
    """``safety db upgrade`` as the installation runs it: its settings in the environment,
    its sender block file (``sender``: the file's text; None: no file) in SAFETY_HOME."""
    home.mkdir(exist_ok=True)
    if sender is not None:
        (home / "sender.json").write_text(sender)
    settings = replace(base_settings, home=home, database_url=url, org_code=org_code,
                       timezone="Europe/London")
    use_settings_env(monkeypatch, settings)
    return settings, CliRunner().invoke(main, ["db", "upgrade"])


def _revision(url: str) -> str:
    with get_engine(url).connect() as conn:
        found: str = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        return found


@pytest.fixture()
def upgraded(fresh_db: str, base_settings: Settings, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Upgraded:
    wave, before = _populated(fresh_db)
    settings, res = _db_upgrade(fresh_db, base_settings, tmp_path / "home", monkeypatch)
    assert res.exit_code == 0, res.output
    get_redis(settings).flushdb()
    return Upgraded(fresh_db, settings, wave, before)


def _row_counts(conn: Connection) -> dict[str, int]:
    tables = conn.execute(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename <> 'alembic_version'")).scalars().all()
    return {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}


def _default_id(conn: Connection) -> int:
    found: int = conn.execute(text("SELECT id FROM sponsors WHERE code = 'DEFAULT'")
                              ).scalar_one()
    return found


def _sponsor_tables() -> set[str]:
    import_all_models()
    return {t.name for t in Base.metadata.sorted_tables if "sponsor_id" in t.c
            and t.name not in ("api_client_sponsors", "user_sponsor_roles")}


def test_every_old_row_belongs_to_the_default_sponsor(upgraded: Upgraded) -> None:
    with get_engine(upgraded.url).connect() as conn:
        default = _default_id(conn)
        after = _row_counts(conn)
        # Tables created by later revisions hold no old rows, except the queue's index, which
        # is derived: filled after migrating by ``safety db upgrade``, and its counts by state
        # (which must agree with it).
        for table in sorted(_sponsor_tables() - set(upgraded.before)
                            - {"queue_entries", "queue_terms", "queue_counts"}):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0, table
        assert set(conn.execute(text(
            "SELECT sponsor_id, case_state, cases FROM queue_counts WHERE cases <> 0")).all()) \
            == set(conn.execute(text("SELECT sponsor_id, case_state, count(*) FROM queue_entries "
                                     "GROUP BY sponsor_id, case_state")).all())
        for table in sorted(_sponsor_tables() & set(upgraded.before)):
            total, owners = conn.execute(text(
                f"SELECT count(*), array_agg(DISTINCT sponsor_id) FROM {table}")).one()
            # nothing lost, nothing added (a table a later migration made starts empty)
            assert total == upgraded.before.get(table, 0), table
            if table == "terminology_synonyms":
                rows = dict(conn.execute(text(
                    "SELECT origin, sponsor_id FROM terminology_synonyms")).all())
                assert rows == {"team": default, "dictionary": None}
            elif total:
                assert owners == [default], (table, owners)
        assert conn.execute(text("SELECT count(*) FROM sponsors")).scalar_one() == 1
        # every table kept its rows (organisations, dropped, is the only one gone)
        assert {t: n for t, n in upgraded.before.items() if t != "organisations"} \
            == {t: after[t] for t in upgraded.before if t != "organisations"}
        written = {t: n for t, n in upgraded.wave.rows.items() if t in OWNED}
        assert set(written) == OWNED  # the fixture did write each kind the issue names
        sponsor = conn.execute(text(
            "SELECT code, name, org_code, case_prefix, timezone, sender, gateways "
            "FROM sponsors")).one()
    assert sponsor.code == "DEFAULT" and sponsor.case_prefix == "SD"
    assert sponsor.org_code == ORG_CODE and sponsor.timezone == "Europe/London"
    assert sponsor.name == SENDER_FILE["organisation"]
    assert {k: v for k, v in sponsor.sender.items() if v is not None} == SENDER_FILE
    assert {r: g["sender_id"] for r, g in sponsor.gateways.items()} \
        == {"fda": ORG_CODE, "ema": ORG_CODE}


def test_the_upgrade_reindexes_the_dedup_profiles_wave1_stored(upgraded: Upgraded) -> None:
    """Profiles stored before the key schemes were numbered (migration 0017) are re-indexed
    from their case versions by the upgrade, so that new reports find them again."""
    from safety.dedup.blocking import KEYS_VERSION

    with get_engine(upgraded.url).connect() as conn:
        versions = conn.execute(text("SELECT keys_version, count(*) FROM dedup_profiles "
                                     "GROUP BY keys_version")).all()
    assert upgraded.before["dedup_profiles"] > 0
    assert versions == [(KEYS_VERSION, upgraded.before["dedup_profiles"])]
    # a second upgrade has nothing left to re-index
    again = CliRunner().invoke(main, ["db", "upgrade"])
    assert again.exit_code == 0, again.output
    assert "DEFAULT: dedup index up to date" in again.output


def test_sponsor_columns_are_not_null_foreign_keys_with_an_index(upgraded: Upgraded) -> None:
    tables = _sponsor_tables()
    assert tables >= OWNED
    with get_engine(upgraded.url).connect() as conn:
        for table in sorted(tables):
            not_null = conn.execute(text(
                "SELECT attnotnull FROM pg_attribute "
                "WHERE attrelid = CAST(:t AS regclass) AND attname = 'sponsor_id'"),
                {"t": table}).scalar_one()
            assert not_null is (table not in NULLABLE), table
            fks = conn.execute(text(
                "SELECT count(*) FROM pg_constraint c JOIN pg_attribute a "
                "ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
                "WHERE c.contype = 'f' AND c.conrelid = CAST(:t AS regclass) "
                "AND c.confrelid = CAST('sponsors' AS regclass) "
                "AND a.attname = 'sponsor_id' AND cardinality(c.conkey) = 1"),
                {"t": table}).scalar_one()
            assert fks == 1, f"{table}.sponsor_id has no foreign key to sponsors"
            leading = conn.execute(text(
                "SELECT count(*) FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
                "WHERE i.indrelid = CAST(:t AS regclass) AND a.attname = 'sponsor_id'"),
                {"t": table}).scalar_one()
            assert leading >= 1, f"no index on {table}.sponsor_id"
        # what the case number and worldwide id are unique within: the sponsor
        uniques = set(conn.execute(text(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = CAST('cases' AS regclass) AND contype = 'u'")).scalars())
    assert "UNIQUE (sponsor_id, worldwide_case_id)" in uniques
    assert "UNIQUE (sponsor_id, sender, sender_case_id)" in uniques
    check(upgraded.url)  # the models and the upgraded schema agree (`safety db check`)


def test_staff_and_clients_keep_working_for_the_default_sponsor(upgraded: Upgraded) -> None:
    wave = upgraded.wave
    with get_engine(upgraded.url).connect() as conn:
        default = _default_id(conn)
        grants = {email: role for email, role in conn.execute(text(
            "SELECT u.email, g.role FROM user_sponsor_roles g JOIN users u ON u.id = g.user_id "
            "WHERE g.sponsor_id = :s"), {"s": default})}
        clients = dict(conn.execute(text(
            "SELECT client_id, sponsor_id FROM api_client_sponsors")).all())
        senders = set(conn.execute(text("SELECT senders::text FROM api_clients")).scalars())
        sites = dict(conn.execute(text("SELECT name, sponsor_id FROM sites")).all())
    # staff: their role, now for the sponsor; site staff work through their site's sponsor
    assert grants == {e: r for e, r in wave.user_roles.items() if r != "site_submitter"}
    assert sites == dict.fromkeys(wave.site_ids, default)
    assert clients == dict.fromkeys(wave.client_ids.values(), default)
    assert senders == {"[]"}

    app = create_app(settings=upgraded.settings)
    api = app.test_client()
    for email in wave.user_roles:
        browser = Browser(app.test_client())
        landed = browser.login(email, PASSWORD)
        assert landed.status_code == 302, email
        assert browser.get(landed.headers["Location"]).status_code == 200, email
    physician = Browser(app.test_client())
    physician.login("phys@acme.invalid", PASSWORD)
    case1 = wave.case_ids["SD-2026-000001"]
    assert "SD-2026-000001" in physician.get(f"/cases/{case1}").text
    assert api.get("/api/v1/cases", headers=_bearer(wave.revoked_token)).status_code == 401


def test_the_app_works_on_the_upgraded_database(upgraded: Upgraded) -> None:
    """A migrated token opens an old case; new reports (and the one stored before the upgrade)
    are processed into the DEFAULT sponsor, its case numbers going on from wave 1's."""
    wave, settings = upgraded.wave, upgraded.settings
    api = create_app(settings=settings).test_client()
    case1 = wave.case_ids["SD-2026-000001"]
    r = api.get(f"/api/v1/cases/{case1}", headers=_bearer(wave.safety_token))
    assert r.status_code == 200, r.json
    assert r.json["case_number"] == "SD-2026-000001" and len(r.json["versions"]) == 2
    listed = api.get("/api/v1/cases", headers=_bearer(wave.safety_token)).json
    assert {c["case_number"] for c in listed["items"]} == set(wave.case_ids)
    registry = api.get("/api/v1/products", headers=_bearer(wave.safety_token)).json
    products = {p["id"]: p for p in registry["products"]}
    assert set(products) == {"PEMBRO"}, registry  # wave 1's registry is the sponsor's
    assert [s["protocol"] for s in registry["studies"]] == ["ONC-301"]

    site = _bearer(wave.site_token)
    new = api.post("/api/v1/reports", headers=site, json=sae_form(
        sae_id="ONC-301-101-SAE010",
        subject={"id": "101-031", "initials": "PQ", "sex": "female", "birth_date": "1970-01"}))
    follow = sae_form(sae_id="ONC-301-101-SAE001", report_type="followup",
                      narrative="Recovered; discharged on day 9.")
    follow_up = api.post("/api/v1/reports", headers=site, json=follow)
    # the partner sends its message again, on the migrated safety team's token
    resent = api.post("/api/v1/reports", data=example("FAERS2022Scenario1.xml"),
                      headers=_bearer(wave.safety_token, **{"Content-Type": "application/xml"}))
    assert new.status_code == 202 and follow_up.status_code == 202, (new.json, follow_up.json)
    assert resent.status_code == 202, resent.json
    flush_all()  # the relay lingers for a batch: the reports just posted are on their way
    assert sweep()["reports"] == 1  # the report stored before the upgrade
    run_worker(settings)

    with get_engine(upgraded.url).connect() as conn:
        default = _default_id(conn)
        statuses = dict(conn.execute(text("SELECT status, count(*) FROM reports "
                                          "GROUP BY status")).all())
        counter = dict(conn.execute(text("SELECT name, value FROM counters")).all())
        cases = conn.execute(text(
            "SELECT case_number, worldwide_case_id, sponsor_id, current_version "
            "FROM cases ORDER BY case_number")).all()
        # the two new cases, numbered in the year (Europe/London) their report arrived
        expected = conn.execute(text(
            "SELECT c.case_number, 'SD-' || extract(year FROM r.received_at AT TIME ZONE "
            "'Europe/London') || '-' FROM reports r JOIN cases c ON c.id = r.case_id "
            "WHERE r.id IN (:a, :b)"),
            {"a": new.json["report_id"], "b": wave.waiting_report}).all()
    assert statuses == {"processed": 8, "held": 1}, statuses  # 4 wave-1 versions + 4 new
    assert counter == {f"case:{default}": wave.last_case_number + 2}
    assert sorted(number.removeprefix(start) for number, start in expected) \
        == ["000004", "000005"], expected  # the sequence goes on: no number used twice
    assert len({c.case_number for c in cases}) == len(cases) == 5
    assert len({c.worldwide_case_id for c in cases}) == len(cases)
    assert {c.sponsor_id for c in cases} == {default}
    assert next(c for c in cases if c.case_number == "SD-2026-000001").current_version == 3
    again = api.get(resent.json["status_url"], headers=_bearer(wave.safety_token)).json
    assert again["case_id"] == str(wave.case_ids["SD-2026-000002"])  # the wave-1 case
    report = api.get(new.json["status_url"], headers=site).json
    assert report["status"] == "processed"
    mine = api.get(f"/api/v1/cases/{report['case_id']}", headers=_bearer(wave.safety_token))
    assert mine.status_code == 200
    assert mine.json["worldwide_case_id"].startswith(f"GB-{ORG_CODE}-")


def test_downgrade_is_refused_and_leaves_the_database_as_it_was(upgraded: Upgraded) -> None:
    """0004 cannot be undone (a second sponsor's data could not be merged back into one
    organisation): downgrading raises and the upgraded database stays whole."""
    version = "SELECT version_num FROM alembic_version"
    with get_engine(upgraded.url).connect() as conn:
        head = conn.execute(text(version)).scalar_one()
    with pytest.raises(NotImplementedError, match="cannot be merged back"):
        command.downgrade(alembic_config(upgraded.url), "0003")
    with get_engine(upgraded.url).connect() as conn:  # one transaction: nothing undone
        assert conn.execute(text(version)).scalar_one() == head
        assert conn.execute(text("SELECT count(*) FROM cases")).scalar_one() \
            == upgraded.before["cases"]


def _bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


# --- what wave-1 installations may hold that the upgrade must carry over ----------------------


def test_same_named_sites_of_two_wave1_organisations_are_told_apart(
        fresh_db: str, base_settings: Settings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Wave 1's ``safety site add NAME --organisation ORG`` kept sites per organisation, so two
    organisations could each have a "Site 101". Both move into the DEFAULT sponsor, where a
    site name is unique: each keeps its id (its tokens, reports and users) and is named with
    its organisation, the rename audited."""
    wave, _ = _populated(fresh_db)
    with get_engine(fresh_db).begin() as conn:
        conn.execute(text("INSERT INTO organisations (id, name, created_at) "
                          "VALUES (2, 'Beta Research', now())"))
        conn.execute(text("INSERT INTO sites (id, organisation_id, name, country, created_at) "
                          "VALUES (3, 2, 'Site 101', 'FR', now())"))
    _, res = _db_upgrade(fresh_db, base_settings, tmp_path / "home", monkeypatch)
    assert res.exit_code == 0, res.output
    with get_engine(fresh_db).connect() as conn:
        names = dict(conn.execute(text("SELECT id, name FROM sites")).all())
        renamed = conn.execute(text(
            "SELECT entity_id, changes, sponsor_id FROM audit_events "
            "WHERE action = 'site.renamed' ORDER BY entity_id")).all()
        default = _default_id(conn)
    assert names == {1: "Site 101 (Acme Therapeutics)", 2: "Site 202",
                     3: "Site 101 (Beta Research)"}
    assert [(r.entity_id, r.changes, r.sponsor_id) for r in renamed] == [
        (str(i), [{"field": "name", "from": "Site 101", "to": names[i]}], default)
        for i in (1, 3)]
    assert wave.site_ids["Site 101"] == 1


def test_sender_file_values_wave1_accepted_are_migrated_as_it_sent_them(
        fresh_db: str, base_settings: Settings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Wave 1's reader took any JSON scalar and its messages carried the value's text: a
    postcode or telephone number written without quotes reached C.3.4.4/C.3.4.6. The DEFAULT
    sponsor gets the same text, not an empty sender block."""
    _populated(fresh_db)
    numbers = {**SENDER_FILE, "postcode": 4051, "telephone": 41610000001}
    _, res = _db_upgrade(fresh_db, base_settings, tmp_path / "home", monkeypatch,
                         sender=json.dumps(numbers))
    assert res.exit_code == 0, res.output
    with get_engine(fresh_db).connect() as conn:
        sender = conn.execute(text("SELECT sender FROM sponsors")).scalar_one()
    assert {k: v for k, v in sender.items() if v is not None} \
        == {**SENDER_FILE, "postcode": "4051", "telephone": "41610000001"}


@pytest.mark.parametrize(("text_", "named"), [
    ('{"organization": "Acme"}', "unknown keys ['organization']"),
    ('{"organisation": "Acme", "city": ["London"]}', "city: expected a string"),
    ('{"organisation": ', "not JSON"),
])
def test_an_unreadable_sender_file_stops_the_upgrade_naming_it(
        fresh_db: str, base_settings: Settings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, text_: str, named: str) -> None:
    """A sender block that cannot be read is not dropped in silence (the sponsor's messages
    would go out without C.3): the upgrade stops before it changes anything, naming the file
    and what is wrong with it."""
    _, before = _populated(fresh_db)
    _, res = _db_upgrade(fresh_db, base_settings, tmp_path / "home", monkeypatch,
                         sender=text_)
    assert res.exit_code != 0
    assert str(tmp_path / "home" / "sender.json") in res.output and named in res.output
    assert "SAFETY_SENDER_PROFILE" in res.output
    assert _revision(fresh_db) == "0003"
    with get_engine(fresh_db).connect() as conn:
        assert _row_counts(conn) == before


def test_gateway_sender_id_stays_what_wave1_sent(
        fresh_db: str, base_settings: Settings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Wave 1 sent SAFETY_ORG_CODE as it was configured in N.1.3/N.2.r.2 (the gateway account)
    and its letters and digits, in capitals, in C.1.8.1. The DEFAULT sponsor keeps both:
    the organisation code is what its worldwide ids carried, the FDA and EMA sender id is
    the account the gateway knows."""
    _populated(fresh_db)
    _, res = _db_upgrade(fresh_db, base_settings, tmp_path / "home", monkeypatch,
                         org_code="acme-uk")
    assert res.exit_code == 0, res.output
    with get_engine(fresh_db).connect() as conn:
        org_code, gateways = conn.execute(text("SELECT org_code, gateways FROM sponsors")).one()
    assert org_code == "ACMEUK"
    assert {r: g["sender_id"] for r, g in gateways.items()} == {"fda": "acme-uk",
                                                                "ema": "acme-uk"}


@pytest.mark.parametrize("org_code", ["Ö1", "X" * 41, "-"])
def test_an_org_code_no_sponsor_can_have_stops_the_upgrade(
        fresh_db: str, base_settings: Settings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, org_code: str) -> None:
    _populated(fresh_db)
    _, res = _db_upgrade(fresh_db, base_settings, tmp_path / "home", monkeypatch,
                         org_code=org_code)
    assert res.exit_code != 0 and "SAFETY_ORG_CODE" in res.output, res.output
    assert _revision(fresh_db) == "0003"
