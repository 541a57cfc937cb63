"""Full mode of notebook 03: the IMDB movie reviews (25,000 train / 25,000 test) via TFDS."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR = Path(os.environ.get("SEQCOURSE_DATA", Path.home() / "seqcourse_data")) / "tfds"


def load_imdb_reviews(split: str = "train", data_dir: str | Path | None = None):
    """IMDB reviews as a ``tf.data.Dataset`` of ``(text, label)``: text a string scalar,
    label an int64 0 (negative) or 1 (positive).

    Downloads about 80 MB on first use (into ``data_dir``, default ``~/seqcourse_data/tfds``
    or ``$SEQCOURSE_DATA/tfds``). ``split`` is any TFDS split string, e.g. ``"train"``,
    ``"test"`` or ``"train[:90%]"``.
    """
    import tensorflow_datasets as tfds

    return tfds.load(
        "imdb_reviews",
        split=split,
        as_supervised=True,
        data_dir=str(data_dir or DATA_DIR),
        download=True,
    )
