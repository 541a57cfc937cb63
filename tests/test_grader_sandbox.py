"""The sandbox a submission's kernel runs in, and the README's no-network recipe.

What a kernel can see is tested from inside it: its user, the folders and files of the machine
(masters where the grader was told, in the repository, a second checkout and a ``runs/``
folder, all world-readable), its writable folders, the processes and the network it can
reach. Then the README's recipe, ``unshare --map-root-user --net
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
from seqcourse.grading.kernel_manager import SandboxKernelManager
from seqcourse.grading.sandbox import (
    KERNEL_IDS,
    kernel_ids,
    unshare_flags,
    view_paths,
)

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
seen["read"] = []
for path in FILES:
    try:
        seen["read"].append(open(path, "rb").read(20).decode("latin-1"))
    except OSError as err:
        seen["read"].append(type(err).__name__)
try:
    import keras, seqcourse, seqcourse.datasets  # noqa: F401
    seen["imports"] = "ok"
except Exception as err:
    seen["imports"] = repr(err)
try:  # the grader's checks, probes and oracles
    import seqcourse.grading.checks.nb03  # noqa: F401
    seen["grading"] = "imported"
except ImportError as err:
    seen["grading"] = str(err)
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
import sys
seen["grading_modules"] = sorted(m for m in sys.modules if m.startswith("seqcourse.grading"))
seen["runner_modules"] = sorted(
    m for m in sys.modules if m == "seqcourse.execution" or m.split(".")[0] == "nbclient"
)
seen["environ"] = open("/proc/self/environ", "rb").read().decode("latin-1") + str(os.environ)
seen["seqpacket"] = []  # a socket to the kernel server: a kernel could ask it for any view
for fd in map(int, os.listdir("/proc/self/fd")):
    try:
        with socket.socket(fileno=os.dup(fd)) as s:
            if s.type == socket.SOCK_SEQPACKET:
                seen["seqpacket"].append(fd)
    except OSError:
        pass
print(json.dumps(seen))
"""
SECRET = "SEQCOURSE_GRADERS_SECRET"  # in the grader's environment: never in a kernel's

needs_namespaces = pytest.mark.skipif(
    not sys.platform.startswith("linux") or unshare_flags() is None,
    reason="unshare is not permitted here",
)


