"""``seqcourse release``: write student copies (``exercises/``) from the masters (``notebooks/``).

In each copy, solution blocks become a stub raising ``NotImplementedError`` naming the
exercise, hidden-test blocks are removed (a cell left empty is dropped), outputs are cleared,
exercise cells carry ``metadata["seqcourse"]`` (id, points, role) and the notebook carries its
name, and the Colab badge points at the student copy.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from seqcourse.grading.notebook_format import (
    BEGIN_HIDDEN,
    METADATA_KEY,
    notebook_name,
    parse_header,
    read_assignment,
    split_hidden_tests,
    stub_solution,
)


def student_copy(
    master_path: Path, masters_dir: str = "notebooks", students_dir: str = "exercises"
):
    """Return the student copy (a NotebookNode) of the master notebook at ``master_path``."""
    assignment = read_assignment(master_path)  # validates the exercise format first
    nb = copy.deepcopy(nbformat.read(master_path, as_version=4))
    cells = []
    current = None
    for index, cell in enumerate(nb.cells):
        where = f"{master_path.name} cell {index}"
        if cell.cell_type == "markdown":
            cell.source = cell.source.replace(f"/{masters_dir}/", f"/{students_dir}/")
        if cell.cell_type != "code":
            cells.append(cell)
            continue
        cell.outputs, cell.execution_count = [], None
        header = parse_header(cell.source)
        if header and index == assignment.exercises[header[0]].cell_index:
            current = header[0]
            cell.source = stub_solution(cell.source, current, where)
            cell.metadata[METADATA_KEY] = {
                "exercise": current,
                "points": header[1],
                "role": "solution",
            }
        elif BEGIN_HIDDEN in cell.source:
            public, _ = split_hidden_tests(cell.source, where)
            if not public.strip():
                continue
            cell.source = public
            cell.metadata[METADATA_KEY] = {"exercise": current, "role": "check"}
        cells.append(cell)
    nb.cells = cells
    nb.metadata[METADATA_KEY] = {"notebook": notebook_name(master_path), "copy": "student"}
    return nb


@dataclass
class ReleaseReport:
    """What release wrote (or, with ``check``, what differs)."""

    written: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    diffs: dict[str, str] = field(default_factory=dict)

    @property
    def in_sync(self) -> bool:
        return not (self.stale or self.extra)


def _summarise_difference(old: str, new: str, limit: int = 12) -> str:
    """A readable summary of how a student copy on disk differs from the expected one:
    which cells differ, with a short diff of their source."""
    try:
        old_cells = nbformat.reads(old, as_version=4).cells
    except Exception as err:
        return f"  the file on disk is not a valid notebook ({type(err).__name__})"
    new_cells = nbformat.reads(new, as_version=4).cells
    lines = []
    if len(old_cells) != len(new_cells):
        lines.append(f"  {len(old_cells)} cells on disk, {len(new_cells)} expected")
    for i, (a, b) in enumerate(zip(old_cells, new_cells, strict=False)):
        if a == b:
            continue
        lines.append(f"  cell {i} ({b.cell_type}) differs:")
        diff = difflib.unified_diff(a.source.splitlines(), b.source.splitlines(), lineterm="", n=0)
        lines += [f"    {d}" for d in list(diff)[2:]] or ["    (metadata or outputs differ)"]
    if not lines:
        lines.append("  notebook metadata or formatting differs")
    more = f"\n  … {len(lines) - limit} more lines" if len(lines) > limit else ""
    return "\n".join(lines[:limit]) + more


def release(masters: Path, students: Path, check: bool = False, progress=print) -> ReleaseReport:
    """Write a student copy of every master in ``masters`` to ``students``.

    With ``check=True`` nothing is written; the report lists copies that are missing or out
    of date (``stale``) and copies whose master is gone (``extra``).
    """
    report = ReleaseReport()
    masters_list = sorted(masters.glob("*.ipynb"))
    if not masters_list:
        raise FileNotFoundError(f"no master notebooks in {masters}/")
    if not check:
        students.mkdir(parents=True, exist_ok=True)
    for master in masters_list:
        expected = nbformat.writes(student_copy(master, masters.name, students.name)) + "\n"
        target = students / master.name
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == expected:
            continue
        if check:
            report.stale.append(target.name)
            report.diffs[target.name] = (
                "missing" if current is None else _summarise_difference(current, expected)
            )
        else:
            target.write_text(expected, encoding="utf-8")
            report.written.append(target.name)
            progress(f"wrote {target}")
    names = {m.name for m in masters_list}
    report.extra = (
        sorted(p.name for p in students.glob("*.ipynb") if p.name not in names)
        if students.exists()
        else []
    )
    return report
