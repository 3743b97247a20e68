"""The open dictionary of a folder (by default the one bundled in the package), loaded once per
process and folder, and autocoders over it.

``safety code events|drugs`` must work with no database: it reads the configured dictionary
folder (``settings.dictionaries``) and keeps the built index for the life of the process
(building it takes well under a second, see ``bench/coding.py``, so no on-disk cache is
needed). The optional semantic index of the events coder is the exception: encoding the
dictionary takes a while, so it is stored (``settings.semantic_index_dir``) and reused.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from safety.coding.autocoder import Autocoder
from safety.coding.open_dictionary import load_open_dictionary
from safety.coding.paths import curation_dir
from safety.coding.semantic import Embedder, load_embedder
from safety.coding.terminology import Terminology
from safety.package_data import BUNDLED_DICTIONARIES


def bundled_autocoder(kind: str, path: Path = BUNDLED_DICTIONARIES,
                      index_dir: Path | None = None) -> Autocoder:
    """The autocoder over the open dictionary in ``path``, with that folder's curation.

    With ``index_dir`` (``settings.semantic_index_dir`` when ``settings.semantic_coding`` is
    "auto") the events coder uses semantic retrieval if the extra is installed."""
    if index_dir is not None and kind == "events":
        embedder = semantic_embedder()
        if embedder is not None:
            return _semantic_autocoder(path, index_dir)
    return _autocoder(kind, path)


@lru_cache(maxsize=1)
def semantic_embedder() -> Embedder | None:
    """The sentence-embedding model, loaded once per process; None without the extra."""
    return load_embedder()


@lru_cache(maxsize=2)
def _semantic_autocoder(path: Path, index_dir: Path) -> Autocoder:
    events, _ = _terminologies(path)
    return Autocoder(events, "events", curation=curation_dir(path),
                     embedder=semantic_embedder(), index_dir=index_dir)


# The caches take the folder positionally, so that the default and the same folder named
# explicitly share one entry (functools keys the arguments as given): one index per folder.
@lru_cache(maxsize=2)
def _terminologies(path: Path) -> tuple[Terminology, Terminology]:
    return load_open_dictionary(path)


@lru_cache(maxsize=4)
def _autocoder(kind: str, path: Path) -> Autocoder:
    events, drugs = _terminologies(path)
    return Autocoder(events if kind == "events" else drugs, kind, curation=curation_dir(path))
