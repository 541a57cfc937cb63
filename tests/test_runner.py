"""``seqcourse run``: reports time and metrics against targets, and fails when one is missed."""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from seqcourse.runner import NotebookRun, render_report, run
from seqcourse.targets import load_targets

TARGETS = load_targets()["01_rnn_from_scratch"]


def test_a_run_within_budget_meeting_every_target_has_no_problem():
    metrics = {t.name: t.threshold for t in TARGETS.targets}  # thresholds themselves pass (>=, <=)
    assert (
        NotebookRun("01_rnn_from_scratch", False, 10.0, metrics=metrics, targets=TARGETS).problems()
        == []
    )


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


def test_fast_mode_checks_the_fast_budget_only():
    run_ = NotebookRun("01_rnn_from_scratch", True, 50.0, metrics={}, targets=TARGETS)
    assert run_.problems() == ["took 50 s, budget 45 s"]


def test_notebook_without_targets_is_a_problem():
    assert NotebookRun("99_unknown", False, 1.0).problems() == [
        "no entry in seqcourse/targets.toml"
    ]


def test_report_marks_missed_targets():
    run_ = NotebookRun(
        "01_rnn_from_scratch",
        False,
        12.0,
        metrics={"delayed_recall_accuracy": 0.5},
        targets=TARGETS,
    )
    text = render_report([run_], fast=False)
    assert "| 01_rnn_from_scratch | **FAILED** | 12.0 s | 300 s |" in text
    assert "| delayed_recall_accuracy | 0.5 | >= 0.95 | **no** |" in text
    assert "| keras_match_max_abs_diff | not recorded | <= 1e-05 | **no** |" in text
    assert "CPU cores" in text and "TensorFlow" in text


def test_run_executes_a_notebook_collects_records_and_fails_on_a_miss(tmp_path: Path):
    # A stand-in named like notebook 01 so that notebook 01's targets apply to it.
    nb = new_notebook(
        cells=[
            new_code_cell("from seqcourse import record\nrecord('delayed_recall_accuracy', 0.5)")
        ]
    )
    path = tmp_path / "01_rnn_from_scratch.ipynb"
    nbformat.write(nb, path)
    report = tmp_path / "report.md"
    messages = []
    assert (
        run([path], fast=False, report=report, out_dir=tmp_path / "out", progress=messages.append)
        == 1
    )
    assert "| delayed_recall_accuracy | 0.5 | >= 0.95 | **no** |" in report.read_text()
    executed = nbformat.read(tmp_path / "out" / path.name, as_version=4)
    assert "recorded delayed_recall_accuracy = 0.5" in executed.cells[0].outputs[0]["text"]
    assert any("running" in m for m in messages)


def test_run_reports_a_failing_cell(tmp_path: Path):
    path = tmp_path / "01_rnn_from_scratch.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("raise ValueError('broken lesson')")]), path)
    assert run([path], fast=True, report=None, out_dir=None, progress=lambda m: None) == 1
