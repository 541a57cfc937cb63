"""The exercise format of the course notebooks (nbgrader-compatible markers).

In a *master* notebook (``notebooks/``):

* an **exercise cell** starts with a header comment declaring its id and points, and holds the
  answer between nbgrader's markers::

      # Exercise 1.1 (2 points)
      def rnn_cell_forward(x_t, h_prev, W_x, W_h, b):
          ### BEGIN SOLUTION
          return np.tanh(x_t @ W_x + h_prev @ W_h + b)
          ### END SOLUTION

* the **test cells** that follow it (up to the next exercise) belong to that exercise: a
  public check ``check("1.1", rnn_cell_forward)`` and, optionally, hidden tests between
  ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` (plain asserts; the block passes when
  it raises nothing).

``seqcourse release`` turns masters into student copies; the grader re-injects the hidden
tests from the master. Released cells carry ``metadata["seqcourse"]`` with the exercise id,
points and role, so a grader finds them even if a student edits the header comment.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
METADATA_KEY = "seqcourse"

_HEADER = re.compile(
    r"^\s*#\s*Exercise\s+(?P<id>\d+\.\d+)\s*\(\s*(?P<points>\d+(?:\.\d+)?)\s*points?\s*\)",
    re.IGNORECASE | re.MULTILINE,
)
_CHECK_CALL = re.compile(r"""\bcheck\(\s*["'](?P<id>\d+\.\d+)["']""")


class FormatError(ValueError):
    """A master notebook breaks the exercise format; the message names the cell and the fix."""


@dataclass
class Exercise:
    """One graded exercise of a master notebook."""

    id: str
    points: float
    cell_index: int
    public_tests: list[str] = field(default_factory=list)
    hidden_tests: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # what the exercise cell defines


def python_source(source: str) -> str:
    """A cell's source with IPython-only lines (``%magic``, ``!shell``) blanked, for ``ast``."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    )


def defined_names(source: str) -> list[str]:
    """Top-level functions, classes and variables a cell defines, in order."""
    try:
        tree = ast.parse(python_source(source))
    except SyntaxError:
        return []
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return list(dict.fromkeys(names))


@dataclass
class Assignment:
    """A master notebook's exercises, in notebook order."""

    name: str
    path: Path
    exercises: dict[str, Exercise]

    @property
    def total_points(self) -> float:
        return sum(e.points for e in self.exercises.values())


def parse_header(source: str) -> tuple[str, float] | None:
    """Return ``(id, points)`` from an ``# Exercise X.Y (N points)`` header, or None."""
    match = _HEADER.search(source)
    return (match["id"], float(match["points"])) if match else None


def _blocks(source: str, begin: str, end: str, where: str) -> list[tuple[int, int]]:
    """Line spans ``(begin_line, end_line)`` of every ``begin``…``end`` block in ``source``."""
    spans, start = [], None
    for number, line in enumerate(source.splitlines()):
        stripped = line.strip()
        if stripped == begin:
            if start is not None:
                raise FormatError(f"{where}: '{begin}' opened twice without '{end}' in between")
            start = number
        elif stripped == end:
            if start is None:
                raise FormatError(f"{where}: '{end}' without a matching '{begin}'")
            spans.append((start, number))
            start = None
    if start is not None:
        raise FormatError(f"{where}: '{begin}' is never closed; add a '{end}' line")
    return spans


def split_hidden_tests(source: str, where: str = "cell") -> tuple[str, list[str]]:
    """Split a test cell into its public part and its hidden-test blocks (markers dropped)."""
    lines = source.splitlines()
    spans = _blocks(source, BEGIN_HIDDEN, END_HIDDEN, where)
    hidden = ["\n".join(lines[a + 1 : b]) for a, b in spans]
    drop = {n for a, b in spans for n in range(a, b + 1)}
    public = "\n".join(line for n, line in enumerate(lines) if n not in drop).strip("\n")
    return public, hidden


def stub_solution(source: str, exercise_id: str, where: str = "cell") -> str:
    """Replace each solution block with a stub raising a NotImplementedError naming the exercise."""
    lines = source.splitlines()
    spans = _blocks(source, BEGIN_SOLUTION, END_SOLUTION, where)
    out, last = [], 0
    for a, b in spans:
        indent = lines[a][: len(lines[a]) - len(lines[a].lstrip())]
        out += lines[last:a]
        out += [
            f"{indent}# YOUR CODE HERE",
            f'{indent}raise NotImplementedError("Exercise {exercise_id}: not attempted yet")',
        ]
        last = b + 1
    out += lines[last:]
    return "\n".join(out)


def notebook_name(path: str | Path) -> str:
    """The name a notebook is known by: its file stem, e.g. ``01_rnn_from_scratch``."""
    return Path(path).stem


def read_assignment(path: str | Path) -> Assignment:
    """Parse a master notebook into its exercises; raise :class:`FormatError` if malformed."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    exercises: dict[str, Exercise] = {}
    current: Exercise | None = None
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"{path.name} cell {index}"
        header = parse_header(cell.source)
        has_solution = BEGIN_SOLUTION in cell.source
        if header or has_solution:
            if not (header and has_solution):
                raise FormatError(
                    f"{where}: an exercise cell needs both an '# Exercise X.Y (N points)' header "
                    f"and a '{BEGIN_SOLUTION}' … '{END_SOLUTION}' block"
                )
            _blocks(cell.source, BEGIN_SOLUTION, END_SOLUTION, where)
            ex_id, points = header
            if ex_id in exercises:
                raise FormatError(f"{where}: exercise {ex_id} is declared twice")
            current = exercises[ex_id] = Exercise(
                ex_id, points, index, names=defined_names(cell.source)
            )
            continue
        called = {m["id"] for m in _CHECK_CALL.finditer(cell.source)}
        is_test = bool(called) or BEGIN_HIDDEN in cell.source
        if not is_test:
            continue
        if current is None:
            raise FormatError(f"{where}: a test cell comes before any exercise cell")
        if called - {current.id}:
            raise FormatError(
                f"{where}: this test cell follows exercise {current.id} but checks "
                f"{sorted(called - {current.id})}; move it after its exercise"
            )
        public, hidden = split_hidden_tests(cell.source, where)
        if public.strip():
            current.public_tests.append(public)
        current.hidden_tests.extend(hidden)
    for ex in exercises.values():
        if not ex.public_tests:
            raise FormatError(f"{path.name}: exercise {ex.id} has no public check cell after it")
    return Assignment(notebook_name(path), path, exercises)


def solution_cells(nb) -> dict[str, int]:
    """Map exercise id -> index of its cell in a (student) notebook.

    Cells are found by ``metadata["seqcourse"]["exercise"]`` (written by release) or else by
    their header comment. If a student duplicated a cell, the last one wins (it ran last).
    """
    found: dict[str, int] = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        meta = cell.get("metadata")
        meta = meta.get(METADATA_KEY) if isinstance(meta, dict) else None
        if (
            isinstance(meta, dict)
            and meta.get("role") == "solution"
            and isinstance(meta.get("exercise"), str)
            and re.fullmatch(r"\d+\.\d+", meta["exercise"])
        ):
            found[meta["exercise"]] = index
            continue
        if not isinstance(cell.get("source"), str):
            continue
        header = parse_header(cell.source)
        if header:
            found[header[0]] = index
    return found
