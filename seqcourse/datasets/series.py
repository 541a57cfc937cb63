"""Real time series for forecasting (notebook 10).

Embedded (from ``statsmodels.datasets``, installed with the course): the weekly Mauna Loa
atmospheric CO2 record 1958-2001 (2,284 weeks, 59 missing) and yearly sunspot numbers
1700-2008. Full: the Jena climate record (14 weather variables every 10 minutes, 2009-2016),
downloaded with ``keras.utils.get_file``. Cards in ``data/README.md``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

JENA_URL = (
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/jena_climate_2009_2016.csv.zip"
)
JENA_TIME_COLUMN = "Date Time"
JENA_TIME_FORMAT = "%d.%m.%Y %H:%M:%S"


def fill_gaps(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation over missing values (NaN) between the known neighbours.

    values: (steps,) float. Returns ``(filled, was_missing)``, both (steps,). Raises
    ValueError if the series starts or ends with a gap (nothing to interpolate from) or is
    all missing.
    """
    values = np.asarray(values, float)
    missing = np.isnan(values)
    if missing.all():
        raise ValueError("the series has no observed values")
    if missing[0] or missing[-1]:
        raise ValueError("the series starts or ends with missing values; trim them first")
    steps = np.arange(len(values))
    filled = values.copy()
    filled[missing] = np.interp(steps[missing], steps[~missing], values[~missing])
    return filled, missing


def load_co2():
    """Weekly CO2 at Mauna Loa (ppm): ``(dates, values, was_missing)``; dates as numpy
    datetime64[D], values with the 59 missing weeks filled by :func:`fill_gaps`."""
    from statsmodels.datasets import co2

    frame = co2.load_pandas().data
    values, missing = fill_gaps(frame["co2"].to_numpy())
    return frame.index.to_numpy().astype("datetime64[D]"), values, missing


def load_sunspots():
    """Yearly mean sunspot number 1700-2008: ``(years, values)``, int and float arrays."""
    from statsmodels.datasets import sunspots

    frame = sunspots.load_pandas().data
    return frame["YEAR"].to_numpy().astype(int), frame["SUNACTIVITY"].to_numpy(float)


def load_jena_csv(path: str | Path):
    """Parse a Jena climate CSV: ``(times, values, column_names)``.

    times: datetime64[s] (steps,); values: float32 (steps, variables). Raises ValueError
    naming the line for a missing time column, an unparseable time or number, a row with
    the wrong number of fields, or times that go backwards.
    """
    from datetime import datetime

    path = Path(path)
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header or header[0] != JENA_TIME_COLUMN:
            raise ValueError(f"{path}: the first column must be {JENA_TIME_COLUMN!r}, got {header}")
        times, rows = [], []
        for line, row in enumerate(reader, start=2):
            if len(row) != len(header):
                raise ValueError(f"{path}, line {line}: {len(row)} fields, expected {len(header)}")
            try:
                times.append(datetime.strptime(row[0], JENA_TIME_FORMAT))
                rows.append([float(x) for x in row[1:]])
            except ValueError as error:
                raise ValueError(f"{path}, line {line}: {error}") from error
    if not rows:
        raise ValueError(f"{path}: no data rows")
    times = np.array(times, dtype="datetime64[s]")
    if np.any(np.diff(times) <= np.timedelta64(0, "s")):
        bad = int(np.argmax(np.diff(times) <= np.timedelta64(0, "s"))) + 3
        raise ValueError(f"{path}, line {bad}: time does not increase")
    return times, np.array(rows, np.float32), header[1:]


def load_jena_climate(cache_dir: str | Path | None = None):
    """Download (once, ~13 MB zipped) and parse the Jena climate record with :func:`load_jena_csv`."""
    import keras

    from seqcourse.datasets.tfds_data import DATA_DIR

    archive = keras.utils.get_file(
        origin=JENA_URL, cache_dir=str(cache_dir or DATA_DIR), cache_subdir="jena", extract=True
    )
    found = sorted(Path(archive).parent.rglob("jena_climate_2009_2016.csv"))
    if not found:
        raise FileNotFoundError(f"jena_climate_2009_2016.csv not found after extracting {archive}")
    return load_jena_csv(found[0])
