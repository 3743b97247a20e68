"""Statuses are enums in the models and in the migrated database: every status column's CHECK
constraint allows exactly the enum's values, and the database refuses any other value."""

from __future__ import annotations

import re

import pytest
from factories.cases import case_in_session
from sqlalchemy import Enum, inspect, text
from sqlalchemy.exc import IntegrityError

from safety.db.base import Base
from safety.db.session import import_all_models


def _enum_columns() -> list[tuple[str, str, Enum]]:
    import_all_models()
    return sorted(((t.name, c.name, c.type) for t in Base.metadata.sorted_tables
                   for c in t.columns if isinstance(c.type, Enum)), key=lambda x: x[:2])


def test_every_status_column_is_an_enum_with_a_constraint() -> None:
    columns = {(t, c) for t, c, _ in _enum_columns()}
    for expected in (("reports", "status"), ("cases", "state"), ("case_versions", "pipeline"),
                     ("obligations", "status"), ("submissions", "state"),
                     ("questions", "status")):
        assert expected in columns
    for _, _, enum in _enum_columns():
        assert enum.create_constraint and not enum.native_enum


def test_the_migrated_database_allows_exactly_each_enums_values(db_session) -> None:  # type: ignore[no-untyped-def]
    schema = inspect(db_session.connection())
    checks = {}
    for table in schema.get_table_names():
        for ck in schema.get_check_constraints(table):
            checks[ck["name"]] = set(re.findall(r"'([^']*)'", ck["sqltext"]))
    for table, column, enum in _enum_columns():
        name = f"ck_{table}_{enum.name}"
        assert name in checks, f"{table}.{column}: no constraint {name} in the migrations"
        assert checks[name] == set(enum.enums), f"{table}.{column}"


@pytest.mark.parametrize("table,column", [("cases", "state"), ("reports", "status"),
                                          ("case_versions", "pipeline")])
def test_a_value_outside_the_enum_is_refused(db_session, base_settings, table: str,  # type: ignore[no-untyped-def]
                                             column: str) -> None:
    case_in_session(db_session, base_settings)
    row_id = db_session.execute(text(f"SELECT id FROM {table}")).scalar_one()
    with pytest.raises(IntegrityError), db_session.begin_nested():
        db_session.execute(text(f"UPDATE {table} SET {column} = 'shipped' WHERE id = :id"),
                           {"id": row_id})
