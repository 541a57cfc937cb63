"""Test-suite set-up shared by the unit tests and the notebook suite.

Environment variables set here are inherited by every notebook kernel: fast mode, strict
targets, quiet TensorFlow logs, a headless matplotlib and GPU memory growth so that parallel
kernels can share one GPU.

Every notebook under ``notebooks/`` (the masters) and ``exercises/`` (the student copies, whose
stubs fall back on the course's reference) is executed by nbval (``--nbval-lax`` in
``pyproject.toml``: a cell fails when it raises; outputs are not compared). Each notebook's
last cell, ``check_targets``, raises in strict mode when a fast target is missed or a targeted
metric (``seqcourse/targets.toml``) is not recorded — so a notebook that stops learning fails
the suite, not only the benchmark. Wall time is reported by ``seqcourse run``, not asserted
here. For a notebook with a failing cell, its executed copy (outputs so far) and its kernel's
log go to ``runs/tests/<folder>/``. nbval's kernels, and those of ``seqcourse run`` called in
this process, are forked from a process that imported TensorFlow once
(``tests/forked_kernels.py``; ``SEQCOURSE_FRESH_KERNELS=1``: fresh processes).
"""

import json
import os
import sys
from pathlib import Path

import pytest

from seqcourse.runtime import FAST_ENV, STRICT_TARGETS_ENV

os.environ[FAST_ENV] = "1"
os.environ[STRICT_TARGETS_ENV] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")

RUNS = Path(__file__).parent / "runs" / "tests"


@pytest.fixture(autouse=True)
def _doctest_names(request):
    """Docstring examples (``--doctest-modules`` on ``seqcourse``) may use ``np`` and ``keras``
    without importing them; Keras is imported only when a doctest runs."""
    if isinstance(request.node, pytest.DoctestItem):
        import keras
        import numpy as np

        request.getfixturevalue("doctest_namespace").update(np=np, keras=keras)


GRADESCOPE_SCHEMA = Path(__file__).parent / "tests" / "gradescope_results.schema.json"
_GRADESCOPE_PROBLEMS: list[str] = []


@pytest.fixture(autouse=True, scope="session")
def _gradescope_results_follow_the_specification():
    """Every Gradescope results.json the suite makes (``SubmissionResult.gradescope``, in the
    grader's process) is validated against Gradescope's specification
    (tests/gradescope_results.schema.json); a violation fails the session at its end, naming
    the submission, even when the grader caught the error."""
    import jsonschema

    from seqcourse.grading import results

    validator = jsonschema.Draft202012Validator(json.loads(GRADESCOPE_SCHEMA.read_text()))
    original = results.SubmissionResult.gradescope

    def checked(self, *args, **kwargs):
        data = original(self, *args, **kwargs)
        for error in validator.iter_errors(json.loads(json.dumps(data))):
            _GRADESCOPE_PROBLEMS.append(f"{self.submission}: {error.message} at {list(error.path)}")
        return data

    results.SubmissionResult.gradescope = checked
    yield
    results.SubmissionResult.gradescope = original
    assert not _GRADESCOPE_PROBLEMS, (
        "results.json not to Gradescope's specification:\n" + "\n".join(_GRADESCOPE_PROBLEMS[:20])
    )


def _nbval_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell"


def _artefact(notebook: Path, suffix: str) -> Path:
    """Where a notebook's executed copy or kernel log goes: runs/tests/<folder>/<name>."""
    folder = RUNS / notebook.parent.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{notebook.stem}{suffix}"


_RUNNING: dict[str, Path] = {}  # the notebook whose kernel nbval is about to start


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    if _nbval_cell(item):
        _RUNNING["notebook"] = Path(item.parent.path)
    yield


def _logging_kernel_start(start):
    """nbval's kernel start with the kernel's stderr in runs/tests/<folder>/<name>.log (nbval
    itself sends it to /dev/null), so a crash or a warning is on file."""

    def start_new_kernel(*args, **kwargs):
        if "notebook" in _RUNNING:
            kwargs["stderr"] = open(_artefact(_RUNNING["notebook"], ".log"), "w")  # noqa: SIM115
        return start(*args, **kwargs)

    return start_new_kernel


def pytest_configure(config):
    if config.pluginmanager.hasplugin("nbval"):
        import importlib.util

        import nbval.kernel

        from seqcourse.execution import CappedClient

        nbval.kernel.start_new_kernel = _logging_kernel_start(nbval.kernel.start_new_kernel)
        where = Path(__file__).parent / "tests" / "forked_kernels.py"
        spec = importlib.util.spec_from_file_location("forked_kernels", where)
        forked_kernels = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(forked_kernels)
        sys.modules["forked_kernels"] = forked_kernels  # the tests' import: the same server
        nbval.kernel.KernelManager = forked_kernels.ForkedKernelManager
        CappedClient.default_kernel_manager = forked_kernels.ForkedRunnerKernelManager


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each executed cell's outputs in the notebook; when a cell fails, write the executed
    copy so far to runs/tests/<folder>/<name>.ipynb."""
    outcome = yield
    if not _nbval_cell(item) or call.when != "call":
        return
    import nbformat

    outputs = getattr(item, "test_outputs", None) or []
    item.cell.outputs = [nbformat.from_dict(o) for o in outputs]
    if outcome.get_result().failed:
        nbformat.write(item.parent.nb, _artefact(Path(item.parent.path), ".ipynb"))
