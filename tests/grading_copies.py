"""Submissions of notebook 01 built from the released student copy, shared by the grader tests."""

from pathlib import Path

import nbformat

from seqcourse.grading.notebook_format import solution_cells

ROOT = Path(__file__).parents[1]
NAME = "01_rnn_from_scratch.ipynb"
MASTER = ROOT / "notebooks" / NAME
STUDENT = ROOT / "exercises" / NAME


def student_copy():
    """The student copy as released: every exercise a stub."""
    return nbformat.read(STUDENT, as_version=4)


def solved_copy():
    """The student copy with the master's answers pasted in (a student who did everything)."""
    nb, master = student_copy(), nbformat.read(MASTER, as_version=4)
    answers = {ex: master.cells[i].source for ex, i in solution_cells(master).items()}
    for ex, i in solution_cells(nb).items():
        nb.cells[i].source = answers[ex]
    return nb
