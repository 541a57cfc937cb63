#!/usr/bin/env python3
"""Set up the course in a local virtual environment and run it — the README's two commands.

    python3 course.py run    # set up .venv, execute every notebook headless, write a report
    python3 course.py test   # set up .venv, run the test suite (pytest)

Set-up creates ``.venv`` next to this file and installs ``seqcourse[dev]`` into it; it is
skipped when ``pyproject.toml`` has not changed since the last install. Only the standard
library is used here, so any Python >= 3.11 can run it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".seqcourse-installed"


def setup() -> None:
    """Create .venv and install the package with its dev extra, unless already up to date."""
    if sys.version_info < (3, 11):  # noqa: UP036 (this script may be run by an older Python)
        sys.exit(f"seqcourse needs Python >= 3.11; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted and PYTHON.exists():
        return
    if not PYTHON.exists():
        print(f"creating {VENV} …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print(
        "installing seqcourse[dev] and its dependencies (TensorFlow is large: a few minutes) …",
        flush=True,
    )
    quiet = ["--quiet", "--disable-pip-version-check"]
    subprocess.run([PYTHON, "-m", "pip", "install", *quiet, "--upgrade", "pip"], check=True)
    subprocess.run([PYTHON, "-m", "pip", "install", *quiet, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted)


def main() -> int:
    task = sys.argv[1] if len(sys.argv) > 1 else ""
    if task not in {"run", "test"}:
        print(__doc__)
        return 2
    setup()
    os.chdir(ROOT)
    if task == "test":
        return subprocess.run([PYTHON, "-m", "pytest", *sys.argv[2:]]).returncode
    code = subprocess.run([PYTHON, "-m", "seqcourse.cli", "run", "--all", *sys.argv[2:]]).returncode
    print(
        f"\nExecuted notebooks are in runs/. To work through the course interactively:\n  {BIN / 'jupyter'} lab notebooks/"
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
