"""Every notebook follows the course conventions (COURSE_DESIGN.md section 4)."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from seqcourse.grading.notebook_format import read_assignment
from seqcourse.parameters import declared_parameters
from seqcourse.project import colab_badge, pip_install_spec

ROOT = Path(__file__).parents[1]
MASTERS = sorted((ROOT / "notebooks").glob("*.ipynb"))
COPIES = sorted((ROOT / "exercises").glob("*.ipynb"))
ALL = MASTERS + COPIES


def _id(path):
    return f"{path.parent.name}/{path.stem}"


def _code(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_there_are_notebooks_and_student_copies():
    assert MASTERS and [p.name for p in COPIES] == [p.name for p in MASTERS]


@pytest.mark.parametrize("path", ALL, ids=_id)
def test_header_has_colab_badge_and_objectives(path):
    first = nbformat.read(path, as_version=4).cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert colab_badge(f"{path.parent.name}/{path.name}") in first.source
    assert "learning objectives" in first.source.lower()


@pytest.mark.parametrize("path", ALL, ids=_id)
def test_setup_cell_comes_first(path):
    setup = _code(nbformat.read(path, as_version=4))[0].source
    assert "seqcourse.setup(" in setup
    assert (
        '"google.colab" in sys.modules' in setup
        and f'%pip install -q "{pip_install_spec()}"' in setup
    )


@pytest.mark.parametrize("path", ALL, ids=_id)
def test_outputs_are_stripped(path):
    for cell in _code(nbformat.read(path, as_version=4)):
        assert not cell.outputs and cell.execution_count is None


@pytest.mark.parametrize("path", ALL, ids=_id)
def test_keras3_idioms_only(path):
    text = "\n".join(c.source for c in _code(nbformat.read(path, as_version=4)))
    for banned in (
        r"\btf_keras\b",
        r"\btf\.keras\b",
        r"from tensorflow import keras",
        r"recurrent_dropout",
    ):
        assert not re.search(banned, text), f"{path.name} uses {banned}"


@pytest.mark.parametrize("path", MASTERS, ids=_id)
def test_masters_have_graded_exercises_and_a_recap(path):
    nb = nbformat.read(path, as_version=4)
    assert read_assignment(path).exercises  # at least one, on the notebook's key idea
    assert any(c.cell_type == "markdown" and c.source.startswith("## Recap") for c in nb.cells[-5:])
    assert "record(" in "\n".join(c.source for c in _code(nb))


def test_notebooks_are_ruff_clean():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "notebooks",
            "exercises",
            "seqcourse",
            "tests",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _is_plain_value(node) -> bool:
    """A literal (``3``, ``'bank'``, ``None``, ``-1e-3``) or ``scale(<literal>, fast=<literal>)``."""
    try:
        ast.literal_eval(node)
        return True
    except ValueError:
        pass
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "scale"
        and all(_is_plain_value(a) for a in [*node.args, *(k.value for k in node.keywords)])
    )


@pytest.mark.parametrize("path", ALL, ids=_id)
def test_one_parameters_cell_of_plain_assignments(path):
    """`seqcourse run -p NAME=VALUE` reassigns names right after this cell (papermill's
    convention): a value computed from another parameter would keep its old value."""
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in _code(nb) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{len(tagged)} cells tagged 'parameters'; want exactly one"
    assert declared_parameters(nb), "the parameters cell assigns nothing"
    for node in ast.parse(tagged[0].source).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, ast.unparse(node)
        target = node.targets[0]
        assert isinstance(target, ast.Name) and target.id.isupper(), ast.unparse(node)
        assert _is_plain_value(node.value), (
            f"{ast.unparse(node)}: a parameter is a literal or scale(literal, fast=literal)"
        )


COMPILE = re.compile(r"^\s*(\w+)\.compile\(", re.M)


@pytest.mark.parametrize("path", MASTERS, ids=_id)
def test_optimizers_are_built_before_fit(path):
    """Each compiled model builds its optimizer's variables in the same cell: Keras on
    TensorFlow (no distribution strategy) otherwise creates them while tracing the first
    training step, and tf.function traces that step twice (a few seconds per model)."""
    for cell in _code(nbformat.read(path, as_version=4)):
        for name in COMPILE.findall(cell.source):
            assert f"{name}.optimizer.build({name}.trainable_variables)" in cell.source, (
                f"{path.name}: build {name}'s optimizer after {name}.compile(...)"
            )
