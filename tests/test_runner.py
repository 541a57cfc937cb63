"""``seqcourse run``: time and metrics against targets, parameters, progress, logs, clean-up."""

import io
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from seqcourse.parameters import (
    ParameterError,
    declared_parameters,
    inject_parameters,
    parse_assignment,
)
from seqcourse.runner import NotebookRun, render_report, run, run_notebook
from seqcourse.targets import load_targets

TARGETS = load_targets()["01_rnn_from_scratch"]


def _write(path: Path, *sources: str, parameters: str | None = None) -> Path:
    cells = [new_code_cell(s) for s in sources]
    if parameters is not None:
        cells.insert(0, new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    nbformat.write(new_notebook(cells=cells), path)
    return path


def _processes_carrying(marker: str) -> list[int]:
    """Processes whose environment holds ``marker`` (kernels inherit the runner's environment;
    other tests' kernels running in parallel do not carry it)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


# ----------------------------------------------------------------------------- problems


def test_a_run_within_budget_meeting_every_target_has_no_problem():
    metrics = {t.name: t.threshold for t in TARGETS.targets}  # thresholds themselves pass (>=, <=)
    run_ = NotebookRun("01_rnn_from_scratch", False, 10.0, metrics=metrics, targets=TARGETS)
    assert run_.problems() == []


def test_problems_name_budget_missed_and_missing_targets():
    run_ = NotebookRun(
        "01_rnn_from_scratch",
        False,
        400.0,
        metrics={"delayed_recall_accuracy": 0.5},
        targets=TARGETS,
    )
    problems = "\n".join(run_.problems())
    assert "took 400 s, budget 300 s" in problems
    assert "delayed_recall_accuracy = 0.5, target >= 0.95" in problems
    assert "bptt_max_relative_error was not recorded" in problems
    assert "took" not in "\n".join(run_.problems(check_budget=False))


def test_fast_mode_checks_fast_targets_and_that_every_target_metric_is_recorded():
    assert TARGETS.fast_targets, "notebook 01 needs fast targets"
    # default targets' values are not checked in fast mode, but they must be recorded
    metrics = {t.name: 0.0 for t in TARGETS.targets}
    metrics.update({t.name: t.threshold for t in TARGETS.fast_targets})
    assert (
        NotebookRun("01_rnn_from_scratch", True, 5.0, metrics=metrics, targets=TARGETS).problems()
        == []
    )
    renamed = dict(metrics)
    renamed["recall_accuracy"] = renamed.pop("delayed_recall_accuracy")
    problems = NotebookRun(
        "01_rnn_from_scratch", True, 5.0, metrics=renamed, targets=TARGETS
    ).problems()
    assert problems == ["delayed_recall_accuracy was not recorded"]
    fast = TARGETS.fast_targets[0]
    broken = dict(metrics, **{fast.name: fast.threshold + (1 if fast.op.startswith("<") else -1)})
    problems = NotebookRun(
        "01_rnn_from_scratch", True, 5.0, metrics=broken, targets=TARGETS
    ).problems()
    assert len(problems) == 1 and problems[0].startswith(f"{fast.name} = ")


def test_fast_mode_budget():
    metrics = {t.name: t.threshold for t in TARGETS.targets + TARGETS.fast_targets}
    run_ = NotebookRun("01_rnn_from_scratch", True, 50.0, metrics=metrics, targets=TARGETS)
    assert run_.problems() == ["took 50 s, budget 45 s"]


def test_notebook_without_targets_is_a_problem():
    assert NotebookRun("99_unknown", False, 1.0).problems() == [
        "no entry in seqcourse/targets.toml"
    ]


def test_report_marks_missed_targets_and_lists_parameters():
    run_ = NotebookRun(
        "01_rnn_from_scratch",
        False,
        12.0,
        metrics={"delayed_recall_accuracy": 0.5},
        targets=TARGETS,
        parameters={"EPOCHS": 3, "DATA": "my_wavs/"},
    )
    text = render_report([run_], fast=False)
    assert (
        "| 01_rnn_from_scratch | **FAILED** | 12.0 s | 300 s | EPOCHS=3, DATA='my_wavs/' |" in text
    )
    assert "| delayed_recall_accuracy | 0.5 | >= 0.95 | **no** |" in text
    assert "| keras_match_max_abs_diff | not recorded | <= 1e-05 | **no** |" in text
    assert "CPU cores" in text and "TensorFlow" in text


# ----------------------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("EPOCHS=3", ("EPOCHS", 3)),
        ("FULL_DATA=True", ("FULL_DATA", True)),
        ("DATA=my_wavs/", ("DATA", "my_wavs/")),
        ("DATA='tfds'", ("DATA", "tfds")),
        ("RATE = 1e-3", ("RATE", 0.001)),
        ("X=None", ("X", None)),
    ],
)
def test_parse_assignment(text, expected):
    assert parse_assignment(text) == expected


@pytest.mark.parametrize("text", ["EPOCHS", "=3", "2x=1", "a.b=1"])
def test_parse_assignment_rejects_malformed(text):
    with pytest.raises(ParameterError, match="NAME=VALUE"):
        parse_assignment(text)


def test_inject_parameters_after_the_tagged_cell_and_unknown_names_are_named():
    nb = new_notebook(
        cells=[
            new_code_cell("import seqcourse"),
            new_code_cell(
                "EPOCHS = scale(5, fast=1)  # epochs\nDATA = 'bank'",
                metadata={"tags": ["parameters"]},
            ),
            new_code_cell("print(EPOCHS)"),
        ]
    )
    assert declared_parameters(nb) == ["EPOCHS", "DATA"]
    with pytest.raises(ParameterError, match="no parameter SIZE; its parameters are: EPOCHS, DATA"):
        inject_parameters(nb, {"SIZE": 3})
    inject_parameters(nb, {"EPOCHS": 2, "DATA": "x/"})
    assert nb.cells[2].source.endswith("EPOCHS = 2\nDATA = 'x/'\n")
    assert nb.cells[2].metadata["tags"] == ["injected-parameters"]
    assert nb.cells[3].source == "print(EPOCHS)"


def test_a_notebook_without_parameters_cell_takes_no_parameters():
    with pytest.raises(ParameterError, match="no cell tagged 'parameters'"):
        inject_parameters(new_notebook(cells=[new_code_cell("x = 1")]), {"X": 2})


# ----------------------------------------------------------------------------- execution


def test_run_executes_with_parameters_collects_records_and_fails_on_a_miss(tmp_path: Path):
    # A stand-in named like notebook 01 so that notebook 01's targets apply to it.
    path = _write(
        tmp_path / "01_rnn_from_scratch.ipynb",
        "from seqcourse import record\nrecord('delayed_recall_accuracy', ACCURACY)",
        parameters="ACCURACY = 1.0  # what to record",
    )
    report = tmp_path / "report.md"
    out = io.StringIO()
    code = run([path], False, report, tmp_path / "out", parameters={"ACCURACY": 0.5}, stream=out)
    assert code == 1
    text = report.read_text()
    assert "| delayed_recall_accuracy | 0.5 | >= 0.95 | **no** |" in text
    assert "ACCURACY=0.5" in text
    executed = nbformat.read(tmp_path / "out" / path.name, as_version=4)
    assert "recorded delayed_recall_accuracy = 0.5" in executed.cells[2].outputs[0]["text"]
    assert "[1/1] 01_rnn_from_scratch" in out.getvalue()
    assert f"full report: {report}" in out.getvalue()


def test_unknown_parameter_stops_before_anything_runs(tmp_path: Path):
    marker = tmp_path / "ran"
    path = _write(tmp_path / "nb.ipynb", f"open({str(marker)!r}, 'w')", parameters="A = 1")
    with pytest.raises(ParameterError, match="no parameter B"):
        run([path], True, None, tmp_path / "out", parameters={"B": 2}, stream=io.StringIO())
    assert not marker.exists()


def test_cli_names_an_unknown_parameter(tmp_path: Path):
    path = _write(tmp_path / "nb.ipynb", "pass", parameters="A = 1")
    done = subprocess.run(
        [sys.executable, "-m", "seqcourse.cli", "run", "--fast", str(path), "-p", "B=2",
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2
    assert "has no parameter B; its parameters are: A" in done.stderr


def test_kernel_output_goes_to_the_log_not_the_terminal(tmp_path: Path):
    path = _write(
        tmp_path / "01_rnn_from_scratch.ipynb",
        "import os\nos.write(2, b'C-LEVEL NOISE\\n')\nraise ValueError('broken lesson')",
    )
    out = io.StringIO()
    assert run([path], True, None, tmp_path / "out", stream=out) == 1
    printed = out.getvalue()
    assert "C-LEVEL NOISE" not in printed
    assert "ValueError: broken lesson" in printed
    log = tmp_path / "out" / "logs" / "01_rnn_from_scratch.log"
    assert f"kernel log: {log}" in printed
    assert log.exists()


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
def test_run_leaves_no_kernel_behind(tmp_path: Path, monkeypatch):
    marker = f"SEQCOURSE_TEST_RUN={uuid.uuid4().hex}"
    monkeypatch.setenv(*marker.split("="))
    started = tmp_path / "pids"
    paths = [
        _write(
            tmp_path / f"0{i}_x.ipynb",
            f"import os\nprint(os.getpid(), file=open({str(started)!r}, 'a'))",
        )
        for i in range(3)
    ]
    run(paths, True, None, tmp_path / "out", stream=io.StringIO())
    assert len(started.read_text().split()) == 3  # three kernels did run, carrying the marker
    assert _processes_carrying(marker) == []
    with subprocess.Popen(["sleep", "30"]) as witness:  # the marker check does find a live one
        # Popen returns when exec has begun, possibly before the kernel has laid out the new
        # program's environment (/proc/PID/environ then reads empty): poll briefly.
        deadline = time.monotonic() + 10
        while not (found := _processes_carrying(marker)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert found == [witness.pid]
        witness.kill()


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux unshare")
def test_run_works_without_network(tmp_path: Path):
    """Kernels talk over Unix sockets: a network namespace whose loopback is down is fine."""
    probe = subprocess.run(["unshare", "--map-root-user", "--net", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"unshare --net is not permitted here: {probe.stderr.decode().strip()}")
    path = _write(tmp_path / "nb.ipynb", "print(6 * 7)")
    done = subprocess.run(
        ["unshare", "--map-root-user", "--net", sys.executable, "-m", "seqcourse.cli", "run",
         "--fast", str(path), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )  # fmt: skip
    executed = nbformat.read(tmp_path / "out" / "nb.ipynb", as_version=4)
    assert executed.cells[0].outputs[0]["text"] == "42\n", done.stdout + done.stderr


def test_run_notebook_reports_the_failing_cell(tmp_path: Path):
    path = _write(tmp_path / "nb.ipynb", "x = 1", "raise ValueError('broken lesson')")
    result = run_notebook(path, fast=True, out_dir=None)
    assert result.error == "ValueError: broken lesson"
    assert "raise ValueError('broken lesson')" in result.error_detail
