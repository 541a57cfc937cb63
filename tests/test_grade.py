"""The autograder battery: every kind of broken submission yields a row and a reason.

All submissions are graded in one ``grade`` call with two jobs (so parallel grading is
exercised too); each test then checks one row. Run time is dominated by the two deliberate
time-outs. Deliberate attacks on the grader are in test_grader_hostile.py.
"""

import csv
import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest
from grading_copies import MASTER, NAME, ROOT, STUDENT, solved_copy, student_copy
from nbformat.v4 import new_code_cell

from seqcourse.grading.grade import grade
from seqcourse.grading.notebook_format import solution_cells

CELL_TIMEOUT = 20  # honest cells of 01 take under 1 s; the two hangs spin until it


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
    indented = solved_copy()  # a stray indent: the cell fails before it defines anything
    i = solution_cells(indented)["1.1"]
    indented.cells[i].source = indented.cells[i].source.replace("\ndef ", "\n  def ", 1)
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
        "indentation_error": indented,
    }


SECRET = "TOP-SECRET-LINE-the-grader-must-never-echo"
NOT_UTF8 = os.fsdecode(b"caf\xe9-\xff")  # a Latin-1 folder name from another system's archive
NOT_UTF8_SHOWN = "caf\\xe9-\\xff"  # how the outputs write it
FILES = {  # submissions that are not regular files, by scenario name
    "symlink_to_master": "a symbolic link",
    "symlink_to_secret": "a symbolic link",
    "named_pipe": "a named pipe",
}


def _write_special(folder: Path, secret: Path) -> list[Path]:
    """Submissions that are links, a pipe, and an honest one under a non-UTF-8 folder name."""
    paths = []
    for name in FILES:
        path = folder / name / NAME
        path.parent.mkdir()
        if name == "symlink_to_master":  # relative, as git and tar store them
            path.symlink_to(os.path.relpath(MASTER, path.parent))
        elif name == "symlink_to_secret":
            path.symlink_to(secret)
        else:
            os.mkfifo(path)
        paths.append(path)
    honest = folder / NOT_UTF8 / NAME
    honest.parent.mkdir()
    honest.write_text(nbformat.writes(solved_copy()), encoding="utf-8")
    return [*paths, honest]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    secret = tmp_path_factory.mktemp("private") / "secret.txt"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o600)
    paths = []
    for name, nb in _scenarios().items():
        path = folder / name / NAME
        path.parent.mkdir()
        path.write_text(nb if isinstance(nb, str) else nbformat.writes(nb), encoding="utf-8")
        paths.append(path)
    paths += _write_special(folder, secret)  # graded without --assignment: nothing may block
    out = tmp_path_factory.mktemp("grades")
    results = grade(
        paths,
        out,
        masters=ROOT / "notebooks",
        jobs=2,
        cell_timeout=CELL_TIMEOUT,
        total_timeout=400,
        formats=("csv", "gradescope"),
    )
    rows = {Path(r["submission"]).parent.name: r for r in csv.DictReader(open(out / "grades.csv"))}
    by_name = {Path(r.submission).parent.name: r for r in results}
    return rows, by_name, out


def _scores(result):
    return {k: e.score for k, e in result.exercises.items()}


def test_every_submission_has_a_row_and_a_json(graded):
    rows, results, out = graded
    expected = {*_scenarios(), *FILES, NOT_UTF8_SHOWN}
    assert set(rows) == expected == set(results)
    graded_json = [p for p in out.glob("*.json") if not p.name.endswith(".results.json")]
    assert len(graded_json) == len(rows) == len(list(out.glob("*.results.json")))
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


def test_the_class_report_lists_every_submission_that_was_not_fully_graded(graded):
    import html

    rows, _, out = graded
    page = (out / "report.html").read_text(encoding="utf-8")
    assert f"<h1>01_rnn_from_scratch: {len(rows)} submission(s)</h1>" in page
    trouble = [r for r in rows.values() if r["status"] != "graded"]
    assert trouble and f"{len(trouble)} errored, timed out or not fully graded" in page
    for row in trouble:
        assert f"<tr><td>{html.escape(row['submission'])}</td>" in page, row["submission"]


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


