"""The sandbox a submission's kernel runs in, and the README's no-network recipe.

What a kernel can see is tested from inside it: its user, the hidden folders, the processes
and the network it can reach. Then the README's recipe, ``unshare --map-root-user --net
seqcourse grade …``, grades the master of notebook 01 to full marks.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from seqcourse.execution import CappedClient
from seqcourse.grading.sandbox import KERNEL_IDS, SandboxKernelManager, kernel_ids, unshare_flags

ROOT = Path(__file__).parents[1]
MASTER = ROOT / "notebooks" / "01_rnn_from_scratch.ipynb"

LOOK = """
import os, socket, json
seen = {"uid": os.getuid(), "pids": len([p for p in os.listdir("/proc") if p.isdigit()])}
for name, path in PATHS.items():
    try:
        seen[name] = sorted(os.listdir(path))
    except OSError as err:
        seen[name] = type(err).__name__
try:
    open(os.path.join(PATHS["out"], "forged.json"), "w").write("{}")
    seen["wrote_out"] = True
except OSError:
    seen["wrote_out"] = False
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
    seen["network"] = True
except OSError:
    seen["network"] = False
print(json.dumps(seen))
"""

needs_namespaces = pytest.mark.skipif(
    not sys.platform.startswith("linux") or unshare_flags() is None,
    reason="unshare is not permitted here",
)


@needs_namespaces
def test_kernel_sees_no_masters_no_out_no_processes_no_network(tmp_path):
    import json

    out = tmp_path / "out"
    out.mkdir()
    (out / "grades.csv").write_text("secret")
    workdir = tempfile.mkdtemp(prefix="seqcourse-work-")
    paths = {"masters": str(ROOT / "notebooks"), "out": str(out), "git": str(ROOT / ".git")}
    hide = [p for p in paths.values() if os.path.isdir(p)]
    manager = type(
        "M", (SandboxKernelManager,), {"hide": hide, "workdir": workdir, "run_tag": "t-sbx"}
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"PATHS = {paths!r}\n" + LOOK)])
    client = CappedClient(nb, kernel_manager_class=manager, allow_errors=True)
    try:
        with client.setup_kernel():
            assert client.run_cell(nb.cells[0], 60) == "ok", nb.cells[0].outputs
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    seen = json.loads(nb.cells[0].outputs[0]["text"])
    assert seen["masters"] in ([], "PermissionError") and seen["out"] in ([], "PermissionError")
    assert seen["wrote_out"] is False and (out / "grades.csv").read_text() == "secret"
    assert seen["network"] is False
    assert seen["pids"] <= 3  # itself (and its threads' helpers): not the grader's processes
    if os.geteuid() == 0:
        assert seen["uid"] in KERNEL_IDS


@needs_namespaces
def test_readme_recipe_unshare_without_network(tmp_path):
    submission = tmp_path / "alice" / MASTER.name
    submission.parent.mkdir()
    shutil.copy(MASTER, submission)
    out = tmp_path / "grades"
    done = subprocess.run(
        ["unshare", "--map-root-user", "--net", sys.executable, "-m", "seqcourse.cli", "grade",
         str(submission), "--out", str(out), "--masters", str(ROOT / "notebooks"),
         "--assignment", MASTER.stem,
         "--timeout-total", "300"],
        capture_output=True, text=True, timeout=400, cwd=ROOT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    rows = list(csv.DictReader(open(out / "grades.csv")))
    assert [r["total"] for r in rows] == ["10"], rows


PLANT = """
import json, os
tried = {}
for name, path in {
    "list": VICTIM,
    "startup": os.path.join(VICTIM, ".ipython", "profile_default", "startup", "00-spoil.py"),
    "file": os.path.join(VICTIM, "spoil.txt"),
}.items():
    try:
        if name == "list":
            os.listdir(path)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "w").write("raise SystemExit('spoiled')")
        tried[name] = "done"
    except OSError as err:
        tried[name] = type(err).__name__
print(json.dumps({"uid": os.getuid(), "tried": tried}))
"""


@needs_namespaces
@pytest.mark.skipif(os.geteuid() != 0 or kernel_ids() is None, reason="needs root")
def test_a_kernel_cannot_reach_another_kernels_working_folder():
    """Two kernels graded side by side (issue: a kernel planted IPython start-up files in a
    classmate's working folder, which then scored 0): each runs as its own user and cannot
    list or write the other's folder."""
    import json

    folders = [tempfile.mkdtemp(prefix="seqcourse-work-") for _ in range(2)]
    for folder in folders:
        os.chmod(folder, 0o700)
    seen = []
    try:
        victim = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(os.getuid())")])
        victim.cells.insert(0, nbformat.v4.new_code_cell("import os"))
        attacker = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(f"VICTIM = {folders[0]!r}\n" + PLANT)]
        )
        managers = [
            type(f"M{i}", (SandboxKernelManager,), {"hide": [], "workdir": w, "run_tag": f"t-{i}"})
            for i, w in enumerate(folders)
        ]
        victim_client = CappedClient(victim, kernel_manager_class=managers[0], allow_errors=True)
        with victim_client.setup_kernel():  # the victim's kernel is up while the attacker runs
            victim_client.run_cell(victim.cells[0], 60)
            client = CappedClient(attacker, kernel_manager_class=managers[1], allow_errors=True)
            with client.setup_kernel():
                assert client.run_cell(attacker.cells[0], 60) == "ok", attacker.cells[0].outputs
            seen = json.loads(attacker.cells[0].outputs[0]["text"])
            assert victim_client.run_cell(victim.cells[1], 60) == "ok"
            victim_uid = int(victim.cells[1].outputs[0]["text"])
        assert seen["tried"] == {k: "PermissionError" for k in ("list", "startup", "file")}
        assert victim_uid != seen["uid"] and {victim_uid, seen["uid"]} <= set(KERNEL_IDS)
        assert (
            os.listdir(folders[0]) == []
            or ".ipython" not in os.listdir(folders[0])
            or not any("spoil" in f for _, _, files in os.walk(folders[0]) for f in files)
        )
    finally:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
