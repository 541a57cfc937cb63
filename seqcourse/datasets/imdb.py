"""Full mode of notebook 03: the IMDB movie reviews (25,000 train / 25,000 test) via TFDS."""

from __future__ import annotations

from seqcourse.datasets.tfds_data import tfds_load


def load_imdb_reviews(split: str = "train", data_dir=None):
    """IMDB reviews as a ``tf.data.Dataset`` of ``(text, label)``: text a string scalar,
    label an int64 0 (negative) or 1 (positive).

    Downloads about 80 MB on first use (see :func:`~seqcourse.datasets.tfds_data.tfds_load`).
    ``split`` is any TFDS split string, e.g. ``"train"``, ``"test"`` or ``"train[:90%]"``.
    """
    return tfds_load("imdb_reviews", split, data_dir, as_supervised=True)
