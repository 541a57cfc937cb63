"""Student copies: generated from the masters, in sync, with no solutions or hidden tests."""

import shutil
from pathlib import Path

import nbformat

from seqcourse.cli import main
from seqcourse.grading.notebook_format import BEGIN_HIDDEN, BEGIN_SOLUTION, read_assignment
from seqcourse.grading.release import student_copy

ROOT = Path(__file__).parents[1]
MASTER = ROOT / "notebooks" / "01_rnn_from_scratch.ipynb"


def test_exercises_folder_is_in_sync(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["release", "--check"]) == 0, capsys.readouterr().out


def test_student_copy_has_no_solutions_and_keeps_ids():
    nb = student_copy(MASTER)
    text = "\n".join(c.source for c in nb.cells)
    assert BEGIN_SOLUTION not in text and BEGIN_HIDDEN not in text
    assert "np.tanh(x_t @ W_x + h_prev @ W_h + b)" not in text  # solution of 1.1
    assert "dz @ W_h.T" not in text  # solution of 1.3
    assert "_objective" not in text  # hidden tests of 1.3
    tagged = {
        c.metadata["seqcourse"]["exercise"]: c
        for c in nb.cells
        if c.metadata.get("seqcourse", {}).get("role") == "solution"
    }
    assert {k: c.metadata["seqcourse"]["points"] for k, c in tagged.items()} == {
        "1.1": 2.0,
        "1.2": 2.0,
        "1.3": 3.0,
        "1.4": 3.0,
    }
    assert 'raise NotImplementedError("Exercise 1.2: not attempted yet")' in tagged["1.2"].source
    assert nb.metadata["seqcourse"]["notebook"] == "01_rnn_from_scratch"
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_a_stub_runs_and_says_not_attempted(capsys):
    import numpy as np  # noqa: F401  (the exercise cell refers to np)

    nb = student_copy(MASTER)
    cell = next(c for c in nb.cells if c.metadata.get("seqcourse", {}).get("exercise") == "1.1")
    scope = {"np": np}
    exec(cell.source, scope)
    from seqcourse.grading import check

    check("1.1", scope["rnn_cell_forward"])
    assert "not attempted yet" in capsys.readouterr().out


def test_check_reports_stale_missing_and_extra_copies(tmp_path, capsys):
    masters, students = tmp_path / "notebooks", tmp_path / "exercises"
    masters.mkdir()
    shutil.copy(MASTER, masters)
    assert main(["release", "--masters", str(masters), "--out", str(students), "--check"]) == 1
    assert "missing" in capsys.readouterr().out

    assert main(["release", "--masters", str(masters), "--out", str(students)]) == 0
    assert main(["release", "--masters", str(masters), "--out", str(students), "--check"]) == 0

    nb = nbformat.read(masters / MASTER.name, as_version=4)
    nb.cells[2].source += "\nA new sentence in the lesson."
    nbformat.write(nb, masters / MASTER.name)
    (students / "99_gone.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))
    capsys.readouterr()
    assert main(["release", "--masters", str(masters), "--out", str(students), "--check"]) == 1
    out = capsys.readouterr().out
    assert "out of date: " in out and "+A new sentence in the lesson." in out
    assert "no master for: " in out and "99_gone.ipynb" in out


def test_release_output_parses_as_the_same_assignment(tmp_path):
    path = tmp_path / MASTER.name
    nbformat.write(student_copy(MASTER), path)
    nb = nbformat.read(path, as_version=4)
    ids = [
        c.metadata["seqcourse"]["exercise"]
        for c in nb.cells
        if c.metadata.get("seqcourse", {}).get("role") == "solution"
    ]
    assert ids == list(read_assignment(MASTER).exercises)
