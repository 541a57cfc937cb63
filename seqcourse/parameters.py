"""Notebook parameters, papermill's convention: ``seqcourse run NB -p NAME=VALUE``.

Each notebook has one code cell tagged ``parameters`` holding its run-time knobs as plain
assignments (``FULL_DATA = False``, ``EPOCHS = scale(7, fast=1)``). To run a notebook with
other values, a cell tagged ``injected-parameters`` that reassigns them is inserted right
after it, so the notebook on disk is never edited.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import nbformat

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"


class ParameterError(ValueError):
    """A ``-p`` option that cannot be applied: malformed, or no such parameter."""


def parse_assignment(text: str) -> tuple[str, object]:
    """``"EPOCHS=3"`` -> ``("EPOCHS", 3)``.

    The value is read as a Python literal (numbers, ``True``/``False``/``None``, quoted strings,
    lists…); anything else is taken as a plain string, so ``DATA=my_wavs/`` works unquoted.
    """
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise ParameterError(f"-p {text!r}: write it as NAME=VALUE, e.g. -p FULL_DATA=True")
    try:
        value = ast.literal_eval(raw.strip())
    except (ValueError, SyntaxError):
        value = raw.strip()
    return name, value


def resolve_paths(values: dict[str, object], cwd: str | Path | None = None) -> dict[str, object]:
    """``values`` with every string that is a relative path made absolute against ``cwd`` (the
    caller's working directory by default): the kernel runs in the notebook's folder, so
    ``-p DATA=my_wavs/`` typed in the course's root must reach it as ``/…/my_wavs``. A string
    counts as a path when it names something that exists under ``cwd`` or contains a path
    separator; plain words (``DATA=imdb``) and absolute paths are left alone."""
    cwd = Path(cwd or os.getcwd())
    resolved = {}
    for name, value in values.items():
        if isinstance(value, str) and value and not Path(value).is_absolute():
            looks_like_path = "/" in value or os.sep in value or (cwd / value).exists()
            if looks_like_path:
                value = str((cwd / value).resolve()) + (
                    os.sep if value.endswith(("/", os.sep)) else ""
                )
        resolved[name] = value
    return resolved


def parameters_cell(nb) -> int | None:
    """Index of the code cell tagged ``parameters``, or None when the notebook has none."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and PARAMETERS_TAG in cell.metadata.get("tags", []):
            return index
    return None


def declared_parameters(nb) -> list[str]:
    """Names assigned at the top level of the ``parameters`` cell, in order (IPython magics skipped)."""
    index = parameters_cell(nb)
    if index is None:
        return []
    source = "\n".join(
        line for line in nb.cells[index].source.splitlines() if not line.lstrip().startswith("%")
    )
    names = []
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names += [t.id for t in targets if isinstance(t, ast.Name) and t.id not in names]
    return names


def inject_parameters(nb, values: dict[str, object], label: str = "the notebook") -> None:
    """Insert a cell assigning ``values`` right after the ``parameters`` cell of ``nb`` (in place).

    Raises:
        ParameterError: the notebook has no parameters cell, or a name is not one of its
            parameters (the message lists the ones it has).
    """
    if not values:
        return
    index = parameters_cell(nb)
    if index is None:
        raise ParameterError(f"{label} has no cell tagged 'parameters'; it takes no -p options")
    known = declared_parameters(nb)
    unknown = [name for name in values if name not in known]
    if unknown:
        raise ParameterError(
            f"{label} has no parameter {', '.join(unknown)}; its parameters are: {', '.join(known)}"
        )
    source = "# Parameters given on the command line (seqcourse run -p)\n" + "".join(
        f"{name} = {value!r}\n" for name, value in values.items()
    )
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": [INJECTED_TAG]})
    nb.cells.insert(index + 1, cell)
