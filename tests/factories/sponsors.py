"""Sponsors for tests: the one a migrated database starts with (DEFAULT, what a
single-organisation installation moves into), and others made on demand."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from safety.db.session import session_scope
from safety.sponsors.service import add_sponsor
from safety.sponsors.store import Sponsor, sponsor_by_code

DEFAULT_ID = 1  # the migrations' DEFAULT sponsor (ids restart at every reset)
DEFAULT: dict[str, Any] = {
    "code": "DEFAULT", "name": "Default sponsor", "org_code": "SAFETYDESK", "case_prefix": "SD",
    "timezone": "UTC", "sender": {}, "reporting": [],
    "gateways": {r: {"sender_id": "SAFETYDESK", "batch_receiver": None,
                     "message_receiver": None} for r in ("fda", "ema")},
}


def restore_default(conn: Connection) -> None:
    """The DEFAULT sponsor as migration 0004 makes it in an empty database."""
    import json

    from safety.db.base import utcnow

    values = {**DEFAULT, "id": DEFAULT_ID, "created_at": utcnow(),
              **{k: json.dumps(DEFAULT[k]) for k in ("sender", "gateways", "reporting")}}
    conn.execute(text(
        "INSERT INTO sponsors (id, code, name, org_code, case_prefix, timezone, sender, "
        "gateways, reporting, created_at) VALUES (:id, :code, :name, :org_code, :case_prefix, "
        ":timezone, :sender, :gateways, :reporting, :created_at)"), values)
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT setval('sponsors_id_seq', :n)"), {"n": DEFAULT_ID})


def make_sponsor(session: Session, code: str, **settings: Any) -> Sponsor:
    """Another sponsor (its settings default to a plain, complete configuration)."""
    found = sponsor_by_code(session, code)
    if found is not None:
        return found
    values: dict[str, Any] = {
        "name": f"{code.title()} Pharma", "org_code": f"{code}ORG", "case_prefix": code[:3],
        "timezone": "UTC",
        "gateways": {r: {"sender_id": f"{code}GW"} for r in ("fda", "ema")}, **settings}
    return add_sponsor(session, code=code, actor="test", **values)


def sponsor_id(url: str, code: str, **settings: Any) -> int:
    """A sponsor committed in its own transaction; its id."""
    with session_scope(url) as session:
        return make_sponsor(session, code, **settings).id
