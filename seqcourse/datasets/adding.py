"""The adding problem (Hochreiter & Schmidhuber, 1997): a long-memory regression benchmark."""

from __future__ import annotations

import numpy as np


def load_adding_problem(n: int, length: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``n`` adding-problem sequences of ``length`` steps.

    Each step carries two features: a value drawn uniformly from [0, 1) and a marker that is 1
    at exactly two steps, one in the first half of the sequence and one in the second half.
    The target is the sum of the two marked values. Predicting the mean (1.0) gives a mean
    squared error of 1/6 ≈ 0.167, the baseline a model must beat to show it remembered.

    Returns:
        ``x`` float32 of shape (n, length, 2) and ``y`` float32 of shape (n,).

    Raises:
        ValueError: if ``n < 1`` or ``length < 2``.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive number of sequences, got {n!r}")
    if not isinstance(length, (int, np.integer)) or length < 2:
        raise ValueError(f"length must be at least 2 (two marked steps), got {length!r}")
    rng = np.random.default_rng(seed)
    values = rng.random((n, length), dtype=np.float32)
    half = length // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, length, size=n)
    markers = np.zeros((n, length), np.float32)
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1)
    y = values[rows, first] + values[rows, second]
    return x, y
