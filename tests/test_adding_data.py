"""The adding problem (notebook 02)."""

import numpy as np
import pytest

from seqcourse.datasets import load_adding_problem


def test_adding_problem_shapes_markers_and_targets():
    x, y = load_adding_problem(50, 20, seed=3)
    assert x.shape == (50, 20, 2) and y.shape == (50,) and x.dtype == y.dtype == np.float32
    markers = x[..., 1]
    assert np.all(markers.sum(axis=1) == 2)
    assert np.all(markers[:, :10].sum(axis=1) == 1) and np.all(markers[:, 10:].sum(axis=1) == 1)
    np.testing.assert_allclose(y, (x[..., 0] * markers).sum(axis=1), rtol=1e-6)
    assert 0 <= x[..., 0].min() and x[..., 0].max() < 1


def test_adding_problem_is_deterministic_by_seed():
    a, b, c = (load_adding_problem(10, 8, seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


def test_predicting_the_mean_gives_one_sixth():
    _, y = load_adding_problem(20000, 10, seed=0)
    assert abs(np.mean((y - 1.0) ** 2) - 1 / 6) < 0.01


@pytest.mark.parametrize(("n", "length"), [(0, 10), (5, 1), (5, 2.5)])
def test_adding_problem_rejects_bad_sizes(n, length):
    with pytest.raises(ValueError, match="n must|length must"):
        load_adding_problem(n, length)
