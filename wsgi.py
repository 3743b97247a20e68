"""WSGI entry point for gunicorn: ``gunicorn wsgi:app``."""

from safety.app import create_app

app = create_app()