def _run_in_kernel(source: str, workdir: str, timeout: float = 120) -> dict:
    """Run ``source`` (which prints one JSON object) in a sandboxed kernel; that object."""
    import json

    from seqcourse.grading.worker import _kernel_env

    manager = type(
        "M",
        (SandboxKernelManager,),
        {"workdir": workdir, "run_tag": "t-sbx", "kernel_env": _kernel_env(workdir)},
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    client = CappedClient(nb, kernel_manager_class=manager, allow_errors=True)
    with client.setup_kernel():
        assert client.run_cell(nb.cells[0], timeout) == "ok", nb.cells[0].outputs
    printed = [o["text"] for o in nb.cells[0].outputs if o.get("name") == "stdout"]
    return json.loads(printed[-1].strip().splitlines()[-1])


@pytest.fixture(scope="module")
def kernel_server():
    """A kernel server started from a grader whose environment holds a secret."""
    from seqcourse.grading import kernel_server

    os.environ[SECRET] = "hunter2"
    try:
        server = kernel_server.start()
    finally:
        del os.environ[SECRET]
    yield server
    if server is not None:
        server.control.close()
        server.process.wait(30)


@pytest.fixture(params=["fresh process", "forked by the kernel server"])
def launch(request, monkeypatch, kernel_server):
    """Every kernel of a test starts as a fresh process, then (a second run) is forked by a
    kernel server (:mod:`seqcourse.grading.kernel_server`), as a grading worker's are."""
    from seqcourse.grading.kernel_server import FD_ENV

    monkeypatch.setenv(SECRET, "hunter2")
    if request.param == "fresh process":
        monkeypatch.delenv(FD_ENV, raising=False)
    elif kernel_server is None:
        pytest.skip("no kernel server here (no namespaces)")
    else:
        monkeypatch.setenv(FD_ENV, str(kernel_server.control.fileno()))
    return request.param


@pytest.fixture
def world_readable_copies():
    """Masters where a careless machine keeps them: world-readable, in a second checkout and in
    an executed copy under a ``runs/`` folder, outside any folder the grader names."""
    base = Path(tempfile.mkdtemp(prefix="seqcourse-elsewhere-"))
    os.chmod(base, 0o755)
    for folder in ("checkout/notebooks", "checkout/runs"):
        (base / folder).mkdir(parents=True)
    shutil.copy(MASTER, base / "checkout" / "notebooks" / MASTER.name)
    shutil.copy(MASTER, base / "checkout" / "runs" / "01.executed.ipynb")
    for path in base.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.usefixtures("launch")
@needs_namespaces
def test_kernel_sees_no_masters_no_out_no_processes_no_network(tmp_path, world_readable_copies):
    out = tmp_path / "out"
    out.mkdir()
    (out / "grades.csv").write_text("secret")
    workdir = tempfile.mkdtemp(prefix="seqcourse-work-")
    checkout = world_readable_copies / "checkout"
    paths = {"masters": str(ROOT / "notebooks"), "out": str(out), "git": str(ROOT / ".git"),
             "repository": str(ROOT), "checkout": str(checkout),
             "runs": str(checkout / "runs"), "home": os.path.expanduser("~")}  # fmt: skip
    files = [str(MASTER), str(checkout / "notebooks" / MASTER.name),
             str(checkout / "runs" / "01.executed.ipynb")]  # fmt: skip
    look = f"PATHS = {paths!r}\nFILES = {files!r}\n" + LOOK
    try:
        seen = _run_in_kernel(look, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for name in ("masters", "out", "git", "checkout", "runs"):
        assert seen[name] in ([], "FileNotFoundError", "PermissionError"), (name, seen[name])
    home = paths["home"]  # only the way to Python's installation, if it lies there
    on_the_way = {Path(p).relative_to(home).parts[0] for p in view_paths() if p.startswith(home)}
    assert seen["home"] == "FileNotFoundError" or set(seen["home"]) <= on_the_way, seen["home"]
    assert "notebooks" not in seen["repository"] and "runs" not in seen["repository"], seen
    assert seen["read"] == ["FileNotFoundError"] * 3, seen["read"]  # not one byte of a master
    assert seen["imports"] == "ok", seen["imports"]  # the course and Keras still import
    assert "does not exist in a graded kernel" in seen["grading"], seen["grading"]
    assert seen["wrote_out"] is False and (out / "grades.csv").read_text() == "secret"
    assert seen["network"] is False
    assert seen["pids"] <= 3  # itself (and its threads' helpers): not the grader's processes
    assert seen["grading_modules"] == [], seen["grading_modules"]  # none left in memory
    assert seen["runner_modules"] == [], seen["runner_modules"]  # a fresh kernel's modules
    assert SECRET not in seen["environ"] and "hunter2" not in seen["environ"]
    assert seen["seqpacket"] == [], seen["seqpacket"]
    if os.geteuid() == 0:
        assert seen["uid"] in KERNEL_IDS


SCRATCH = """
import json, os, uuid
name = "seqcourse-left-" + uuid.uuid4().hex
wrote, full = {}, {}
for folder in ("/tmp", "/var/tmp", "/dev/shm", os.getcwd()):
    with open(os.path.join(folder, name), "wb") as fh:
        fh.write(b"x" * 1_000_000)
    wrote[folder] = os.path.getsize(os.path.join(folder, name))
    os.remove(os.path.join(folder, name))
for folder in ("/tmp", os.getcwd()):
    try:
        with open(os.path.join(folder, "big"), "wb") as fh:
            for _ in range(1100):  # the kernel's folders share 1 GB
                fh.write(b"x" * 1_000_000)
        full[folder] = "no limit"
    except OSError as err:
        full[folder] = type(err).__name__
for folder in ("/tmp", "/var/tmp", "/dev/shm", os.getcwd()):
    open(os.path.join(folder, name), "w").write("left behind")
print(json.dumps({"name": name, "wrote": wrote, "full": full, "cwd": os.getcwd()}))
"""


@pytest.mark.usefixtures("launch")
@needs_namespaces
def test_the_kernels_writable_folders_are_private_capped_and_gone_after_it():
    workdir = tempfile.mkdtemp(prefix="seqcourse-work-")
    try:
        seen = _run_in_kernel(SCRATCH, workdir)
        assert seen["cwd"] == workdir and set(seen["wrote"].values()) == {1_000_000}
        assert seen["full"] == {"/tmp": "OSError", workdir: "OSError"}, seen["full"]  # ENOSPC
        for folder in ("/tmp", "/var/tmp", "/dev/shm", workdir):  # nothing left on the machine
            assert not os.path.exists(os.path.join(folder, seen["name"])), folder
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


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


@pytest.mark.usefixtures("launch")
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
        victim = nbformat.v4.new_notebook(
            cells=[
                nbformat.v4.new_code_cell("import json, os"),
                nbformat.v4.new_code_cell("print(os.getuid())"),
                nbformat.v4.new_code_cell(
                    "print(json.dumps([f for _, _, fs in os.walk(os.getcwd()) for f in fs]))"
                ),
            ]
        )
        attacker = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(f"VICTIM = {folders[0]!r}\n" + PLANT)]
        )
        managers = [
            type(f"M{i}", (SandboxKernelManager,), {"workdir": w, "run_tag": f"t-{i}"})
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
            assert victim_client.run_cell(victim.cells[2], 60) == "ok"
            victim_files = json.loads(victim.cells[2].outputs[0]["text"])
        # the victim's folder is not in the attacker's view (its own private /tmp may hold a
        # folder of that name: it writes there, and nowhere the victim reads)
        assert seen["tried"]["list"] in ("FileNotFoundError", "PermissionError"), seen
        assert not any("spoil" in f for f in victim_files), victim_files
        assert victim_uid != seen["uid"] and {victim_uid, seen["uid"]} <= set(KERNEL_IDS)
        assert (
            os.listdir(folders[0]) == []
            or ".ipython" not in os.listdir(folders[0])
            or not any("spoil" in f for _, _, files in os.walk(folders[0]) for f in files)
        )
    finally:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)


