"""ses_udf.scoring and the embedder factory, outside the database."""

from __future__ import annotations

import numpy as np
import pytest
from ses_udf import hash_tower
from ses_udf.embedders import EmbedderUnavailableError, create_embedder
from ses_udf.scoring import similarity_score_matrix, similarity_scores, top_k_per_row


def unit_rows(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    m = rng.normal(size=(n, d)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_scores_match_the_seed_similarity_closely() -> None:
    rng = np.random.default_rng(1)
    talents, project = unit_rows(rng, 50, 32), unit_rows(rng, 1, 32)[0]
    talents[3] = 0.0
    fast = similarity_scores(project, talents)
    exact = np.array([hash_tower.similarity(project, t) for t in talents])
    assert np.max(np.abs(fast - exact)) < 1e-6
    assert fast[3] == 0.0
    assert similarity_scores(np.zeros(32, np.float32), talents).tolist() == [0.0] * 50


def test_matrix_agrees_with_rowwise() -> None:
    """BLAS may block a matrix product differently from a matrix-vector one: the
    last float32 bit can differ, nothing more."""
    rng = np.random.default_rng(2)
    projects, talents = unit_rows(rng, 7, 16), unit_rows(rng, 30, 16)
    projects[2] = 0.0
    matrix = similarity_score_matrix(projects, talents)
    for i, p in enumerate(projects):
        np.testing.assert_allclose(matrix[i], similarity_scores(p, talents), rtol=0, atol=6e-8)


def test_dimension_mismatch_is_named() -> None:
    with pytest.raises(ValueError, match="dimension mismatch"):
        similarity_scores(np.ones(4, np.float32), np.ones((2, 5), np.float32))


def test_top_k_breaks_ties_by_smaller_id_even_at_the_boundary() -> None:
    scores = np.array([[0.5, 0.9, 0.5, 0.5, 0.1]], dtype=np.float32)
    ids = np.array([40, 10, 30, 20, 50])
    ((_, chosen, best),) = top_k_per_row(scores, ids, 3)
    assert chosen.tolist() == [10, 20, 30]
    assert best.tolist() == pytest.approx([0.9, 0.5, 0.5])
    ((_, everything, _),) = top_k_per_row(scores, ids, 10)
    assert everything.tolist() == [10, 20, 30, 40, 50]


def test_factory() -> None:
    embedder = create_embedder("hash", 64)
    assert (embedder.name, embedder.version, embedder.dimension) == ("hash", "v2", 64)
    ids, matrix = embedder.embed_batch([1, 2], [1], ["skill:java"], [1.0])
    assert ids.tolist() == [1, 2] and matrix.shape == (2, 64) and not matrix[1].any()
    with pytest.raises(EmbedderUnavailableError, match="'onnx' has no deployed model"):
        create_embedder("onnx")
    with pytest.raises(ValueError, match="unknown embedder 'bert'"):
        create_embedder("bert")


def test_similarity_of_a_talent_does_not_depend_on_the_others() -> None:
    """The match path scores shortlists and whole caches alike: same bits."""
    rng = np.random.default_rng(2)
    talents = rng.standard_normal((5003, 256)).astype(np.float32)
    talents /= np.linalg.norm(talents, axis=1, keepdims=True)
    project = rng.standard_normal(256).astype(np.float32)
    project /= np.linalg.norm(project)
    full = similarity_scores(project, talents)
    for size in (1, 2, 3, 7, 64, 999):
        rows = np.sort(rng.choice(len(talents), size, replace=False))
        assert np.array_equal(similarity_scores(project, talents[rows]), full[rows])
    assert np.array_equal(similarity_scores(project, talents[1:]), full[1:])  # unaligned start
