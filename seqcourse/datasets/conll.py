"""Full mode of notebook 05: CoNLL-2003 named-entity recognition via TFDS."""

from __future__ import annotations

from seqcourse.datasets.tfds_data import tfds_load


def load_conll2003(split: str = "train", data_dir=None):
    """CoNLL-2003 as ``(tokens, ner_tags, tag_names)``.

    ``tokens``: a ``tf.data.Dataset`` of sentences (1-D string tensors) zipped with their
    ``ner`` tag ids (1-D int64), ``tag_names`` the BIO names of the ids (``"O"``, ``"B-PER"``, …).
    About 1 MB; downloads on first use (see :func:`~seqcourse.datasets.tfds_data.tfds_load`).
    """
    ds, info = tfds_load("conll2003", split, data_dir, with_info=True)
    names = info.features["ner"].feature.names
    return ds.map(lambda example: (example["tokens"], example["ner"])), names
