"""A Gradescope autograder for one notebook: ``seqcourse gradescope NOTEBOOK --out autograder.zip``.

Gradescope builds an image from the zip's ``setup.sh`` (once, on its Ubuntu base image, as root)
and runs ``run_autograder`` for each submission, with the student's files in
``/autograder/submission`` and the zip's in ``/autograder/source``; it reads
``/autograder/results/results.json`` (https://gradescope-autograders.readthedocs.io/en/latest/
specs/). The bundle holds:

* ``setup.sh``: a virtual environment in ``/opt/seqcourse`` with ``seqcourse[tools]`` at the
  version that built the bundle (or the wheel given with ``--wheel``, shipped in the zip), and
  ``unshare`` for the kernel's sandbox. Nothing is downloaded when a submission is graded.
* ``run_autograder``: ``python -m seqcourse.grading.gradescope run``, which finds the submitted
  notebook, grades it with ``seqcourse grade`` against the bundled master (the kernel runs in
  the grader's sandbox: the master, in ``/autograder/source``, does not exist in its view) and
  writes ``results.json`` (Gradescope's format, see :meth:`SubmissionResult.gradescope`).
* ``masters/<notebook>.ipynb`` and ``seqcourse-autograder.json`` (the assignment and limits).

``AUTOGRADER_ROOT`` (default ``/autograder``) and ``SEQCOURSE_PYTHON`` (default
``/opt/seqcourse/bin/python``) move the layout, which is how the tests run a bundle.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import tempfile
import zipfile
from pathlib import Path

from seqcourse import __version__
from seqcourse.grading.notebook_format import FormatError, read_assignment
from seqcourse.grading.results import write_atomic

CONFIG = "seqcourse-autograder.json"

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image (Ubuntu, as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq python3 python3-venv python3-pip util-linux >/dev/null
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "seqcourse needs Python 3.11 or newer, this image has $(python3 --version):" \
        "choose Gradescope's Ubuntu 24.04 base image" >&2
    exit 1
fi
python3 -m venv /opt/seqcourse
/opt/seqcourse/bin/python -m pip install --quiet --upgrade pip
/opt/seqcourse/bin/python -m pip install --quiet {requirement}
/opt/seqcourse/bin/python -c "import seqcourse.grading.gradescope"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for each submission: grade it against the master in this bundle.
set -euo pipefail
export AUTOGRADER_ROOT="${AUTOGRADER_ROOT:-/autograder}"
exec "${SEQCOURSE_PYTHON:-/opt/seqcourse/bin/python}" -m seqcourse.grading.gradescope run \\
    --root "$AUTOGRADER_ROOT"
"""


def build_bundle(
    master: Path,
    out: Path,
    wheel: Path | None = None,
    cell_timeout: float = 60,
    total_timeout: float = 600,
    memory_gb: float = 6,
    hidden_visibility: str = "after_published",
) -> Path:
    """Write the autograder zip for ``master`` to ``out``; return ``out``.

    Raises:
        FileNotFoundError: ``master`` or ``wheel`` does not exist.
        FormatError: ``master`` is not a master notebook (no exercises)."""
    assignment = read_assignment(master)
    if not assignment.exercises:
        raise FormatError(
            f"{master} has no '# Exercise X.Y (N points)' cell: give a master notebook"
        )
    if wheel is not None and not Path(wheel).is_file():
        raise FileNotFoundError(f"no wheel {wheel}: build one with `pip wheel . --no-deps`")
    requirement = (
        f'"seqcourse[tools] @ file:///autograder/source/{Path(wheel).name}"'
        if wheel
        else f'"seqcourse[tools]=={__version__}"'
    )
    config = {"assignment": assignment.name, "cell_timeout": cell_timeout,
              "total_timeout": total_timeout, "memory_gb": memory_gb,
              "hidden_visibility": hidden_visibility, "seqcourse": __version__}  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, text in (("setup.sh", SETUP_SH.format(requirement=requirement)),
                           ("run_autograder", RUN_AUTOGRADER)):  # fmt: skip
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFREG | 0o755) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, text)
        bundle.write(master, f"masters/{assignment.name}.ipynb")
        bundle.writestr(CONFIG, json.dumps(config, indent=1))
        if wheel:
            bundle.write(wheel, Path(wheel).name)
    return out


def find_notebook(folder: Path, name: str) -> tuple[Path | None, str]:
    """The submitted notebook in ``folder``: the one named ``name`` (at any depth), else the
    only ``.ipynb``; links are never followed. ``(path, "")`` or ``(None, why not)``."""
    found = []
    for here, _dirs, files in os.walk(folder, followlinks=False):
        for file in files:
            path = Path(here) / file
            if file.endswith(".ipynb") and stat.S_ISREG(os.lstat(path).st_mode):
                found.append(path)
    named = [p for p in found if p.name == name]
    if len(named) == 1 or (not named and len(found) == 1):
        return (named or found)[0], ""
    if not found:
        return None, f"No .ipynb file was submitted: submit your {name}."
    listed = ", ".join(sorted(str(p.relative_to(folder)) for p in found)[:10])
    return None, f"Submit one notebook named {name} (found: {listed})."


def run(root: Path) -> dict:
    """Grade the submission under ``root`` (laid out as ``/autograder``); write and return
    ``root/results/results.json``."""
    from seqcourse.grading.grade import grade

    config = json.loads((root / "source" / CONFIG).read_text(encoding="utf-8"))
    name = f"{config['assignment']}.ipynb"
    results_dir = root / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    notebook, problem = find_notebook(root / "submission", name)
    if notebook is None:
        data = {"score": 0, "output": problem, "output_format": "text", "tests": []}
    else:
        with tempfile.TemporaryDirectory(prefix="seqcourse-gradescope-") as out:
            grade(
                [notebook],
                Path(out),
                assignment=config["assignment"],
                masters=root / "source" / "masters",
                cell_timeout=float(config["cell_timeout"]),
                total_timeout=float(config["total_timeout"]),
                memory_gb=float(config["memory_gb"]),
                formats=("csv", "gradescope"),
                hidden_visibility=config["hidden_visibility"],
            )
            data = json.loads((Path(out) / "results.json").read_text(encoding="utf-8"))
    write_atomic(results_dir / "results.json", json.dumps(data, indent=1))
    return data


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run inside a Gradescope autograder.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="grade /autograder/submission into /autograder/results")
    p.add_argument("--root", default=os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    args = parser.parse_args(argv)
    data = run(Path(args.root))
    print(f"score {data['score']:g}: {data.get('output', '')[:200]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
