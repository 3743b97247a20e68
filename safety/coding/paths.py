"""Where the bundled dictionary lives.

The built files ship in the repository's ``dictionaries/`` directory. An installed package
finds them through ``SAFETY_DICTIONARIES`` (set by the deployment), otherwise next to the
source tree.
"""

from __future__ import annotations

import os
from pathlib import Path


def dictionary_dir() -> Path:
    configured = os.environ.get("SAFETY_DICTIONARIES")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "dictionaries"


def curation_dir() -> Path:
    return dictionary_dir() / "curation"
