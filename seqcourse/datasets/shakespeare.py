"""Full mode of notebook 04: Tiny Shakespeare (about 1 MB of plays) via TFDS."""

from __future__ import annotations

from seqcourse.datasets.tfds_data import tfds_load


def load_tiny_shakespeare(split: str = "train", data_dir=None) -> str:
    """The text of one split (``"train"``, ``"validation"`` or ``"test"``) as one string.

    Downloads about 1 MB on first use (see :func:`~seqcourse.datasets.tfds_data.tfds_load`).
    """
    ds = tfds_load("tiny_shakespeare", split, data_dir)
    return "".join(example["text"].decode("utf-8") for example in ds.as_numpy_iterator())
