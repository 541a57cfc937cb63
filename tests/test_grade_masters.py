"""The grader on every master and student copy, and the per-submission time limit.

Each whole master gets full marks. Each released student copy scores 0 with every exercise
"not attempted"; it is graded cut to its setup, exercise and check cells: the grader judges an
exercise right after its cell ran, so the course's own cells around it (which the whole copy
runs end to end under nbval, ``exercises/``) cannot change that verdict.
(Kept apart from the battery in test_grade.py so that pytest-xdist can run them in parallel.)
"""

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell
from test_grader_models import _reduced_master

from seqcourse.grading.grade import grade, grade_one
from seqcourse.grading.notebook_format import read_assignment, solution_cells

ROOT = Path(__file__).parents[1]
BATTERY = "01_rnn_from_scratch.ipynb"  # its master and student copy: test_grade.py's battery
MASTERS = [p for p in sorted((ROOT / "notebooks").glob("*.ipynb")) if p.name != BATTERY]


@pytest.mark.parametrize("master", MASTERS, ids=lambda p: p.stem)
def test_master_full_marks_and_student_copy_zero(master, tmp_path):
    student = tmp_path / "student" / master.name
    student.parent.mkdir()
    nbformat.write(_reduced_master(master.name, "exercises"), student)
    results = grade([master, student], tmp_path / "grades", masters=ROOT / "notebooks", jobs=2)
    total = read_assignment(master).total_points
    assert [r.total for r in results] == [total, 0], [r.summary() for r in results]
    assert {e.status for e in results[1].exercises.values()} == {"not attempted"}


def test_total_time_limit(tmp_path):
    master = ROOT / "notebooks" / BATTERY
    nb = nbformat.read(master, as_version=4)
    nb.cells.insert(solution_cells(nb)["1.1"], new_code_cell("while True:\n    pass"))
    path = tmp_path / master.name
    nbformat.write(nb, path)
    result = grade_one(
        path, read_assignment(master), tmp_path / "r.json", cell_timeout=300, total_timeout=12
    )
    assert result.total == 0 and result.status == "incomplete"
    assert all("total time limit" in e.reason for e in result.exercises.values())
    assert result.seconds < 12 + 30
