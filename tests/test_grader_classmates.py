"""One student's kernel cannot touch a classmate's: graded side by side (``--jobs 2``) and one
after the other in both orders (``--jobs 1``), an attacker that looks for other kernels' working
folders and keeps a daemon trying to plant IPython start-up files in them changes nothing: both
classmates keep full marks, and every write the attacker tries outside its own folder fails.

(Found by a held-out battery: every kernel ran as ``nobody`` with its working folder in
``/tmp``, so a kernel could plant start-up files that made a classmate score 0.)
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import pytest
from grading_copies import MASTER, NAME, ROOT, solved_copy

from seqcourse.grading.grade import grade
from seqcourse.grading.notebook_format import solution_cells

ATTACK = r"""
import glob, json, os, subprocess, time
spoil = "raise SystemExit('spoiled by another kernel')\n"
mine = os.path.realpath(os.environ["HOME"])
found, wrote = [], []
for folder in glob.glob("/tmp/seqcourse-*") + glob.glob("/tmp/seqcourse-*/*"):
    if os.path.realpath(folder).startswith(mine) or mine.startswith(os.path.realpath(folder)):
        continue  # its own folder and the folders that hold it
    found.append(folder)
    for target in (os.path.join(folder, ".ipython", "profile_default", "startup", "00-x.py"),
                   os.path.join(folder, "planted.txt")):
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w") as fh:
                fh.write(spoil)
            wrote.append(target)
        except OSError:
            pass
subprocess.Popen(["setsid", "sh", "-c",  # a daemon that keeps trying while the others run
    "for i in $(seq 120); do for d in /tmp/seqcourse-*/ /tmp/seqcourse-*/*/; do "
    "mkdir -p $d.ipython/profile_default/startup 2>/dev/null && "
    "echo \"raise SystemExit('spoiled')\" > $d.ipython/profile_default/startup/00-d.py; "
    "done; sleep 0.5; done"])
print("ATTACK " + json.dumps({"found": len(found), "wrote": wrote}))
time.sleep(STAY)  # alive while classmates start (graded side by side)
"""


def _write(folder: Path, name: str, attack: bool, stay: int = 0) -> Path:
    """``name``'s solved copy; with ``attack``, the attack in front of 1.1, its kernel staying
    alive ``stay`` seconds after it (classmates graded one after the other, or none, start only
    once it is done: there it need not wait)."""
    nb = solved_copy()
    if attack:
        i = solution_cells(nb)["1.1"]
        nb.cells[i].source = ATTACK.replace("STAY", str(stay)) + "\n" + nb.cells[i].source
    path = folder / name / NAME
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("jobs, order", [(2, ["eve", "ann", "bob"]), (1, ["ann", "eve", "bob"])])
def test_an_attacker_changes_nothing_for_classmates(tmp_path, jobs, order):
    paths = [
        _write(tmp_path / "subs", name, name == "eve", 20 if jobs == 2 else 0) for name in order
    ]
    out = tmp_path / "grades"
    grade(paths, out, assignment=NAME[:-6], masters=MASTER.parent, jobs=jobs,
          cell_timeout=60, total_timeout=300, progress=lambda *_: None)  # fmt: skip
    rows = {Path(r["submission"]).parent.name: r for r in csv.DictReader(open(out / "grades.csv"))}
    assert rows["ann"]["total"] == rows["bob"]["total"] == "10", rows
    executed = nbformat.read(out / "eve__01_rnn_from_scratch.executed.ipynb", as_version=4)
    report = next(
        json.loads(o["text"].split("ATTACK ", 1)[1].splitlines()[0])
        for c in executed.cells if c.cell_type == "code"
        for o in c.get("outputs", []) if "ATTACK " in o.get("text", "")
    )  # fmt: skip
    assert report["found"] >= 1  # it did find other folders of the run (at least the grader's)
    assert report["wrote"] == [], report  # every write outside its own folder failed


def test_the_attacker_is_graded_on_its_honest_part_too(tmp_path):
    """The attack sits in front of a correct 1.1: the row says what the code earned."""
    path = _write(tmp_path, "eve", True)
    results = grade([path], tmp_path / "out", assignment=NAME[:-6], masters=ROOT / "notebooks",
                    cell_timeout=60, total_timeout=300, progress=lambda *_: None)  # fmt: skip
    assert results[0].total == 10