def test_the_student_reads_the_real_error_of_their_cell(graded):
    """An IndentationError leaves the function undefined, so every check says NameError: the
    feedback and results.json lead with the IndentationError itself (issue 39, item 6)."""
    _, results, _ = graded
    result = results["indentation_error"]
    exercise = result.exercises["1.1"]
    assert exercise.score == 0 and "IndentationError" in exercise.cell_error
    feedback = result.feedback_markdown()
    section = feedback.split("## Exercise 1.1")[1].split("## Exercise 1.2")[0]
    assert "**The exercise cell raised IndentationError: unexpected indent" in section
    assert (
        section.index("IndentationError") < section.find("NameError") or "NameError" not in section
    )
    output = result.gradescope()["tests"][0]["output"]
    assert output.startswith("The exercise cell raised IndentationError"), output
    assert _scores(result)["1.4"] == 3  # the rest is graded


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


def test_every_results_json_follows_gradescopes_specification(graded):
    """Each submission's <name>.results.json, as written to disk, validates against the schema
    of Gradescope's output format; its tests add up to the row's total; hidden tests form
    their own tests, shown after publication (issue 35, item 2)."""
    import jsonschema

    rows, results, out = graded
    schema = json.loads((ROOT / "tests" / "gradescope_results.schema.json").read_text())
    files = sorted(out.glob("*.results.json"))
    assert len(files) == len(rows)
    for path in files:
        data = json.loads(path.read_text())
        jsonschema.validate(data, schema)
        assert abs(sum(t["score"] for t in data["tests"]) - data["score"]) < 0.02, path.name
        assert sum(t["max_score"] for t in data["tests"]) == pytest.approx(10)  # 2 + 2 + 3 + 3
    master = json.loads(next(p for p in files if "master" in p.name).read_text())
    assert master["score"] == 10 and all(t["status"] == "passed" for t in master["tests"])
    hidden = [t for t in master["tests"] if "hidden tests" in t["tags"]]
    assert hidden and all(t["visibility"] == "after_published" for t in hidden)
    assert all(t["visibility"] == "visible" for t in master["tests"] if t not in hidden)
    assert [t["number"] for t in master["tests"]][:2] == ["1.1", "1.1.h"]


def test_the_instructor_chooses_when_hidden_tests_show():
    from seqcourse.grading.notebook_format import read_assignment
    from seqcourse.grading.results import ExerciseScore, SubmissionResult

    result = SubmissionResult.blank("carol.ipynb", read_assignment(MASTER))
    result.exercises["1.1"] = ExerciseScore.from_tests(
        "1.1", 2,
        [{"name": "values", "passed": True}, {"name": "hidden test 1", "passed": False,
          "message": "wrong for long sequences", "hidden": True}],
    )  # fmt: skip
    tests = result.gradescope("hidden")["tests"]
    assert [(t["name"], t["score"], t["max_score"], t["visibility"]) for t in tests[:2]] == [
        ("Exercise 1.1", 1.0, 1.0, "visible"),
        ("Exercise 1.1: hidden tests", 0.0, 1.0, "hidden"),
    ]
    assert "FAIL hidden test 1: wrong for long sequences" in tests[1]["output"]
    with pytest.raises(ValueError, match="hidden_visibility must be one of"):
        result.gradescope("later")


def test_the_cell_error_travels_from_the_worker_to_every_output():
    """The worker's report (to_dict) keeps the exercise cell's own error through from_dict, and
    the student's outputs lead with it (the battery above shows it end to end)."""
    from seqcourse.grading.notebook_format import read_assignment
    from seqcourse.grading.results import ExerciseScore, SubmissionResult

    assignment = read_assignment(MASTER)
    result = SubmissionResult.blank("bob.ipynb", assignment)
    result.exercises["1.2"] = ExerciseScore.from_tests(
        "1.2", 2, [{"name": "hidden test 1", "passed": False, "message": "NameError: rnn_forward"}],
        "the exercise cell raised SyntaxError: invalid syntax (cell, line 3)",
    )  # fmt: skip
    again = SubmissionResult.from_dict(json.loads(json.dumps(result.to_dict())), assignment)
    for r in (result, again):
        assert r.exercises["1.2"].cell_error.startswith("the exercise cell raised SyntaxError")
        output = r.gradescope()["tests"][1]["output"].splitlines()
        assert output[0].startswith("The exercise cell raised SyntaxError: invalid syntax")
        assert output[1] == "FAIL hidden test 1: NameError: rnn_forward"
        assert "**The exercise cell raised SyntaxError" in r.feedback_markdown()
    assert result.exercises["1.1"].cell_error_note() == ""  # a cell that ran: no note


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


