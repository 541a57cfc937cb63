"""The autograder battery: every kind of broken submission yields a row and a reason.

All submissions are graded in one ``grade`` call with two jobs (so parallel grading is
exercised too); each test then checks one row. Run time is dominated by the two deliberate
time-outs. Deliberate attacks on the grader are in test_grader_hostile.py.
"""

import csv
import json
import shutil
from pathlib import Path

import nbformat
import pytest
from grading_copies import MASTER, NAME, ROOT, STUDENT, solved_copy, student_copy
from nbformat.v4 import new_code_cell

from seqcourse.grading.grade import grade
from seqcourse.grading.notebook_format import solution_cells

CELL_TIMEOUT = 40


def _insert_after(nb, exercise, source, offset=1):
    """Insert a code cell ``offset`` cells after exercise ``exercise``'s solution cell."""
    nb.cells.insert(solution_cells(nb)[exercise] + offset, new_code_cell(source))
    return nb


CHEAT = """
import sys, types
from IPython.display import display
import seqcourse.grading, seqcourse.grading.public_checks as pc
from seqcourse.grading.public_checks import CheckResult

def check(*args, **kwargs):
    print("Exercise 1.1: [PASS] all checks passed\\nPASSED")
    return True

pc.run_public_checks = lambda ex, *a: [CheckResult("faked", True)]
seqcourse.grading.check = check
sys.modules["seqcourse.grading.autograde"] = types.SimpleNamespace(run_exercise_tests=lambda *a: None)
display({"application/vnd.seqcourse.grade+json": {"token": "guess", "exercise": "1.1", "tests": [{"name": "x", "passed": True}]}}, raw=True)
print("PASSED " * 100)
"""


