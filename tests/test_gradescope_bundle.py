"""``seqcourse gradescope``: the autograder zip, run as Gradescope runs it.

The zip is unpacked into a temporary root laid out as ``/autograder`` (``source/`` from the
zip, ``submission/`` with the student's files, ``results/``), and its ``run_autograder`` is run
in a subprocess, once per submission: an honest one, a partial one, one that tries to copy the
answers from the master inside the bundle, and an upload without a notebook. ``setup.sh`` is
only read (it installs system packages: Gradescope runs it when it builds the image).
"""

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import nbformat
import pytest
from grading_copies import MASTER, NAME, solved_copy, student_copy
from test_grader_models import _with

from seqcourse import __version__
from seqcourse.cli import main as cli
from seqcourse.grading.notebook_format import solution_cells

SCHEMA = json.loads((Path(__file__).parent / "gradescope_results.schema.json").read_text())
# 1.1 is right only where the master inside the bundle exists; 1.2, the control, only where
# /usr does. Graded by the bundle, a kernel that could see the master would score 1.1 too.
SEES_THE_MASTER = """def rnn_cell_forward(x_t, h_prev, W_x, W_h, b):
    import pathlib
    if pathlib.Path({master!r}).is_file():
        return np.tanh(x_t @ W_x + h_prev @ W_h + b)
    return 0 * h_prev
"""
SEES_USR = "np.tanh(xs[:, t] @ W_x + h @ W_h + b) if pathlib.Path('/usr').is_dir() else 0 * h"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    assert cli(["gradescope", str(MASTER), "--out", str(out), "--timeout-total", "300"]) == 0
    return out


def _unpack(bundle: Path, root: Path) -> None:
    """Lay ``bundle`` out under ``root`` as Gradescope does, modes kept."""
    with zipfile.ZipFile(bundle) as z:
        for info in z.infolist():
            target = root / "source" / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(z.read(info))
            if info.external_attr >> 16:
                target.chmod(stat.S_IMODE(info.external_attr >> 16))
    (root / "submission").mkdir()
    (root / "results").mkdir()


def _run_autograder(bundle: Path, root: Path, files: dict) -> dict:
    _unpack(bundle, root)
    for name, nb in files.items():
        (root / "submission" / name).write_text(nbformat.writes(nb), encoding="utf-8")
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), SEQCOURSE_PYTHON=sys.executable)
    done = subprocess.run([str(root / "source" / "run_autograder")], env=env,
                          capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(data, SCHEMA)
    return data


def test_the_zip_holds_what_gradescope_runs(bundle):
    with zipfile.ZipFile(bundle) as z:
        names = set(z.namelist())
        modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in z.infolist()}
        setup = z.read("setup.sh").decode()
        config = json.loads(z.read("seqcourse-autograder.json"))
    assert names == {"setup.sh", "run_autograder", f"masters/{NAME}", "seqcourse-autograder.json"}
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    assert f'"seqcourse[tools]=={__version__}"' in setup and "util-linux" in setup
    assert config["assignment"] == NAME[:-6] and config["total_timeout"] == 300
    for script in ("setup.sh", "run_autograder"):  # both parse as bash
        with zipfile.ZipFile(bundle) as z:
            text = z.read(script).decode()
        assert subprocess.run(["bash", "-n"], input=text, text=True, check=False).returncode == 0


def test_a_master_that_is_not_one_is_refused(tmp_path, capsys):
    plain = tmp_path / "plain.ipynb"
    plain.write_text(nbformat.writes(nbformat.v4.new_notebook()))
    assert cli(["gradescope", str(plain), "--out", str(tmp_path / "a.zip")]) == 2
    assert not (tmp_path / "a.zip").exists()
    assert cli(["gradescope", str(tmp_path / "none.ipynb"), "--out", str(tmp_path / "b.zip")]) == 2
    assert "seqcourse gradescope:" in capsys.readouterr().err


def test_honest_partial_and_hostile_submissions(bundle, tmp_path):
    partial = _with(solved_copy(), "1.4", answer="def rnn_backward(*args):\n    return None\n")
    master_in_bundle = str(tmp_path / "hostile" / "source" / "masters" / NAME)
    hostile = _with(solved_copy(), "1.1", answer=SEES_THE_MASTER.format(master=master_in_bundle))
    cell = hostile.cells[solution_cells(hostile)["1.2"]]
    cell.source = cell.source.replace("rnn_cell_forward(xs[:, t], h, W_x, W_h, b)", SEES_USR)
    cell.source = cell.source.replace(
        "    h, hs = h0, []", "    import pathlib\n    h, hs = h0, []"
    )
    honest = _run_autograder(bundle, tmp_path / "honest", {NAME: solved_copy()})
    assert honest["score"] == 10 and all(t["status"] == "passed" for t in honest["tests"])
    got = _run_autograder(bundle, tmp_path / "partial", {"my work.ipynb": partial})  # any name
    assert got["score"] == 7
    assert [t["name"] for t in got["tests"] if t["status"] == "failed"][0].startswith(
        "Exercise 1.4"
    )
    got = _run_autograder(bundle, tmp_path / "hostile", {NAME: hostile})
    earned = {ex: sum(t["score"] for t in got["tests"] if t["number"].split(".h")[0] == ex)
              for ex in ("1.1", "1.2")}  # fmt: skip
    assert earned == {"1.1": 0, "1.2": 2}, got  # the kernel sees /usr, not the bundle's master


def test_an_upload_without_its_notebook_scores_zero_and_says_why(bundle, tmp_path):
    got = _run_autograder(bundle, tmp_path / "none", {})
    assert got["score"] == 0 and "No .ipynb file was submitted" in got["output"]
    two = {"a.ipynb": student_copy(), "b.ipynb": student_copy()}
    got = _run_autograder(bundle, tmp_path / "two", two)
    assert got["score"] == 0 and f"Submit one notebook named {NAME}" in got["output"]