@pytest.mark.parametrize("name", sorted(FILES))
def test_links_and_pipes_are_refused_not_followed(graded, name):
    rows, results, out = graded
    row = rows[name]
    assert row["status"] == "error" and row["total"] == "0"
    assert FILES[name] in row["reason"] and "submit the" in row["reason"]
    everything = "".join(p.read_text(errors="replace") for p in out.iterdir() if p.is_file())
    assert SECRET not in everything


def test_a_name_that_is_not_utf8_is_escaped_and_graded(graded):
    from seqcourse.grading.submission_files import name_bytes

    rows, results, out = graded
    row = rows[NOT_UTF8_SHOWN]
    assert row["status"] == "graded" and row["total"] == "10"
    result = results[NOT_UTF8_SHOWN]
    original = os.fsencode(NOT_UTF8) + b"/" + NAME.encode()  # the bytes on disk, given back
    assert name_bytes(result.submission).endswith(original)
    assert os.path.exists(name_bytes(result.submission))
    assert any("not valid UTF-8" in line for line in result.log)
    assert row["reason"].startswith("path not valid UTF-8")  # the row says so
    assert rows["master"]["total"] == "10"  # the classmate next to it


def test_grades_csv_lists_every_submission_at_every_moment(tmp_path):
    from seqcourse.grading.grade import _lost
    from seqcourse.grading.notebook_format import read_assignment
    from seqcourse.grading.results import IncrementalCsv, SubmissionResult

    assignment = read_assignment(MASTER)
    names = [Path("a.ipynb"), Path("b.ipynb")]
    rows = IncrementalCsv(
        tmp_path / "grades.csv", assignment, [_lost(n, assignment) for n in names]
    )

    def on_disk():  # what a run killed at this moment leaves
        return [
            (r["submission"], r["status"]) for r in csv.DictReader(open(tmp_path / "grades.csv"))
        ]

    assert on_disk() == [("a.ipynb", "error"), ("b.ipynb", "error")]
    assert "ended before this submission was graded" in open(tmp_path / "grades.csv").read()
    finished = SubmissionResult.blank("b.ipynb", assignment)
    finished.status = "ok"
    rows.set(1, finished)
    assert on_disk() == [("a.ipynb", "error"), ("b.ipynb", "ok")]


def test_checks_on_fixed_public_inputs_earn_no_points():
    """Issue 37: a table of the public checks' answers must earn nothing; checks on fixed,
    hand-worked inputs are feedback only, points come from inputs drawn fresh per run."""
    from seqcourse.grading.public_checks import run_public_checks, set_salt
    from seqcourse.grading.results import ExerciseScore

    def from_table(a, b):  # knows the hand-worked pairs, nothing else
        known = {("kitten", "sitting"): 3, ("", "abc"): 3, ("abc", ""): 3, ("", ""): 0,
                 ("flaw", "lawn"): 2, (("T", "AH", "M"), ("T", "AA", "M", "EY")): 2}  # fmt: skip
        return known.get((a, b) if isinstance(a, str) else (tuple(a), tuple(b)), 0)

    set_salt(12345)
    try:
        results = run_public_checks("6.2", from_table)
    finally:
        set_salt(None)
    fixed = [r for r in results if r.fixed]
    assert fixed and all(r.passed for r in fixed), results
    score = ExerciseScore.from_tests("6.2", 2, [r.to_dict() for r in results])
    assert score.score == 0, score
