"""The exercise format: headers, solution stubs, hidden tests, malformed masters."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from seqcourse.grading.notebook_format import (
    FormatError,
    parse_header,
    read_assignment,
    solution_cells,
    split_hidden_tests,
    stub_solution,
)

SOLUTION = """# Exercise 2.1 (3 points)
def f(x):
    ### BEGIN SOLUTION
    return x + 1
    ### END SOLUTION
"""
TESTS = """check("2.1", f)
### BEGIN HIDDEN TESTS
assert f(1) == 2
### END HIDDEN TESTS
"""


def _write(tmp_path, *sources):
    nb = new_notebook(cells=[new_markdown_cell("# t")] + [new_code_cell(s) for s in sources])
    path = tmp_path / "02_demo.ipynb"
    nbformat.write(nb, path)
    return path


def test_parse_header():
    assert parse_header("# Exercise 1.2 (2 points)\ndef f(): ...") == ("1.2", 2.0)
    assert parse_header("#exercise 3.10 (1 point)") == ("3.10", 1.0)
    assert parse_header("# Exercise: no id") is None


def test_stub_keeps_indentation_and_names_the_exercise():
    stub = stub_solution(SOLUTION, "2.1")
    assert "return x + 1" not in stub
    assert '    raise NotImplementedError("Exercise 2.1: not attempted yet")' in stub
    assert stub.startswith("# Exercise 2.1 (3 points)\ndef f(x):")


def test_split_hidden_tests():
    public, hidden = split_hidden_tests(TESTS)
    assert public == 'check("2.1", f)'
    assert hidden == ["assert f(1) == 2"]


def test_read_assignment(tmp_path):
    a = read_assignment(_write(tmp_path, "import math", SOLUTION, TESTS))
    ex = a.exercises["2.1"]
    assert (a.name, ex.points, ex.cell_index, a.total_points) == ("02_demo", 3.0, 2, 3.0)
    assert ex.public_tests == ['check("2.1", f)'] and ex.hidden_tests == ["assert f(1) == 2"]


@pytest.mark.parametrize(
    ("sources", "words"),
    [
        ((SOLUTION.replace("### END SOLUTION\n", ""), TESTS), "never closed"),
        ((SOLUTION.replace("# Exercise 2.1 (3 points)\n", ""), TESTS), "needs both"),
        ((SOLUTION, TESTS, SOLUTION, TESTS), "declared twice"),
        ((TESTS, SOLUTION), "before any exercise"),
        ((SOLUTION,), "no public check"),
        ((SOLUTION, 'check("2.2", f)'), "checks ['2.2']"),
        ((SOLUTION, TESTS.replace("### END HIDDEN TESTS\n", "")), "never closed"),
    ],
)
def test_malformed_masters_are_named(tmp_path, sources, words):
    with pytest.raises(
        FormatError, match=r"02_demo\.ipynb.*" + words.replace("[", r"\[").replace("(", r"\(")
    ):
        read_assignment(_write(tmp_path, *sources))


def test_solution_cells_by_metadata_or_header():
    tagged = new_code_cell(
        "def f(): ...", metadata={"seqcourse": {"exercise": "2.1", "role": "solution"}}
    )
    nb = new_notebook(
        cells=[new_code_cell("# Exercise 2.2 (1 point)\nx = 1"), tagged, new_code_cell("pass")]
    )
    assert solution_cells(nb) == {"2.2": 0, "2.1": 1}
