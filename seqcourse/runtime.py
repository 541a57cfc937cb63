"""Run-time switches shared by every notebook: seeding, the fast/default mode, metric records.

* ``SEQCOURSE_FAST=1`` selects *fast* mode (tiny slices, one epoch): what the test suite runs.
* ``SEQCOURSE_GRADING=1`` is set by the autograder while it executes a submission.
* ``SEQCOURSE_RECORD_FILE=path`` makes :func:`record` append its metrics to that JSON-lines
  file; ``seqcourse run`` sets it to collect each notebook's results.
* ``SEQCOURSE_DATA=folder`` is where full-mode downloads go (default ``~/seqcourse_data``).
* ``SEQCOURSE_STRICT_TARGETS=1`` makes a notebook's last cell (:func:`seqcourse.targets.
  check_targets`) raise when the run missed a target; the test suite sets it.

Other modules use the names below, never the strings.
"""

from __future__ import annotations

import json
import math
import os
import platform
import random
import sys
from dataclasses import dataclass

FAST_ENV = "SEQCOURSE_FAST"
GRADING_ENV = "SEQCOURSE_GRADING"
RECORD_FILE_ENV = "SEQCOURSE_RECORD_FILE"
DATA_ENV = "SEQCOURSE_DATA"
STRICT_TARGETS_ENV = "SEQCOURSE_STRICT_TARGETS"

_RECORDED: dict[str, float] = {}  # this kernel's records, for check_targets

_TRUE = {"1", "true", "yes", "on"}


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def is_fast() -> bool:
    """True when ``SEQCOURSE_FAST`` is set: notebooks shrink data and epochs to run in seconds."""
    return _flag(FAST_ENV)


def strict_targets() -> bool:
    """Should a missed target raise (the test suite), not only be reported?"""
    return _flag(STRICT_TARGETS_ENV) and not is_grading()


def recorded() -> dict[str, float]:
    """The metrics :func:`record` has recorded in this process, by name (the last value)."""
    return dict(_RECORDED)


def is_grading() -> bool:
    """True while the autograder executes a submission (``SEQCOURSE_GRADING=1``)."""
    return _flag(GRADING_ENV)


def in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules


def scale(default, fast):
    """Pick a size by mode: ``default`` normally, ``fast`` when ``SEQCOURSE_FAST=1``.

    Every size that drives run time (samples, epochs, units) goes through this helper, so a
    notebook reads the same in both modes: ``epochs = scale(default=20, fast=1)``.
    """
    return fast if is_fast() else default


@dataclass(frozen=True)
class RuntimeInfo:
    """What :func:`setup` found: the mode, library versions and the compute device."""

    mode: str
    seed: int
    python: str
    tensorflow: str
    keras: str
    device: str
    colab: bool
    deterministic: bool
    grading: bool = False

    def summary(self) -> str:
        """One line per fact, for the setup cell's output."""
        return "\n".join(
            [
                f"seqcourse mode : {self.mode}"
                + ("  (SEQCOURSE_FAST=1)" if self.mode == "fast" else "")
                + ("  [autograder run]" if self.grading else ""),
                f"seed           : {self.seed}  (deterministic ops: {'on' if self.deterministic else 'off'})",
                f"versions       : Python {self.python}, TensorFlow {self.tensorflow}, Keras {self.keras}",
                f"device         : {self.device}",
                f"Colab          : {'yes' if self.colab else 'no'}",
            ]
        )


def setup(seed: int = 42, deterministic: bool | None = None, quiet: bool = False) -> RuntimeInfo:
    """Seed every random generator, configure devices and print what the notebook runs on.

    Args:
        seed: seeds Python's ``random``, NumPy and Keras/TensorFlow (``keras.utils.set_random_seed``).
        deterministic: make TensorFlow ops deterministic. ``None`` (default) turns it on when no
            GPU is visible; on a GPU some ops have no deterministic kernel, so it stays off there.
        quiet: do not print the summary.

    Returns:
        A :class:`RuntimeInfo` with the mode, versions and device.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np
    import tensorflow as tf

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:  # lets parallel notebook kernels share one GPU
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # devices already initialised by an earlier call: keep going
            pass
    if deterministic is None:
        deterministic = not gpus
    if deterministic:
        tf.config.experimental.enable_op_determinism()

    if gpus:
        names = [
            tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus
        ]
        device = f"GPU x{len(gpus)} ({', '.join(names)})"
    else:
        device = f"CPU only ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"

    info = RuntimeInfo(
        mode="fast" if is_fast() else "default",
        seed=seed,
        python=platform.python_version(),
        tensorflow=tf.__version__,
        keras=keras.__version__,
        device=device,
        colab=in_colab(),
        deterministic=bool(deterministic),
        grading=is_grading(),
    )
    if not quiet:
        print(info.summary())
    return info


def record(name: str, value) -> float:
    """Record a metric this notebook is meant to reach (e.g. ``record("test_accuracy", 0.97)``).

    The value is printed; when ``SEQCOURSE_RECORD_FILE`` is set (``seqcourse run`` sets it) it is
    also appended there, and the runner compares it with the notebook's targets in
    ``seqcourse/targets.toml``.

    Raises:
        TypeError: if ``value`` is not a real number (a scalar array or tensor is accepted).
        ValueError: if ``name`` is empty or ``value`` is NaN or infinite.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(
            "record(name, value): name must be a non-empty string such as 'test_accuracy'"
        )
    try:
        number = float(value)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"record({name!r}, ...): value must be a number, got {type(value).__name__}; "
            "pass a Python float or a scalar array/tensor"
        ) from err
    if not math.isfinite(number):
        raise ValueError(
            f"record({name!r}, ...): value is {number}; a recorded metric must be finite"
        )
    print(f"recorded {name} = {number:.6g}")
    _RECORDED[name] = number
    path = os.environ.get(RECORD_FILE_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"name": name, "value": number}) + "\n")
    return number
