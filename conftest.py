"""Test-suite set-up shared by the unit tests and the notebook suite.

Environment variables set here are inherited by every notebook kernel: fast mode, quiet
TensorFlow logs, a headless matplotlib and GPU memory growth so that parallel kernels can
share one GPU.

Every notebook under ``notebooks/`` is also a test: it is executed in fast mode by the same
code as ``seqcourse run --fast`` and fails when a cell raises, when a metric named in its
``targets`` or ``fast_targets`` (``seqcourse/targets.toml``) is not recorded, or when a fast
target is missed — so a notebook that stops learning fails the suite, not only the benchmark.
Wall time is reported by ``seqcourse run``, not asserted here. Executed copies and kernel logs
go to ``runs/tests/``.
"""

import os
from pathlib import Path

import pytest

from seqcourse.runtime import FAST_ENV

os.environ[FAST_ENV] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")

NOTEBOOK_CELL_TIMEOUT = 600  # seconds; a hung fast-mode cell fails instead of stalling CI
RUNS = Path(__file__).parent / "runs" / "tests"


@pytest.fixture(autouse=True)
def _doctest_names(request):
    """Docstring examples (``--doctest-modules`` on ``seqcourse``) may use ``np`` and ``keras``
    without importing them; Keras is imported only when a doctest runs."""
    if isinstance(request.node, pytest.DoctestItem):
        import keras
        import numpy as np

        request.getfixturevalue("doctest_namespace").update(np=np, keras=keras)


def pytest_collect_file(file_path: Path, parent):
    if file_path.suffix == ".ipynb" and file_path.parent.name == "notebooks":
        return NotebookFile.from_parent(parent, path=file_path)
    return None


class NotebookFile(pytest.File):
    def collect(self):
        yield NotebookItem.from_parent(self, name="fast-mode run")


class NotebookFailed(Exception):
    """A notebook raised, or missed or did not record a target."""


class NotebookItem(pytest.Item):
    def runtest(self):
        from seqcourse.runner import run_notebook

        result = run_notebook(
            self.path,
            fast=True,
            out_dir=RUNS,
            cell_timeout=NOTEBOOK_CELL_TIMEOUT,
            log=RUNS / f"{self.path.stem}.log",
        )
        problems = result.problems(check_budget=False)
        if problems:
            raise NotebookFailed(result, problems)

    def repr_failure(self, excinfo, style=None):
        if not isinstance(excinfo.value, NotebookFailed):
            return super().repr_failure(excinfo, style)
        result, problems = excinfo.value.args
        lines = [f"{self.path.name} (fast mode):", *(f"  - {p}" for p in problems)]
        if result.error_detail:
            lines += ["", result.error_detail]
        lines += ["", f"executed copy: {RUNS / self.path.name}", f"kernel log: {result.log}"]
        return "\n".join(lines)

    def reportinfo(self):
        return self.path, None, f"{self.path.name} (fast mode)"
