"""Bans resolve the lesson's own names (issue 37): an exercise answered with the lesson's code
that computes its answer — a setup helper, a layer class, a reference bound to a lesson name —
scores 0 like a banned API, while a student's own helper of the same name does not.

These are static: ``banned_exercises`` reads the submission against the real master, no
kernel runs (the grading batteries check that a banned exercise scores 0)."""

from __future__ import annotations

import copy

import nbformat
import pytest
from grading_copies import ROOT

from seqcourse.grading.notebook_format import read_assignment, solution_cells
from seqcourse.grading.worker import banned_exercises, course_aliases, course_bindings

MASTERS = ROOT / "notebooks"


def _banned(notebook: str, exercise: str, answer: str) -> dict:
    master = MASTERS / f"{notebook}.ipynb"
    nb = copy.deepcopy(nbformat.read(master, as_version=4))
    where = solution_cells(nb)
    cell = nb.cells[where[exercise]]
    cell.source = cell.source.splitlines()[0] + "\n" + answer
    return banned_exercises(nb, where, read_assignment(master))


def _aliases(notebook: str, exercise: str) -> set[str]:
    from seqcourse.grading.public_checks import load_replaces

    assignment = read_assignment(MASTERS / f"{notebook}.ipynb")
    own = {n for e in assignment.exercises.values() for n in e.names}
    return course_aliases(load_replaces(exercise), course_bindings(assignment.path), own)


def test_the_lessons_own_objects_are_found_by_what_they_are_built_from():
    assert {"YourMinGRU", "your_scan", "parallel_recurrence"} <= _aliases(
        "12_parallel_recurrences", "12.2"
    )
    assert "YourMinGRU" in _aliases("12_parallel_recurrences", "12.3")
    assert {"YourAttention", "your_attention"} <= _aliases("06_seq2seq_attention", "6.1")
    assert {"PerFrame", "your_per_frame"} <= _aliases("09_video_activity", "9.1")
    # data are not code: a mask, a model, a history are never bans
    assert not {"mask", "model", "history", "x"} & _aliases("12_parallel_recurrences", "12.2")


LESSON_CODE = [  # issue 37's battery: the lesson's own code as the answer (honest score: 0)
    ("12_parallel_recurrences", "12.1",
     "def compose(earlier, later):\n    return combine(earlier, later)\n"),
    ("12_parallel_recurrences", "12.3",
     "def min_gru_step(x, h, kernel, bias):\n"
     "    layer = YourMinGRU(h.shape[-1])\n"
     "    return layer.step_from(x, h, kernel, bias)\n"),
    ("06_seq2seq_attention", "6.1",
     "def attention_weights(query, keys, w_query, w_key, v, mask):\n"
     "    layer = YourAttention(w_query.shape[1])\n"
     "    return layer.attention_weights(query, keys, mask)\n"),
    ("09_video_activity", "9.1",
     "def apply_per_frame(frame_model, clips):\n    return PerFrame(frame_model)(clips)\n"),
    ("03_sentiment", "3.2",  # the reference reached by a lookup on a bytes literal
     "import pydoc\ndef last_real_step(outputs, mask):\n"
     "    return pydoc.locate(bytes([115, 101, 113]).decode() + 'course.models.last_real_step')"
     "(outputs, mask)\n"),
]  # fmt: skip


@pytest.mark.parametrize("notebook, exercise, answer", LESSON_CODE)
def test_the_lessons_own_code_as_the_answer_scores_zero(notebook, exercise, answer):
    banned = _banned(notebook, exercise, answer)
    assert exercise in banned, banned


HONEST = [  # unusual but correct: the student's own helpers carry the lesson's names
    ("12_parallel_recurrences", "12.3",
     "def min_gru_step(x, h, kernel, bias):\n"
     "    def step(z, cand):\n        return (1 - z) * h + z * cand\n"
     "    units = h.shape[-1]\n    projected = x @ kernel + bias\n"
     "    return step(1 / (1 + np.exp(-projected[:, :units])), projected[:, units:])\n"),
    ("12_parallel_recurrences", "12.1",
     "def compose(earlier, later):\n    (a1, b1), (a2, b2) = earlier, later\n"
     "    combine = a1 * a2, a2 * b1 + b2\n    return combine\n"),
    ("09_video_activity", "9.1",
     "def apply_per_frame(frame_model, clips):\n    PerFrame = ops.reshape\n"
     "    batch, time = ops.shape(clips)[0], ops.shape(clips)[1]\n"
     "    features = frame_model(PerFrame(clips, (-1, *clips.shape[2:])))\n"
     "    return PerFrame(features, (batch, time, features.shape[-1]))\n"),
]  # fmt: skip


@pytest.mark.parametrize("notebook, exercise, answer", HONEST)
def test_a_students_helper_named_like_the_lessons_is_not_banned(notebook, exercise, answer):
    assert exercise not in _banned(notebook, exercise, answer)


def test_an_alias_bound_in_an_edited_course_cell_is_the_api():
    """The setup cell already imports ``combine`` (the lesson's fallback): a student who adds
    ``mine = combine`` there and answers 12.1 with ``mine`` reaches the reference."""
    master = MASTERS / "12_parallel_recurrences.ipynb"
    nb = copy.deepcopy(nbformat.read(master, as_version=4))
    where = solution_cells(nb)
    nb.cells[1].source += "\nmine = combine\n"
    cell = nb.cells[where["12.1"]]
    cell.source = (
        cell.source.splitlines()[0]
        + "\ndef compose(earlier, later):\n    return mine(earlier, later)\n"
    )
    banned = banned_exercises(nb, where, read_assignment(master))
    assert "12.1" in banned and "mine" in banned["12.1"], banned


def _every_alias():
    """(notebook, exercise, answer name, alias) for every lesson name bound to a replaced API."""
    from seqcourse.grading.public_checks import load_replaces

    for master in sorted(MASTERS.glob("*.ipynb")):
        assignment = read_assignment(master)
        own = {n for e in assignment.exercises.values() for n in e.names}
        bindings = course_bindings(master)
        for ex_id, exercise in assignment.exercises.items():
            for alias in sorted(course_aliases(load_replaces(ex_id), bindings, own)):
                yield master.stem, ex_id, exercise.names[0], alias


@pytest.mark.parametrize("notebook, exercise, name, alias", list(_every_alias()))
def test_every_lesson_alias_of_a_replaced_api_scores_zero(notebook, exercise, name, alias):
    """Class 1 of issue 37 on every notebook: the answer hands its work to the lesson's object."""
    answer = f"def {name}(*args, **kwargs):\n    return {alias}(*args, **kwargs)\n"
    banned = _banned(notebook, exercise, answer)
    assert exercise in banned and alias in banned[exercise], banned
