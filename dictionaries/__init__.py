"""Installed as ``safety.dictionaries`` (see ``safety/package_data.py``); data only, no code."""
