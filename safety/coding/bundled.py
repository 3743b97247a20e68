"""The open dictionary of a folder (by default the one bundled in the package), loaded once per
process and folder, and autocoders over it.

``safety code events|drugs`` must work with no database: it reads the configured dictionary
folder (``settings.dictionaries``) and keeps the built index for the life of the process
(building it takes well under a second, see ``bench/coding.py``, so no on-disk cache is
needed).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from safety.coding.autocoder import Autocoder
from safety.coding.open_dictionary import load_open_dictionary
from safety.coding.paths import curation_dir
from safety.coding.terminology import Terminology
from safety.package_data import BUNDLED_DICTIONARIES


def bundled_autocoder(kind: str, path: Path = BUNDLED_DICTIONARIES) -> Autocoder:
    """The autocoder over the open dictionary in ``path``, with that folder's curation."""
    return _autocoder(kind, path)


# The caches take the folder positionally, so that the default and the same folder named
# explicitly share one entry (functools keys the arguments as given): one index per folder.
@lru_cache(maxsize=2)
def _terminologies(path: Path) -> tuple[Terminology, Terminology]:
    return load_open_dictionary(path)


@lru_cache(maxsize=4)
def _autocoder(kind: str, path: Path) -> Autocoder:
    events, drugs = _terminologies(path)
    return Autocoder(events if kind == "events" else drugs, kind, curation=curation_dir(path))
