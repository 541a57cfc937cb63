"""A reader's own labelled texts: a CSV file with a text column and a binary label column.

Reads what spreadsheets and scripts actually write: a UTF-8 byte-order mark (Excel's "CSV
UTF-8"), Windows line endings, labels written ``0.0``/``1.0``, extra columns. Refuses, naming the
file, the row and the fix: bytes that are not UTF-8, a file separated by ``;`` or tabs, a single
class, too few rows to split.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

_LABELS = {"0": 0, "1": 1, "neg": 0, "pos": 1, "negative": 0, "positive": 1, "false": 0, "true": 1}
MIN_ROWS = 10  # the notebook splits 80/10/10: fewer rows leave a part empty


def _label(raw: str) -> int | None:
    """0 or 1 for a label spelled as :data:`_LABELS` or as the number 0 or 1 (``1.0``)."""
    if raw.lower() in _LABELS:
        return _LABELS[raw.lower()]
    try:
        number = float(raw)
    except ValueError:
        return None
    return int(number) if number in (0.0, 1.0) else None


def _text(path: Path) -> str:
    """The file's text, BOM removed; ValueError naming the row of the first non-UTF-8 byte."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        row = data[: err.start].count(b"\n") + 1
        byte = data[err.start : err.start + 1].hex()
        raise ValueError(
            f"{path}, row {row}: byte 0x{byte} is not UTF-8 (the file was saved in another "
            "encoding, e.g. Windows-1252); save it as 'CSV UTF-8' (Excel: Save As > CSV UTF-8) or "
            f"convert it: iconv -f cp1252 -t utf-8 {path.name} > utf8.csv"
        ) from None


def _delimiter_hint(columns: list[str]) -> str:
    """A sentence on the delimiter when the header looks separated by ';' or tabs."""
    if len(columns) == 1:
        for mark, name in ((";", "';'"), ("\t", "a tab")):
            if mark in columns[0]:
                return (
                    f" The delimiter looks like {name}, not ',': save the file as comma-separated"
                    " CSV (spreadsheets in locales with decimal commas write ';')."
                )
    return ""


def load_csv_reviews(
    path: str | Path,
    text_column: str = "text",
    label_column: str = "label",
    for_training: bool = False,
):
    """Read ``(texts, labels)`` from a CSV file with a header row.

    Labels may be written 0/1 (or 0.0/1.0), neg/pos, negative/positive or false/true (any
    case). Columns other than the two named are ignored. ``for_training=True`` (the notebook's
    ``DATA=<csv>``) also requires both classes and at least :data:`MIN_ROWS` rows, so the
    80/10/10 split leaves no part empty.

    Returns:
        ``texts`` array of str (n,), ``labels`` int32 array of 0/1 (n,).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: bytes that are not UTF-8, a column missing (with a hint when the file is
            separated by ';' or tabs), an empty text, a label that is not binary, no rows; for
            training, only one class or fewer than :data:`MIN_ROWS` rows — the message names
            the file, the row and the fix.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file; pass the path of your CSV of reviews")
    reader = csv.DictReader(io.StringIO(_text(path), newline=""))
    columns = reader.fieldnames or []
    missing = [c for c in (text_column, label_column) if c not in columns]
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {missing}; the header has {columns}. Rename them or "
            f"pass text_column=/label_column=.{_delimiter_hint(columns)}"
        )
    texts, labels = [], []
    for row in reader:
        row_number = reader.line_num  # the line the row ends on (row 1 is the header)
        text = (row[text_column] or "").strip()
        if not text:
            raise ValueError(
                f"{path}, row {row_number}: the text is empty; remove the row or fill it in"
            )
        raw = (row[label_column] or "").strip()
        label = _label(raw)
        if label is None:
            raise ValueError(
                f"{path}, row {row_number}: label {raw!r} is not binary; use 0/1 (or "
                "neg/pos, negative/positive, false/true)"
            )
        texts.append(text)
        labels.append(label)
    if not texts:
        raise ValueError(f"{path}: no rows under the header")
    if for_training and len(texts) < MIN_ROWS:
        raise ValueError(
            f"{path}: {len(texts)} row(s); splitting 80/10/10 into training, validation and "
            f"test needs at least {MIN_ROWS} (a few hundred to learn anything): add rows"
        )
    if for_training and len(set(labels)) < 2:
        raise ValueError(
            f"{path}: every row has label {labels[0]}; a classifier needs examples of both "
            "classes (0 and 1)"
        )
    return np.array(texts), np.array(labels, dtype="int32")
