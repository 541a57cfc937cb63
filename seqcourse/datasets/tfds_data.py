"""Where full-mode TFDS datasets are downloaded to, and the one call that loads them."""

from __future__ import annotations

import os
from pathlib import Path

from seqcourse.runtime import DATA_ENV

DATA_DIR = Path(os.environ.get(DATA_ENV, Path.home() / "seqcourse_data")) / "tfds"


def tfds_load(name: str, split: str, data_dir: str | Path | None = None, **kwargs):
    """``tfds.load(name, split=...)`` into ``data_dir`` (default ``~/seqcourse_data/tfds`` or
    ``$SEQCOURSE_DATA/tfds``), downloading on first use."""
    import tensorflow_datasets as tfds

    return tfds.load(name, split=split, data_dir=str(data_dir or DATA_DIR), download=True, **kwargs)
