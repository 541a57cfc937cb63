"""A reader's own labelled texts: a CSV file with a text column and a binary label column."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

_LABELS = {"0": 0, "1": 1, "neg": 0, "pos": 1, "negative": 0, "positive": 1, "false": 0, "true": 1}


def load_csv_reviews(path: str | Path, text_column: str = "text", label_column: str = "label"):
    """Read ``(texts, labels)`` from a CSV file with a header row.

    Labels may be written 0/1, neg/pos, negative/positive or false/true (any case).

    Returns:
        ``texts`` array of str (n,), ``labels`` int32 array of 0/1 (n,).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a column is missing, a text is empty, a label is not binary, or the file
            has no rows — the message names the row and the fix.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file; pass the path of your CSV of reviews")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        missing = [c for c in (text_column, label_column) if c not in columns]
        if missing:
            raise ValueError(
                f"{path}: missing column(s) {missing}; the header has {columns}. Rename them or "
                f"pass text_column=/label_column="
            )
        texts, labels = [], []
        for row_number, row in enumerate(reader, start=2):  # row 1 is the header
            text = (row[text_column] or "").strip()
            if not text:
                raise ValueError(
                    f"{path}, row {row_number}: the text is empty; remove the row or fill it in"
                )
            raw = (row[label_column] or "").strip()
            if raw.lower() not in _LABELS:
                raise ValueError(
                    f"{path}, row {row_number}: label {raw!r} is not binary; use 0/1 (or "
                    "neg/pos, negative/positive, false/true)"
                )
            texts.append(text)
            labels.append(_LABELS[raw.lower()])
    if not texts:
        raise ValueError(f"{path}: no rows under the header")
    return np.array(texts), np.array(labels, dtype="int32")