@needs_namespaces
def test_a_kernel_starts_as_a_fresh_process_when_the_kernel_server_is_gone(monkeypatch):
    """A worker whose kernel server died (its socket's other end closed) still grades: the
    kernel starts as a fresh process, in the same sandbox."""
    import socket

    from seqcourse.grading.kernel_server import FD_ENV

    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    theirs.close()
    monkeypatch.setenv(FD_ENV, str(mine.fileno()))
    workdir = tempfile.mkdtemp(prefix="seqcourse-work-")
    try:
        seen = _run_in_kernel(SCRATCH, workdir)
        assert seen["cwd"] == workdir and set(seen["wrote"].values()) == {1_000_000}
    finally:
        mine.close()
        shutil.rmtree(workdir, ignore_errors=True)


@needs_namespaces
def test_kernels_share_no_writable_memory_through_the_kernel_server(kernel_server, monkeypatch):
    """Forked kernels share the server's pages copy-on-write; a writable shared mapping (one
    made while importing, say) would be a channel between two classmates' kernels."""
    from seqcourse.grading.kernel_server import FD_ENV

    monkeypatch.setenv(FD_ENV, str(kernel_server.control.fileno()))
    workdir = tempfile.mkdtemp(prefix="seqcourse-work-")
    try:  # a kernel forked: the server has imported everything and serves
        assert _run_in_kernel('print("{}")', workdir) == {}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    with open(f"/proc/{kernel_server.process.pid}/maps") as fh:
        rows = [line.split() for line in fh]
    writable_shared = [row for row in rows if row[1][1] == "w" and row[1][3] == "s"]
    assert writable_shared == [], writable_shared
