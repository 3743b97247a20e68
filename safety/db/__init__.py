"""Persistence: SQLAlchemy 2 models, sessions and Alembic migrations (a shell around the domain)."""
