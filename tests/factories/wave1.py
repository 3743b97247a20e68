"""A database as a wave-1 (single-organisation) deployment left it: the schema of migration
0003, filled with SQL INSERTs that name that schema's columns.

Nothing here goes through today's models or services (they know sponsors; the 0003 schema does
not), so the rows are exactly the shape migration 0004 receives. The JSON documents inside the
rows (a report's payload, a version's case data, a duplicate profile) are what wave 1 wrote:
they come from the codec, the E2B batch splitter and the duplicate profile builder, which have
not changed since 0003 (``git diff 87e6db2 -- safety/cases/codec.py safety/cases/model.py
safety/intake/e2b_batch.py safety/dedup/profile.py`` is empty).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, MetaData, Table, text
from werkzeug.security import generate_password_hash

from factories.accounts import TEST_PASSWORD_METHOD
from factories.e2b import example
from factories.forms import sae_form
from safety.cases.codec import case_to_json
from safety.cases.values import PartialDate
from safety.cases.versioning import identity
from safety.dedup.blocking import blocking_keys
from safety.dedup.profile import build_profile
from safety.intake.channels import payload_to_case
from safety.intake.e2b_batch import split_batch

PASSWORD = "wave one password"
ORG_CODE = "ACME"  # SAFETY_ORG_CODE of the wave-1 installation
# The sender block the installation kept in SAFETY_HOME/sender.json (wave 1's file format).
SENDER_FILE: dict[str, Any] = {
    "organisation": "Acme Therapeutics plc", "type": "1", "department": "Pharmacovigilance",
    "title": "Dr", "given_name": "Ada", "family_name": "Quill", "street": "2 Wharf Road",
    "city": "London", "postcode": "N1 7GR", "country": "GB", "telephone": "+44 20 0000 0000",
    "fax": "+44 20 0000 0001", "email": "pv@acme.invalid",
}


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=UTC)


@dataclass
class Wave1:
    """What was written, for the assertions after the upgrade."""

    site_token: str = ""  # Site 101's API token (still valid)
    safety_token: str = ""  # the safety team's integration token
    revoked_token: str = ""
    site_ids: dict[str, int] = field(default_factory=dict)
    client_ids: dict[str, int] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)  # email -> id
    user_roles: dict[str, str] = field(default_factory=dict)  # email -> role
    case_ids: dict[str, uuid.UUID] = field(default_factory=dict)  # case number -> id
    report_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    waiting_report: uuid.UUID | None = None  # stored, never processed before the upgrade
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows written
    last_case_number: int = 0


def _token(n: int) -> str:
    return f"sdk_wave1token{n:02d}" + "x" * 30


def _params(conn: Connection, values: dict[str, Any]) -> dict[str, Any]:
    """UUIDs as the database keeps them: PostgreSQL's uuid type, SQLite's 32 hex digits."""
    sqlite = conn.dialect.name == "sqlite"
    return {k: v.hex if sqlite and isinstance(v, uuid.UUID) else v for k, v in values.items()}


def _sql(conn: Connection, sql: str, **values: Any) -> Any:
    return conn.execute(text(sql), _params(conn, values))


def _insert(conn: Connection, w: Wave1, table: str, **values: Any) -> None:
    """One row, typed by the table as the database has it (reflected: the 0003 schema)."""
    tables: dict[str, Table] = conn.info.setdefault("wave1.tables", {})
    if table not in tables:
        tables[table] = Table(table, MetaData(), autoload_with=conn)
    conn.execute(tables[table].insert(), _params(conn, values))
    w.rows[table] = w.rows.get(table, 0) + 1


def _audit(conn: Connection, w: Wave1, when: datetime, action: str, entity_type: str,
           entity_id: object, case_id: uuid.UUID | None = None) -> None:
    _insert(conn, w, "audit_events", at=when, actor="system", action=action,
            entity_type=entity_type, entity_id=str(entity_id), case_id=case_id,
            changes=[{"field": "state", "from": None, "to": "x"}], reason=None)


def populate(conn: Connection) -> Wave1:
    """Fill a database migrated to 0003 as a month of wave-1 use would have."""
    w = Wave1()
    _insert(conn, w, "organisations", id=1, name="Acme Therapeutics", created_at=at(1))
    for site_id, name, country in ((1, "Site 101", "GB"), (2, "Site 202", "US")):
        _insert(conn, w, "sites", id=site_id, organisation_id=1, name=name, country=country,
                created_at=at(1))
        w.site_ids[name] = site_id
        _audit(conn, w, at(1), "site.created", "sites", site_id)
    # API clients: a site's token, the safety team's integration, one revoked.
    w.site_token, w.safety_token, w.revoked_token = _token(1), _token(2), _token(3)
    for client_id, name, role, site, token, revoked in (
            (1, "Site 101 token", "site", 1, w.site_token, None),
            (2, "PV integration", "safety", None, w.safety_token, None),
            (3, "Old partner", "safety", None, w.revoked_token, at(5))):
        _insert(conn, w, "api_clients", id=client_id, name=name, role=role, site_id=site,
                token_hash=hashlib.sha256(token.encode()).hexdigest(),
                token_prefix=token[:12], created_at=at(1), revoked_at=revoked)
        w.client_ids[name] = client_id
    # Hashed at the tests' lower scrypt cost (factories.accounts): werkzeug reads the cost
    # from the hash, and the upgrade never touches it.
    for user_id, email, role, site in (
            (1, "phys@acme.invalid", "safety_physician", None),
            (2, "proc@acme.invalid", "case_processor", None),
            (3, "admin@acme.invalid", "admin", None),
            (4, "coordinator@site101.invalid", "site_submitter", 1)):
        _insert(conn, w, "users", id=user_id, email=email, printed_name=email.split("@")[0],
                role=role, site_id=site,
                password_hash=generate_password_hash(PASSWORD, method=TEST_PASSWORD_METHOD),
                password_changed_at=at(1), failed_logins=0, locked_at=None, lock_reason=None,
                active=True, last_login_at=at(20), created_at=at(1))
        w.user_ids[email], w.user_roles[email] = user_id, role
        _audit(conn, w, at(1), "user.created", "users", user_id)
    _registry(conn, w)
    release = _terminology(conn, w)

    # Case 1: a site's SAE form and its follow-up (two versions), in medical review.
    form = sae_form(sae_id="ONC-301-101-SAE001")
    c1 = _case(conn, w, 1, "site_form", form, sender="site:1", sender_case_id=form["sae_id"],
               site_id=1, client_id=1, state="medical_review", received=at(2))
    follow = sae_form(sae_id="ONC-301-101-SAE001", report_type="followup")
    follow["events"][0]["outcome"] = "recovered"
    _version(conn, w, c1, 2, "site_form", follow, sender="site:1",
             sender_case_id=follow["sae_id"], site_id=1, client_id=1, received=at(6))
    # Case 2: a partner's E2B message on the safety team's integration, in triage.
    batch = example("FAERS2022Scenario1.xml")
    message = split_batch(batch)[0]
    _case(conn, w, 2, "e2b", message.payload, sender=message.sender,
          sender_case_id=message.sender_case_id, site_id=None, client_id=2,
          state="triage", received=at(8), raw=batch, worldwide=message.worldwide_case_id)
    # Case 3: Site 202's case, closed after its message to the FDA was acknowledged.
    form3 = sae_form(sae_id="ONC-301-202-SAE007",
                     subject={"id": "202-011", "initials": "KL", "sex": "male",
                              "birth_date": "1955-02"})
    c3 = _case(conn, w, 3, "site_form", form3, sender="site:2",
               sender_case_id=form3["sae_id"], site_id=2, client_id=None, state="closed",
               received=at(10))
    _conn_counter(conn, w, 3)

    _work_on(conn, w, c1, release)
    _duplicate(conn, w, c1, c3)
    _messages(conn, w, c3)

    # A report held for missing criteria, and one stored but never processed (the worker was
    # stopped for the upgrade): both stay the installation's.
    held = sae_form(sae_id="ONC-301-101-SAE002", drugs=[])
    w.report_ids["held"] = _report(conn, w, "site_form", held, sender="site:1",
                                   sender_case_id=held["sae_id"], site_id=1, client_id=1,
                                   status="held", received=at(12))
    waiting = sae_form(sae_id="ONC-301-101-SAE003",
                       subject={"id": "101-020", "initials": "MN", "sex": "male",
                                "birth_date": "1949-07"})
    w.waiting_report = _report(conn, w, "site_form", waiting, sender="site:1",
                               sender_case_id=waiting["sae_id"], site_id=1, client_id=1,
                               status="received", received=at(14))
    return w


def _registry(conn: Connection, w: Wave1) -> None:
    _insert(conn, w, "products", id="PEMBRO", name="pembrolizumab",
            substances=["pembrolizumab"], aliases=["Keytruda", "MK-3475"], updated_at=at(1))
    _insert(conn, w, "product_statuses", product_id="PEMBRO", jurisdiction="US",
            status="investigational", numbers=["145678"])
    _insert(conn, w, "studies", protocol="ONC-301", title="Phase III pembrolizumab NSCLC",
            jurisdictions=["US", "GB"], ind_numbers=["145678"], products=["PEMBRO"],
            blinded=False, updated_at=at(1))
    _insert(conn, w, "rsi_versions", product_id="PEMBRO", reference="IB", version="12",
            effective_from=date(2026, 1, 1), document="IB v12 section 5.6",
            expected_pts=["10035742"], created_at=at(1))


def _terminology(conn: Connection, w: Wave1) -> uuid.UUID:
    release = uuid.uuid4()
    _insert(conn, w, "terminology_releases", id=release, family="MedDRA", version="27.1",
            language="English", checksum="0" * 64, source="meddra_27_1_english",
            active=True, concept_count=1, counts={"llt": 1}, loaded_at=at(1),
            loaded_by="admin@acme.invalid")
    _insert(conn, w, "terminology_concepts", release_id=release, level="llt", code="10016288",
            name="Febrile neutropenia", current=True, abbrev=None)
    for origin, txt in (("dictionary", "neutropenic fever"), ("team", "fn with fever")):
        _insert(conn, w, "terminology_synonyms", release_id=release, text=txt,
                code="10016288", level="llt", origin=origin, auto=True,
                added_by="phys@acme.invalid" if origin == "team" else "",
                reason="confirmed coding decision" if origin == "team" else "",
                added_at=at(3))
    return release


def _report(conn: Connection, w: Wave1, channel: str, payload: dict[str, Any], *,
            sender: str, sender_case_id: str | None, site_id: int | None,
            client_id: int | None, status: str, received: datetime,
            raw: bytes | None = None) -> uuid.UUID:
    report_id = uuid.uuid4()
    body = raw if raw is not None else json.dumps(payload).encode()
    _insert(conn, w, "reports", id=report_id, channel=channel,
            content_type="application/json" if channel == "site_form" else "application/xml",
            raw=body, payload=payload,
            payload_sha256=hashlib.sha256(body).hexdigest(),
            sender=sender, sender_case_id=sender_case_id, site_id=site_id,
            api_client_id=client_id, idempotency_key=f"{sender_case_id}-{received:%d%H}",
            received_at=received, status=status,
            findings=[{"code": "no_suspect_product", "criterion": "suspect product",
                       "message": "no suspect product"}] if status == "held" else [],
            attempts=1 if status != "received" else 0, last_error=None,
            enqueued_at=received, processed_at=None if status == "received" else received,
            case_id=None, case_version_id=None)
    _audit(conn, w, received, "report.received", "reports", report_id)
    return report_id


def _case(conn: Connection, w: Wave1, seq: int, channel: str, payload: dict[str, Any], *,
          sender: str, sender_case_id: str | None, site_id: int | None, client_id: int | None,
          state: str, received: datetime, raw: bytes | None = None,
          worldwide: str | None = None) -> uuid.UUID:
    case_id = uuid.uuid4()
    number = f"SD-2026-{seq:06d}"
    country = "US" if channel == "e2b" else "GB"
    _insert(conn, w, "cases", id=case_id, case_number=number,
            worldwide_case_id=worldwide or f"{country}-{ORG_CODE}-2026{seq:06d}",
            sender=sender, sender_case_id=sender_case_id or f"report:{seq}", site_id=site_id,
            state=state, current_version=0, serious=True, created_at=received,
            updated_at=received)
    w.case_ids[number] = case_id
    _audit(conn, w, received, "case.created", "cases", case_id, case_id)
    _version(conn, w, case_id, 1, channel, payload, sender=sender,
             sender_case_id=sender_case_id, site_id=site_id, client_id=client_id,
             received=received, raw=raw)
    return case_id


def _version(conn: Connection, w: Wave1, case_id: uuid.UUID, version: int, channel: str,
             payload: dict[str, Any], *, sender: str, sender_case_id: str | None,
             site_id: int | None, client_id: int | None, received: datetime,
             raw: bytes | None = None) -> uuid.UUID:
    report_id = _report(conn, w, channel, payload, sender=sender,
                        sender_case_id=sender_case_id, site_id=site_id, client_id=client_id,
                        status="processed", received=received, raw=raw)
    w.report_ids[f"{case_id}/{version}"] = report_id
    data = payload_to_case(channel, payload)
    wwid = _sql(conn, "SELECT worldwide_case_id FROM cases WHERE id = :c", c=case_id
                ).scalar_one()
    data.admin.worldwide_case_id = wwid
    data.admin.sender_safety_report_id = wwid
    data.admin.first_received = PartialDate.from_date(received.date())
    data.admin.most_recent_received = PartialDate.from_date(received.date())
    cv_id = uuid.uuid4()
    stages = {s: {"status": "done", "summary": {}} for s in
              ("coding", "dedup", "rules", "submissions")}
    _insert(conn, w, "case_versions", id=cv_id, case_id=case_id, version=version,
            kind="initial" if version == 1 else "followup", report_id=report_id,
            data=case_to_json(data), received_at=received, created_at=received,
            stages=stages, pipeline="done")
    _sql(conn, "UPDATE reports SET case_id = :c, case_version_id = :v WHERE id = :r",
         c=case_id, v=cv_id, r=report_id)
    _sql(conn, "UPDATE cases SET current_version = :n WHERE id = :c", n=version, c=case_id)
    profile = build_profile(data)
    for table in ("dedup_block_keys", "dedup_identifiers", "dedup_profiles"):
        _sql(conn, f"DELETE FROM {table} WHERE case_id = :c", c=case_id)
    _insert(conn, w, "dedup_profiles", case_id=case_id, case_version_id=cv_id,
            profile=profile.to_json(), identity=identity(data).to_json(), indexed_at=received)
    for key in sorted(set(blocking_keys(profile))):
        _insert(conn, w, "dedup_block_keys", key=key[:120], case_id=case_id)
    for key in sorted(set(identity(data).keys())):
        _insert(conn, w, "dedup_identifiers", key=key, case_id=case_id)
    _insert(conn, w, "case_anchors", case_version_id=cv_id, kind="day0", instant=received,
            zone="Europe/London", day=received.date())
    return cv_id


def _conn_counter(conn: Connection, w: Wave1, value: int) -> None:
    _sql(conn, "UPDATE counters SET value = :v WHERE name = 'case'", v=value)
    w.last_case_number = value


def _version_id(conn: Connection, case_id: uuid.UUID, version: int = 1) -> uuid.UUID:
    found = _sql(conn, "SELECT id FROM case_versions WHERE case_id = :c AND version = :v",
                 c=case_id, v=version).scalar_one()
    return found if isinstance(found, uuid.UUID) else uuid.UUID(found)


def _work_on(conn: Connection, w: Wave1, case_id: uuid.UUID, release: uuid.UUID) -> None:
    """Coding, an assignment, obligations and recommendations on a case in review."""
    cv1, cv2 = _version_id(conn, case_id, 1), _version_id(conn, case_id, 2)
    data = _sql(conn, "SELECT data FROM case_versions WHERE id = :v", v=cv2).scalar_one()
    data = json.loads(data) if isinstance(data, str) else data
    _insert(conn, w, "case_coded_views", id=uuid.uuid4(), case_version_id=cv2, revision=1,
            data=data, review=[], actor="system", reason=None, created_at=at(6))
    _insert(conn, w, "case_assignments", case_id=case_id, user_id=1, assigned_at=at(6))
    for cv, version, status in ((cv1, 1, "superseded"), (cv2, 2, "open")):
        _insert(conn, w, "obligations", id=uuid.uuid4(), case_id=case_id, case_version_id=cv,
                version=version, destination="EMA (EudraVigilance CT module)",
                regime="eu_ctr", rule_id="eu-ctr-susar-other", report_type="SUSAR",
                report_group="expedited", day0=date(2026, 11, 2), due=date(2026, 11, 17),
                days=15, status=status, alert=None, citation="Regulation (EU) 536/2014 Art. 42",
                anchor="awareness", explanation="a SUSAR, not fatal: 15 days",
                basis={"serious": True, "unexpected": True}, submitted_on=None,
                created_at=at(6), updated_at=at(6))
    _insert(conn, w, "obligation_recommendations", case_id=case_id, case_version_id=cv2,
            kind="note", destination="FDA", regime="us_ind", rule_id="us-ind-aggregate",
            reason="consider an aggregate analysis", citation="21 CFR 312.32(c)(1)(iv)",
            created_at=at(6))
    _audit(conn, w, at(6), "case.assigned", "cases", case_id, case_id)


def _duplicate(conn: Connection, w: Wave1, a: uuid.UUID, b: uuid.UUID) -> None:
    _insert(conn, w, "dedup_candidates", id=uuid.uuid4(), case_id=b,
            case_version_id=_version_id(conn, b), candidate_case_id=a, score=7.5,
            suspected=True, rule="same patient and event", explanation=[], created_at=at(10))
    low, high = sorted((a, b), key=str)
    _insert(conn, w, "dedup_decisions", case_a=low, case_b=high, decision="rejected",
            master_case_id=None, decided_by="user:1:phys@acme.invalid", decided_at=at(11))
    _audit(conn, w, at(11), "dedup.rejected", "cases", b, b)


def _messages(conn: Connection, w: Wave1, case_id: uuid.UUID) -> None:
    """A message sent to the FDA and acknowledged; a signature on the version."""
    cv = _version_id(conn, case_id)
    ob = uuid.uuid4()
    _insert(conn, w, "obligations", id=ob, case_id=case_id, case_version_id=cv, version=1,
            destination="FDA", regime="us_ind", rule_id="us-ind-15day", report_type="IND safety "
            "report", report_group="expedited", day0=date(2026, 11, 10),
            due=date(2026, 11, 25), days=15, status="submitted", alert=None,
            citation="21 CFR 312.32(c)(1)", anchor="awareness", explanation="15 days",
            basis={}, submitted_on=date(2026, 11, 12), created_at=at(10), updated_at=at(12))
    _insert(conn, w, "signatures", id=uuid.uuid4(), case_id=case_id, case_version_id=cv,
            version=1, user_id=1, signer_email="phys@acme.invalid", printed_name="Phys",
            meaning="Medical review and approval", signed_at=at(11), local_zone="Europe/London",
            signed_at_local="2026-11-11 09:00 GMT", data_sha256="1" * 64, message_sha256=None,
            manifest_sha256="2" * 64)
    sub = uuid.uuid4()
    _insert(conn, w, "submissions", id=sub, case_id=case_id, case_version_id=cv,
            obligation_id=ob, destination="FDA", e2b_destination="fda-premarket",
            profile="fda-premarket", due=date(2026, 11, 25), batch_id="SD-B-0001",
            message_id="SD-M-0001", receiver="ZZFDA_PREMKT", xml=b"<MCCI_IN200100UV01/>",
            findings=[], notes=[], state="acknowledged", created_at=at(11), sent_at=at(12),
            acked_at=at(12, 15), ack_code="CA", ack_text=None, attempts=1)
    _audit(conn, w, at(12), "submission.acknowledged", "submissions", sub, case_id)
