"""The bundled open dictionary, loaded once per process, and autocoders over it.

``safety code events|drugs`` must work with no database: it reads ``dictionaries/`` and keeps
the built index for the life of the process (building it takes well under a second, see
``bench/coding.py``, so no on-disk cache is needed).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from safety.coding.autocoder import Autocoder
from safety.coding.open_dictionary import load_open_dictionary
from safety.coding.paths import dictionary_dir
from safety.coding.terminology import Terminology


@lru_cache(maxsize=2)
def bundled_terminologies(path: Path | None = None) -> tuple[Terminology, Terminology]:
    return load_open_dictionary(path or dictionary_dir())


@lru_cache(maxsize=4)
def bundled_autocoder(kind: str, path: Path | None = None) -> Autocoder:
    events, drugs = bundled_terminologies(path)
    return Autocoder(events if kind == "events" else drugs, kind)
