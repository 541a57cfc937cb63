"""``report.html``, the class report every grading run writes: what it counts, that student
text in it is escaped, and (where Chromium is installed) that a real browser renders it without
a console error."""

import html
import re
import shutil
import subprocess

import pytest
from grading_copies import MASTER

from seqcourse.grading.notebook_format import read_assignment
from seqcourse.grading.report import exercise_shares, failures_by_test, render, write_report
from seqcourse.grading.results import ExerciseScore, SubmissionResult

ASSIGNMENT = read_assignment(MASTER)  # 1.1 (2), 1.2 (2), 1.3 (3), 1.4 (3)
HOSTILE_NAME = "class/<script>alert('name')</script>/01_rnn_from_scratch.ipynb"
HOSTILE_MESSAGE = "<img src=x onerror=alert('message')> expected 1, got 2"


def _result(name: str, failing: dict[str, str] | None = None, not_attempted=()) -> SubmissionResult:
    """A graded result: every exercise passes two tests, except those in ``failing``
    (exercise -> message of its failed second test) and ``not_attempted``."""
    r = SubmissionResult.blank(name, ASSIGNMENT)
    for ex_id, ex in ASSIGNMENT.exercises.items():
        if ex_id in not_attempted:
            tests = [{"name": "runs", "passed": False, "not_attempted": True, "message": "stub"}]
        else:
            message = (failing or {}).get(ex_id)
            tests = [{"name": "shape", "passed": True},
                     {"name": "values", "passed": message is None, "message": message or ""}]  # fmt: skip
        r.exercises[ex_id] = ExerciseScore.from_tests(ex_id, ex.points, tests)
    return r


@pytest.fixture
def results():
    timed_out = SubmissionResult.blank(HOSTILE_NAME, ASSIGNMENT)
    timed_out.close("not graded: total time limit of 600 s exceeded", "incomplete")
    return [
        _result("class/ann/01_rnn_from_scratch.ipynb"),
        _result("class/bob/01_rnn_from_scratch.ipynb", {"1.1": "expected 3, got 5"}),
        _result(
            "class/cy/01_rnn_from_scratch.ipynb",
            {"1.1": "expected 4, got 7", "1.3": HOSTILE_MESSAGE},
        ),  # fmt: skip
        _result("class/dan/01_rnn_from_scratch.ipynb", not_attempted=("1.3", "1.4")),
        timed_out,
    ]


def test_each_exercise_is_split_into_full_partial_zero_and_not_attempted(results):
    shares = exercise_shares(results, ASSIGNMENT)
    assert shares["1.1"] == {"full": 0.4, "partial": 0.4, "zero": 0.2, "not attempted": 0.0}
    assert shares["1.3"] == {"full": 0.4, "partial": 0.2, "zero": 0.2, "not attempted": 0.2}
    assert all(abs(sum(s.values()) - 1) < 1e-9 for s in shares.values())


def test_failures_are_grouped_by_message_with_numbers_masked(results):
    tests = {(t["exercise"], t["test"]): t for t in failures_by_test(results)}
    values = tests[("1.1", "values")]
    assert values["runs"] == 4 and values["pass_rate"] == 0.5
    assert values["failures"] == [("expected #, got #", 2)]
    assert ("1.4", "runs") not in tests  # not attempted: no test ran


def test_the_page_counts_the_class_and_escapes_what_students_wrote(results, tmp_path):
    write_report(results, ASSIGNMENT, tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page and "<img src=x" not in page  # shown, never run
    assert html.escape(HOSTILE_NAME) in page and html.escape("<img src=x onerror") in page
    assert "5 submission(s)" in page and "1 errored, timed out or not fully graded" in page
    assert (
        len(re.findall(r'<img alt="chart" src="data:image/png;base64,[A-Za-z0-9+/=]{500,}">', page))
        == 2
    )
    row = re.search(rf"<tr><td>{re.escape(html.escape(HOSTILE_NAME))}</td>.*?</tr>", page)
    assert row and "total time limit of 600 s exceeded" in row[0]
    assert "2 × expected #, got #" in page


def test_a_run_with_no_problem_says_so(tmp_path):
    page = render([_result("class/ann/01_rnn_from_scratch.ipynb")], ASSIGNMENT)
    assert "0 errored" in page and "<p>None.</p>" in page


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_a_headless_browser_renders_it_without_console_errors(results, tmp_path):
    report = tmp_path / "report.html"
    write_report(results, ASSIGNMENT, report)
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--enable-logging=stderr", "--v=0", f"--screenshot={shot}", "--window-size=1200,2400",
         report.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.stat().st_size > 20_000  # a page with two charts, not a blank one
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    assert console == [], console
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[1] == 1200 and pixels[..., :3].std() > 0.05  # something was drawn