def _scenarios():
    untouched = student_copy()
    deleted_reordered = solved_copy()
    cells = solution_cells(deleted_reordered)
    backward = deleted_reordered.cells[cells["1.3"]]
    del deleted_reordered.cells[cells["1.3"]]
    del deleted_reordered.cells[cells["1.2"]]
    deleted_reordered.cells.insert(cells["1.1"], backward)  # 1.3 now comes before 1.1
    endless = solved_copy()
    i = solution_cells(endless)["1.2"]
    endless.cells[i].source = endless.cells[i].source.replace(
        "def rnn_forward", "while True:\n    pass\n\n\ndef rnn_forward"
    )
    wrong = solved_copy()
    i = solution_cells(wrong)["1.1"]
    wrong.cells[i].source = wrong.cells[i].source.replace("h_prev @ W_h + b", "b")
    other = student_copy()
    other.metadata["seqcourse"]["notebook"] = "02_lstm_gru"
    first_error = solved_copy()
    first_error.cells.insert(
        0, new_code_cell('raise RuntimeError("an error in the very first cell")')
    )
    return {
        "untouched": untouched,
        "master": nbformat.read(MASTER, as_version=4),
        "invalid_json": '{"cells": [ this is not json',
        "deleted_reordered": deleted_reordered,
        "endless_loop": endless,
        "kernel_death": _insert_after(solved_copy(), "1.1", "import os\nos._exit(1)", offset=2),
        "sigint_ignored": _insert_after(
            solved_copy(),
            "1.1",
            "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
            offset=2,
        ),
        "first_cell_error": first_error,
        "huge_output": _insert_after(
            solved_copy(), "1.1", 'print("x" * 5_000_000)\nfor i in range(20_000):\n    print(i)'
        ),
        "cheater": _insert_after(student_copy(), "1.1", CHEAT, offset=-1),
        "other_notebook": other,
        "wrong_1_1": wrong,
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    paths = []
    for name, nb in _scenarios().items():
        path = folder / name / NAME
        path.parent.mkdir()
        path.write_text(nb if isinstance(nb, str) else nbformat.writes(nb), encoding="utf-8")
        paths.append(path)
    out = tmp_path_factory.mktemp("grades")
    results = grade(
        paths, out, masters=ROOT / "notebooks", jobs=2, cell_timeout=CELL_TIMEOUT, total_timeout=400
    )
    rows = {Path(r["submission"]).parent.name: r for r in csv.DictReader(open(out / "grades.csv"))}
    by_name = {Path(r.submission).parent.name: r for r in results}
    return rows, by_name, out


def _scores(result):
    return {k: e.score for k, e in result.exercises.items()}


def test_every_submission_has_a_row_and_a_json(graded):
    rows, results, out = graded
    assert set(rows) == set(_scenarios()) == set(results)
    assert len(list(out.glob("*.json"))) == len(rows)
    header = next(csv.reader(open(out / "grades.csv")))
    assert header == [
        "submission",
        "status",
        "1.1 (2)",
        "1.2 (2)",
        "1.3 (3)",
        "1.4 (3)",
        "total",
        "max",
        "reason",
    ]
    data = json.loads((out / "master__01_rnn_from_scratch.json").read_text())
    assert data["total"] == 10 and data["exercises"]["1.1"]["tests"][0]["passed"] is True


def test_master_gets_full_marks(graded):
    rows, results, _ = graded
    assert rows["master"]["total"] == "10" and rows["master"]["status"] == "graded"
    assert all(t["passed"] for e in results["master"].exercises.values() for t in e.tests)
    assert any(
        t["name"].startswith("hidden test") for t in results["master"].exercises["1.3"].tests
    )


def test_untouched_copy_is_not_attempted(graded):
    rows, results, _ = graded
    assert rows["untouched"]["total"] == "0"
    assert {e.status for e in results["untouched"].exercises.values()} == {"not attempted"}


def test_invalid_json_is_an_error_row(graded):
    rows, _, _ = graded
    assert rows["invalid_json"]["status"] == "error" and rows["invalid_json"]["total"] == "0"
    assert "not a readable notebook" in rows["invalid_json"]["reason"]


def test_deleted_and_reordered_cells(graded):
    _, results, _ = graded
    r = results["deleted_reordered"]
    assert _scores(r) == {"1.1": 2, "1.2": 0, "1.3": 3, "1.4": 3}
    assert r.exercises["1.2"].status == "missing" and "not found" in r.exercises["1.2"].reason


def test_endless_loop_times_out_and_the_rest_is_graded(graded):
    _, results, _ = graded
    r = results["endless_loop"]
    assert _scores(r) == {"1.1": 2, "1.2": 0, "1.3": 3, "1.4": 3}
    assert "ran past the time limit" in r.exercises["1.2"].reason
    assert any("exceeded the time limit" in line for line in r.log)


def test_kernel_death_keeps_earlier_results(graded):
    _, results, _ = graded
    r = results["kernel_death"]
    assert _scores(r) == {"1.1": 2, "1.2": 0, "1.3": 0, "1.4": 0} and r.status == "incomplete"
    assert "kernel died" in r.exercises["1.2"].reason


def test_kernel_that_ignores_interrupts_is_stopped(graded):
    _, results, _ = graded
    r = results["sigint_ignored"]
    assert _scores(r) == {"1.1": 2, "1.2": 0, "1.3": 0, "1.4": 0} and r.status == "incomplete"
    assert "stopped responding" in r.exercises["1.3"].reason


def test_exception_in_first_cell_does_not_stop_grading(graded):
    rows, _, _ = graded
    assert rows["first_cell_error"]["total"] == "10"


def test_megabytes_of_output_are_capped_not_fatal(graded):
    rows, results, _ = graded
    assert rows["huge_output"]["total"] == "10"
    assert any("dropped" in line for line in results["huge_output"].log)


def test_cheating_has_no_effect(graded):
    rows, results, _ = graded
    assert rows["cheater"]["total"] == "0"
    assert {e.status for e in results["cheater"].exercises.values()} == {"not attempted"}


def test_submission_of_another_notebook(graded):
    rows, _, _ = graded
    assert rows["other_notebook"]["status"] == "error" and rows["other_notebook"]["total"] == "0"
    assert "'02_lstm_gru', not '01_rnn_from_scratch'" in rows["other_notebook"]["reason"]


def test_wrong_answer_fails_with_reasons_and_the_rest_is_graded(graded):
    _, results, _ = graded
    r = results["wrong_1_1"]
    ex = r.exercises["1.1"]
    # the shape gate passes (it earns nothing); the value checks fail
    assert ex.status == "failed" and ex.score == 0
    assert "differs from the expected values" in ex.reason
    assert [t["passed"] for t in ex.tests if t["gate"]] == [True]
    assert r.exercises["1.3"].score == 3 and r.exercises["1.4"].score == 3


def test_right_shaped_stub_earns_nothing():
    from seqcourse.grading.results import ExerciseScore

    tests = [
        {"name": "shape", "passed": True, "gate": True},
        {"name": "values", "passed": False, "message": "differs"},
    ]
    assert ExerciseScore.from_tests("1.1", 2, tests).score == 0
    tests[0]["passed"], tests[1]["passed"] = False, True  # a failed gate zeroes the exercise
    assert ExerciseScore.from_tests("1.1", 2, tests).score == 0
    tests[0]["passed"] = True
    assert ExerciseScore.from_tests("1.1", 2, tests).score == 2


def test_assignment_is_inferred_or_named(tmp_path):
    from seqcourse.grading.grade import resolve_master

    copy = tmp_path / "a.ipynb"
    shutil.copy(STUDENT, copy)
    assert resolve_master([copy], None, ROOT / "notebooks") == ROOT / "notebooks" / NAME
    assert (
        resolve_master([copy], "01_rnn_from_scratch", ROOT / "notebooks")
        == ROOT / "notebooks" / NAME
    )
    with pytest.raises(FileNotFoundError, match="no master notebook"):
        resolve_master([copy], "07_nothing", ROOT / "notebooks")
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{")
    with pytest.raises(ValueError, match="--assignment"):
        resolve_master([bad], None, ROOT / "notebooks")
    # a submission can name a notebook, never a path: its own file cannot become the master
    evil = tmp_path / "evil.ipynb"
    nb = nbformat.read(STUDENT, as_version=4)
    for claim in (str(evil), "../exercises/01_rnn_from_scratch", str(STUDENT)):
        nb.metadata["seqcourse"]["notebook"] = claim
        nbformat.write(nb, evil)
        with pytest.raises(ValueError, match="--assignment"):
            resolve_master([evil], None, ROOT / "notebooks")
    with pytest.raises(FileNotFoundError):
        resolve_master([evil], "../exercises/01_rnn_from_scratch", ROOT / "notebooks")


def test_gradescope_results_and_feedback_from_a_result():
    from seqcourse.grading.notebook_format import read_assignment
    from seqcourse.grading.results import ExerciseScore, SubmissionResult

    result = SubmissionResult.blank("alice.ipynb", read_assignment(MASTER))
    result.exercises["1.1"] = ExerciseScore.from_tests(
        "1.1",
        2,
        [
            {"name": "shape", "passed": True, "gate": True},
            {"name": "values", "passed": False, "message": "differs <b>by</b> 0.5"},
            {"name": "hidden test 1", "passed": True},
        ],
    )
    data = result.gradescope()
    assert data["score"] == 1 and [t["max_score"] for t in data["tests"]] == [2, 2, 3, 3]
    assert "FAIL values: differs" in data["tests"][0]["output"]
    json.dumps(data)  # serialisable as Gradescope's results.json
    text = result.feedback_markdown()
    assert "## Exercise 1.1: 1 / 2 (partial)" in text and "&lt;b&gt;" in text


def test_a_forged_report_cannot_add_points_or_exercises():
    from seqcourse.grading.notebook_format import read_assignment
    from seqcourse.grading.results import SubmissionResult

    forged = {
        "status": "graded",
        "exercises": {
            "1.1": {"points": 100, "score": 100, "tests": [{"name": "x", "passed": True}]},
            "9.9": {"points": 5, "score": 5},
        },
    }
    result = SubmissionResult.from_dict(forged, read_assignment(MASTER))
    assert set(result.exercises) == {"1.1", "1.2", "1.3", "1.4"} and result.total == 2
