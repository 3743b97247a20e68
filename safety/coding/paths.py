"""The parts of a dictionary folder.

The open dictionary ships inside the package (``safety.package_data.BUNDLED_DICTIONARIES``, the
repository's ``dictionaries/``). A deployment may keep its own copy (``SAFETY_DICTIONARIES``);
the services pass ``settings.dictionaries`` in, so nothing here depends on the environment or
on where the source tree is.
"""

from __future__ import annotations

from pathlib import Path

from safety.package_data import BUNDLED_DICTIONARIES


def curation_dir(dictionaries: Path = BUNDLED_DICTIONARIES) -> Path:
    """The team-curated normalisation lists and autocoder thresholds of a dictionary folder."""
    return dictionaries / "curation"
