"""Installed as ``safety.schemas`` (see ``safety/package_data.py``); data only, no code."""
