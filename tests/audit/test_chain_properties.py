"""The hash PostgreSQL seals an event with (migration 0005, ``audit_event_hash``) is the one
``safety.audit.chain`` recomputes, whatever the event holds: otherwise ``safety audit verify``
would call an untouched event broken, or miss a changed one."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from safety.audit.chain import Link, link_hash

# What PostgreSQL text can hold: any character but NUL (and no lone surrogate, which UTF-8
# cannot encode).
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
               max_size=40)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**15, 10**15)
    | st.floats(allow_nan=False, allow_infinity=False, width=32) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12)
EVENT = st.fixed_dictionaries({
    "seq": st.integers(1, 2**40), "prev_hash": st.none() | st.text("0123456789abcdef",
                                                                     min_size=64, max_size=64),
    "at": st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 1, 1),
                       timezones=st.just(UTC)),
    "actor": TEXT, "action": TEXT, "entity_type": TEXT, "entity_id": TEXT,
    "case_id": st.none() | st.uuids(), "sponsor_id": st.none() | st.integers(1, 2**31 - 1),
    "changes": st.lists(JSON, max_size=3), "reason": st.none() | TEXT,
})


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=EVENT)
def test_postgres_and_python_hash_an_event_alike(db_engine: Engine, event: dict) -> None:
    if db_engine.dialect.name != "postgresql":
        pytest.skip("SQLite's events are sealed by the Python code itself")
    row = {**event, "id": 1, "at": event["at"].isoformat(),
           "case_id": None if event["case_id"] is None else str(event["case_id"])}
    with db_engine.connect() as conn:
        sealed, changes_text = conn.execute(text(
            "SELECT audit_event_hash(jsonb_populate_record(NULL::audit_events, "
            "CAST(:row AS jsonb))), CAST(CAST(:changes AS jsonb) AS text)"),
            {"row": json.dumps(row), "changes": json.dumps(event["changes"])}).one()
    link = Link(seq=event["seq"], prev_hash=event["prev_hash"], at=event["at"],
                actor=event["actor"], action=event["action"],
                entity_type=event["entity_type"], entity_id=event["entity_id"],
                case_id=event["case_id"], sponsor_id=event["sponsor_id"],
                changes_text=changes_text, reason=event["reason"])
    assert link_hash(link) == sealed
