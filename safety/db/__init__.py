"""Persistence platform: the declarative base and its record guards, engines and sessions,
Alembic migrations. Each feature keeps its tables in its own ``store.py``."""
