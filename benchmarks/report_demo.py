"""The README's picture of ``report.html``: grade a small class of notebook 01, screenshot it.

    python benchmarks/report_demo.py [--out docs/images/grading-report.png]

The class: two honest copies of the master, three partial ones (1.4 returning nothing, 1.1
off by a constant, 1.3 left as the stub), the released student copy, a file that is not JSON
and a copy with a cell that loops forever before 1.2 (the 20-s cell limit interrupts it). They are graded with
``seqcourse grade --jobs 2``; the report is opened in headless Chromium (Debian's ``chromium``
package) and the screenshot written to ``--out``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from grading_copies import MASTER, NAME, solved_copy, student_copy  # noqa: E402
from test_grader_models import _with  # noqa: E402

from seqcourse.grading.grade import grade  # noqa: E402


def demo_class() -> dict:
    """Student name -> notebook (or text, for a broken file)."""
    return {
        "ann": solved_copy(),
        "ben": solved_copy(),
        "cat": _with(solved_copy(), "1.4", answer="def rnn_backward(*args):\n    return None\n"),
        "dev": _with(
            solved_copy(),
            "1.1",
            answer="def rnn_cell_forward(x_t, h_prev, W_x, W_h, b):\n"
            "    return np.tanh(x_t @ W_x + h_prev @ W_h + b) + 0.1\n",
        ),  # fmt: skip
        "eli": _with(
            solved_copy(),
            "1.3",
            answer="def rnn_step_backward(*args):\n"
            "    raise NotImplementedError('Exercise 1.3: not attempted yet')\n",
        ),  # fmt: skip
        "fay": student_copy(),
        "gus": "{this is not a notebook",
        "hal": _with(solved_copy(), "1.2", before="while True:\n    pass\n"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "images" / "grading-report.png"))
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("needs Chromium: apt-get install chromium")
    out = Path(args.out).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.chdir(tmp)  # the report shows the paths as given: submissions/<student>/...
        paths = []
        for student, nb in demo_class().items():
            path = Path("submissions") / student / NAME
            path.parent.mkdir(parents=True)
            path.write_text(nb if isinstance(nb, str) else nbformat.writes(nb), encoding="utf-8")
            paths.append(path)
        grade(paths, tmp / "grades", masters=MASTER.parent, jobs=2, cell_timeout=20)
        report = tmp / "grades" / "report.html"
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--screenshot={out}", "--window-size=1100,1900", report.as_uri()],
            check=True, capture_output=True,
        )  # fmt: skip
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
