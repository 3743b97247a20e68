"""Alembic environment: the URL comes from SafetyDesk's settings (or -x url=...)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, pool

from safety.config import load_settings
from safety.db.base import Base
from safety.db.session import get_engine, import_all_models, normalise_url

import_all_models()
target_metadata = Base.metadata

config = context.config

# Indexes a migration makes for one database only, which the models cannot declare: the model
# check (``safety db check``) leaves them alone. 0016: the event terms' trigram index.
UNMODELLED_INDEXES = frozenset({"ix_queue_terms_event_trgm"})


def _include(obj: object, name: str | None, type_: str, reflected: bool,
             compare_to: object) -> bool:
    return not (type_ == "index" and name in UNMODELLED_INDEXES)


def _default_url() -> str:
    settings = load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    return settings.effective_database_url

url = (
    context.get_x_argument(as_dictionary=True).get("url")
    or config.get_main_option("sqlalchemy.url")
    or _default_url()
)
url = normalise_url(url)


def run_offline() -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = get_engine(url) if not url.startswith("sqlite") else None
        if engine is None:
            from sqlalchemy import create_engine

            engine = create_engine(url, poolclass=pool.NullPool)
        with engine.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_include,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
