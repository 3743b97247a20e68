"""The open dictionary of a folder (by default the one bundled in the package), loaded once per
process and folder, and autocoders over it.

``safety code events|drugs`` must work with no database: it reads the configured dictionary
folder (``settings.dictionaries``) and keeps the built index for the life of the process.
Building it is most of a one-line call's time (issue 20: the command is to start in under
0.3 s), so the command also keeps the built autocoder in a cache folder
(``cached_autocoder``), keyed on every file of the dictionary folder (name, size, time
modified) and on the coding modules themselves: a changed dictionary or a new version of the
code builds afresh. The cache is this user's own folder, written atomically; anything wrong
with it (unreadable, another Python) just builds the index again.
The optional semantic index of the events coder is stored apart
(``settings.semantic_index_dir``) and reused: encoding the dictionary takes a while, and a
coder holding the model is not pickled.
"""

from __future__ import annotations

import copy
import hashlib
import os
import pickle
import sys
import tempfile
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
    """The sentence-embedding model, loaded once per process (on its first use); None without
    the extra."""
    return load_embedder()


def with_semantic(coder: Autocoder, index_dir: Path | None) -> Autocoder:
    """``coder`` with semantic retrieval when ``index_dir`` is given (semantic coding on), it
    codes events and the extra is installed; else ``coder`` itself.

    A copy: the lexical coder may be shared (cached in this process) and stays lexical. The
    stored index is read with NumPy; the model loads only when a term reaches it."""
    if index_dir is None or coder.kind != "events" or coder.semantic is not None:
        return coder
    embedder = semantic_embedder()
    if embedder is None:
        return coder
    semantic = copy.copy(coder)
    semantic.attach_semantic(embedder, index_dir)
    return semantic


@lru_cache(maxsize=2)
def _semantic_autocoder(path: Path, index_dir: Path) -> Autocoder:
    return with_semantic(_autocoder("events", path), index_dir)


# The caches take the folder positionally, so that the default and the same folder named
# explicitly share one entry (functools keys the arguments as given): one index per folder.
@lru_cache(maxsize=2)
def _terminologies(path: Path) -> tuple[Terminology, Terminology]:
    return load_open_dictionary(path)


@lru_cache(maxsize=4)
def _autocoder(kind: str, path: Path) -> Autocoder:
    events, drugs = _terminologies(path)
    return Autocoder(events if kind == "events" else drugs, kind, curation=curation_dir(path))


def _fingerprint(kind: str, path: Path) -> str:
    """What the built autocoder depends on: the dictionary folder's files and the code."""
    h = hashlib.sha256(f"{kind}\0{path.resolve()}\0{sys.version}".encode())
    code = Path(__file__).parent
    for folder in (path, code):
        for f in sorted(p for p in folder.rglob("*") if p.is_file()):
            st = f.stat()
            h.update(f"{f}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:32]


def cached_autocoder(kind: str, path: Path, cache_dir: Path) -> Autocoder:
    """``bundled_autocoder``, kept built in ``cache_dir`` between processes."""
    file = cache_dir / f"autocoder-{kind}-{_fingerprint(kind, path)}.pickle"
    try:
        with file.open("rb") as f:
            coder = pickle.load(f)
        if isinstance(coder, Autocoder):
            return coder
    except Exception:  # noqa: BLE001 - any unreadable cache is rebuilt
        pass
    coder = bundled_autocoder(kind, path)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for old in cache_dir.glob(f"autocoder-{kind}-*.pickle"):
            old.unlink(missing_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(coder, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, file)
    except OSError:
        pass  # no cache this time; the next call builds again
    return coder
