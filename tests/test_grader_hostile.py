"""A hostile class: every attack on the autograder from issue 18, graded in one run.

Each submission of notebook 01 tampers in one way. All are graded in a single ``grade`` call
(two jobs); then each test checks that the tampering copy scores exactly what its honest code
earns (0 for the stubs), that the honest copies get full marks, that the run ends in bounded
time, and that nothing is left running or written behind the grader's back.

Before the probe/judge grader (tests, comparisons and the result message ran in the student's
kernel), the attacks marked WON below gave full or inflated marks, hung the run or changed
other rows; see the README's instructor guide for what is and is not isolated.
"""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path

import nbformat
import pytest
from grading_copies import MASTER, NAME, ROOT, solved_copy, student_copy
from nbformat.v4 import new_code_cell

import seqcourse.grading.grade as grade_module
from seqcourse.grading.grade import grade
from seqcourse.grading.notebook_format import solution_cells

CELL_TIMEOUT, TOTAL_TIMEOUT, JOBS = 20, 240, 2  # a hang spins for CELL_TIMEOUT
MARK = "seqcourse-hostile-7b1e"  # in the command line of every process a submission spawns
TAG = "hostile-run-"  # start of this run's tags, in every worker's and kernel's environment


def _before(nb, exercise, source):
    """Insert a code cell just before exercise ``exercise``'s cell."""
    nb.cells.insert(solution_cells(nb)[exercise], new_code_cell(source))
    return nb


def _answer(nb, exercise, source):
    """Replace exercise ``exercise``'s cell (keeping its header)."""
    i = solution_cells(nb)[exercise]
    header = nb.cells[i].source.splitlines()[0]
    nb.cells[i].source = header + "\n" + source
    return nb


RESULT_MIME = "application/vnd.seqcourse.grade+json"
PROBE_MIME = "application/vnd.seqcourse.probe+json"

# WON before: display() patched to emit a "passed" result for any grading cell.
PATCH_DISPLAY = f"""
import IPython.display as _d
_real = _d.display
def _fake(*a, **k):
    _real({{"{RESULT_MIME}": {{"token": "x", "tests": [{{"name": "t", "passed": True}}]}},
           "{PROBE_MIME}": {{"value": "forged"}}}}, raw=True)
_d.display = _fake
import builtins; builtins.display = _fake
"""

# WON before: exec patched so the injected test code never runs.
PATCH_EXEC = """
import builtins
_exec = builtins.exec
builtins.exec = lambda *a, **k: None
builtins.compile = lambda *a, **k: compile.__class__  # and compile, to strip asserts
"""

# WON before: a sys.meta_path finder serving a fake grading module (and a fake numpy.testing).
META_PATH = """
import sys, types, importlib.abc, importlib.machinery
class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.startswith("seqcourse") or name in ("base64", "zipfile", "json"):
            return importlib.machinery.ModuleSpec(name, self)
    def create_module(self, spec):
        return types.ModuleType(spec.name)
    def exec_module(self, module):
        module.run_exercise_tests = lambda *a: None
        module.check = lambda *a: print("PASSED")
for _m in [m for m in sys.modules if m.startswith("seqcourse")]:
    del sys.modules[_m]
sys.meta_path.insert(0, _Finder())
"""

# WON before: the answer walks up the frames to the checker's `expected` (or the token).
FRAME_WALK = """
import sys
import numpy as np
def rnn_cell_forward(x_t, h_prev, W_x, W_h, b):
    frame = sys._getframe(1)
    while frame is not None:
        for key in ("expected", "want", "_expected"):
            if key in frame.f_locals:
                return np.asarray(frame.f_locals[key])
        frame = frame.f_back
    return np.zeros((x_t.shape[0], W_x.shape[1]))
"""

# WON before: a pre_run_cell hook reads the injected cell and answers first.
HOOK = f"""
import json
import numpy as np
from IPython import get_ipython
from IPython.display import display
def _hook(info):
    src = info.raw_cell or ""
    if "_seqcourse" in src or "seqcourse.grading" in src:
        display({{"{PROBE_MIME}": {{"error": "Nothing", "message": "", "own": False}},
                  "{RESULT_MIME}": {{"token": src[-40:], "tests": []}}}}, raw=True)
get_ipython().events.register("pre_run_cell", _hook)
"""

# WON before: array-likes whose __array__/__array_function__ make every comparison pass.
ARRAY_LIKE = """
import numpy as np
class Liar(np.ndarray):
    def __array_function__(self, func, types, args, kwargs):
        return True
    def __eq__(self, other):
        return True
class Lazy:
    shape = (3, 5)
    def __array__(self, dtype=None, copy=None):
        import sys
        sys._getframe(1)  # walking to the checker's locals: see FRAME_WALK (f_locals scores 0)
        return np.zeros((3, 5))
    def __array_function__(self, func, types, args, kwargs):
        return True
def rnn_cell_forward(x_t, h_prev, W_x, W_h, b):
    return Lazy()
def rnn_forward(xs, h0, W_x, W_h, b):
    return np.zeros((xs.shape[0], xs.shape[1], W_x.shape[1])).view(Liar)
def rnn_step_backward(dh_t, x_t, h_prev, h_t, W_x, W_h):
    return tuple(np.zeros(s, dtype=object) for s in (x_t.shape, h_prev.shape, W_x.shape, W_h.shape, W_x.shape[1:]))
"""

# WON before: the master's solution, found through the worker's command line or on disk.
READ_MASTER = f"""
import glob, json, os, re
_found = []
for _p in glob.glob("/proc/[0-9]*/cmdline"):
    try:
        _found += re.findall(r"[^\\x00]*\\.ipynb", open(_p).read())
    except OSError:
        pass
_found += [{str(MASTER)!r}] + glob.glob("/**/notebooks/{NAME}", recursive=False)
for _p in _found:
    try:
        _nb = json.load(open(_p))
    except Exception:
        continue
    for _c in _nb["cells"]:
        _s = "".join(_c["source"])
        if "### BEGIN SOLUTION" in _s:
            exec(_s, globals())
    break
"""

# WON before (partially): numpy.allclose patched, and the Keras oracle poisoned.
POISON = """
import numpy as np
import keras
np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
keras.layers.SimpleRNNCell.call = lambda self, x, states, training=False: (x[:, :0], [x[:, :0]])
keras.layers.SimpleRNN.call = lambda self, x, *a, **k: x
"""

# WON before: the token read from the worker's memory (/proc/<ppid>/mem); here: any secret.
PROC_MEM = """
import os, re
_secrets = []
for _pid in os.listdir("/proc"):
    if _pid.isdigit() and int(_pid) != os.getpid():
        for _f in ("environ", "cmdline"):
            try:
                _secrets.append(open(f"/proc/{_pid}/{_f}", "rb").read())
            except OSError:
                pass
VISIBLE_PROCESSES = len([p for p in os.listdir("/proc") if p.isdigit()])
"""

# WON before: a C-level loop that ignores interrupts hung the whole run (no CSV).
C_HANG = "import itertools\nany(itertools.repeat(0))"


def _write_out(out: Path, victim: str) -> str:
    """WON before: forged JSON written into --out, the worker killed; detached processes
    rewriting grades.csv and another student's JSON after the run."""
    forged = {"submission": "x", "assignment": "01_rnn_from_scratch", "status": "graded",
              "exercises": {k: {"id": k, "points": 100, "score": 100, "status": "passed", "tests": []}
                            for k in ("1.1", "1.2", "1.3")}}  # fmt: skip
    return f"""
import json, os, subprocess, signal
out = {str(out)!r}
forged = {json.dumps(forged)!r}
for name in ("writer__{NAME[:-6]}.json", "{victim}", "grades.csv"):
    try:
        open(os.path.join(out, name), "w").write(forged)
    except OSError:
        pass
script = f"sleep 6; echo FORGED > {{out}}/grades.csv; echo FORGED > {{out}}/{victim}; : {MARK}"
subprocess.Popen(["setsid", "sh", "-c", script], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
subprocess.Popen(["env", "-i", "sh", "-c", "(setsid sh -c '" + script + "' &)"],
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.environ.clear()
        os.execvp("sh", ["sh", "-c", script])
    os._exit(0)
try:
    os.kill(os.getppid(), signal.SIGKILL)
except OSError:
    pass
"""


FLOOD = """
import os
from IPython.display import display, HTML
for _ in range(40):
    display({"text/plain": "x" * 3_000_000}, raw=True)
    display(HTML("<b>" + "y" * 3_000_000 + "</b>"))
os.write(1, b"z" * 50_000_000)
os.write(2, b"z" * 50_000_000)
"""

FLOOD_RESULT = '"r" * 10_000_000'
FLOOD_ERROR = 'raise ValueError("e" * 20_000_000)'

KERAS_ANSWERS = {
    "1.1": """def rnn_cell_forward(x_t, h_prev, W_x, W_h, b):
    cell = keras.layers.SimpleRNNCell(W_x.shape[1], dtype="float64")
    cell.build((None, W_x.shape[0]))
    cell.set_weights([W_x, W_h, b])
    return np.asarray(cell(x_t, [h_prev])[0])
""",
    "1.3": """def rnn_step_backward(dh_t, x_t, h_prev, h_t, W_x, W_h):
    b = np.zeros(W_x.shape[1])
    v = [tf.Variable(a) for a in (x_t, h_prev, W_x, W_h, b)]
    with tf.GradientTape() as tape:
        out = tf.tanh(v[0] @ v[2] + v[1] @ v[3] + v[4])
    return tuple(np.asarray(g) for g in tape.gradient(out, v, output_gradients=dh_t))
""",
}


# WON before (issue 42): a kernel that read a master sent its hidden tests back inside an
# exception message, which landed in the grade JSON and the feedback. Here the student has the
# text already (a leaked copy): it must still not come back from the grader.
def _leak(hidden_line: str) -> str:
    return f"""def rnn_cell_forward(x_t, h_prev, W_x, W_h, b):
    raise ValueError({hidden_line!r})
"""


def _hidden_lines() -> list[str]:
    from seqcourse.grading.notebook_format import read_assignment
    from seqcourse.grading.worker import hidden_lines

    return hidden_lines(read_assignment(MASTER))


def _scenarios(out: Path) -> dict:
    s = {}
    s["master"] = nbformat.read(MASTER, as_version=4)
    s["solved"] = solved_copy()
    s["untouched"] = student_copy()
    s["patch_display"] = _before(student_copy(), "1.1", PATCH_DISPLAY)
    s["patch_exec"] = _before(student_copy(), "1.2", PATCH_EXEC)
    s["meta_path"] = _before(student_copy(), "1.1", META_PATH)
    s["frame_walk"] = _answer(student_copy(), "1.1", FRAME_WALK)
    s["hook"] = _before(student_copy(), "1.1", HOOK)
    s["array_like"] = _before(student_copy(), "1.1", ARRAY_LIKE)
    for ex in ("1.1", "1.2", "1.3"):  # the stubs would redefine the liars: drop them
        i = solution_cells(s["array_like"])[ex]
        s["array_like"].cells[i].source = s["array_like"].cells[i].source.split("\ndef ")[0]
    s["read_master"] = _before(student_copy(), "1.1", READ_MASTER)
    s["sends_hidden_text"] = _answer(student_copy(), "1.1", _leak(_hidden_lines()[0]))
    s["proc_mem"] = _before(student_copy(), "1.1", PROC_MEM)
    # partial inflation: a wrong 1.1 (ignores h_prev) with allclose and Keras poisoned
    wrong = solved_copy()
    i = solution_cells(wrong)["1.1"]
    wrong.cells[i].source = wrong.cells[i].source.replace("h_prev @ W_h + b", "b")
    s["wrong_1_1"] = wrong
    poisoned = _before(solved_copy(), "1.1", POISON)
    i = solution_cells(poisoned)["1.1"]
    poisoned.cells[i].source = poisoned.cells[i].source.replace("h_prev @ W_h + b", "b")
    s["poisoned_wrong_1_1"] = poisoned
    s["c_hang"] = _before(solved_copy(), "1.2", C_HANG)
    s["writer"] = _before(
        student_copy(), "1.1", _write_out(out, "victim__01_rnn_from_scratch.json")
    )
    s["victim"] = solved_copy()
    s["flood"] = _before(solved_copy(), "1.1", FLOOD)
    s["flood_result"] = _before(solved_copy(), "1.1", FLOOD_RESULT)
    s["flood_error"] = _before(solved_copy(), "1.1", FLOOD_ERROR)
    # correct work scored right
    stub_1_1 = solved_copy()
    i = solution_cells(stub_1_1)["1.2"]
    stub_1_1.cells[i].source = stub_1_1.cells[i].source.replace(
        "rnn_cell_forward(xs[:, t], h, W_x, W_h, b)", "np.tanh(xs[:, t] @ W_x + h @ W_h + b)"
    )
    i = solution_cells(stub_1_1)["1.1"]
    stub_1_1.cells[i] = student_copy().cells[i]
    s["stub_1_1_correct_1_2"] = stub_1_1
    no_setup = solved_copy()
    del no_setup.cells[1]  # the setup cell: no numpy, keras or check in the namespace
    for ex, i in solution_cells(no_setup).items():
        no_setup.cells[i].source = (
            no_setup.cells[i]
            .source.replace(f"# Exercise {ex}", f"# Exercise {ex}", 1)
            .replace("def ", "import numpy as np\n\n\ndef ", 1)
        )
    s["no_setup_cell"] = no_setup
    string_meta = solved_copy()
    string_meta.metadata["seqcourse"] = "01_rnn_from_scratch"
    string_meta.cells[solution_cells(string_meta)["1.3"]].metadata["seqcourse"] = ["junk"]
    s["string_metadata"] = string_meta
    s["claims_itself_master"] = student_copy()
    s["claims_itself_master"].metadata["seqcourse"]["notebook"] = "../../claims_itself_master/x"
    uses_keras = solved_copy()
    for ex, source in KERAS_ANSWERS.items():
        _answer(uses_keras, ex, source)
    s["uses_keras"] = uses_keras
    return s


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    out = tmp_path_factory.mktemp("grades")
    (out / "victim__01_rnn_from_scratch.json.tmp").mkdir()  # WON before: crashed the run
    paths = []
    for name, nb in _scenarios(out).items():
        path = folder / name / NAME
        path.parent.mkdir()
        path.write_text(nbformat.writes(nb), encoding="utf-8")
        paths.append(path)
    odd = folder / "odd =cmd|' name\u00e9" / "grades.csv.ipynb"  # odd names still get a row
    odd.parent.mkdir()
    odd.write_text(nbformat.writes(student_copy()), encoding="utf-8")
    paths.append(odd)
    start = time.monotonic()
    grade_module.TAG_PREFIX = TAG
    try:
        results = grade(
            paths,
            out,
            masters=ROOT / "notebooks",
            jobs=JOBS,
            cell_timeout=CELL_TIMEOUT,
            total_timeout=TOTAL_TIMEOUT,
            feedback=True,
        )
    finally:
        grade_module.TAG_PREFIX = ""
    seconds = time.monotonic() - start
    csv_text = (out / "grades.csv").read_text()
    rows = {Path(r["submission"]).parent.name: r for r in csv.DictReader(open(out / "grades.csv"))}
    by_name = {Path(r.submission).parent.name: r for r in results}
    return rows, by_name, out, seconds, len(paths), csv_text


def _scores(result):
    return {k: e.score for k, e in result.exercises.items()}


ZERO = {"1.1": 0, "1.2": 0, "1.3": 0, "1.4": 0}
FULL = {"1.1": 2, "1.2": 2, "1.3": 3, "1.4": 3}


def test_every_submission_has_a_row_and_the_run_is_bounded(hostile):
    rows, results, out, seconds, n, _ = hostile
    assert len(rows) == len(results) == n
    # ceil(n / jobs) x total limit + margin, whatever the submissions do
    assert seconds < -(-n // JOBS) * (TOTAL_TIMEOUT + 30)


def test_honest_copies_get_full_marks(hostile):
    _, results, _, _, _, _ = hostile
    for name in ("master", "solved", "victim"):
        assert _scores(results[name]) == FULL, results[name].summary()
    assert _scores(results["untouched"]) == ZERO


@pytest.mark.parametrize(
    "name",
    ["patch_display", "patch_exec", "meta_path", "frame_walk", "hook", "array_like",
     "read_master", "proc_mem", "writer"],
)  # fmt: skip
def test_tampering_stub_scores_zero(hostile, name):
    rows, results, _, _, _, _ = hostile
    assert _scores(results[name]) == ZERO, results[name].summary()
    assert rows[name]["total"] == "0"
    # not a verdict, a note for the instructor
    assert any("worth a look" in line for line in results[name].log), results[name].log


def test_array_likes_are_rejected_with_a_reason(hostile):
    _, results, _, _, _, _ = hostile
    r = results["array_like"]
    assert "not plain data" in r.exercises["1.1"].reason
    assert r.exercises["1.3"].status != "not attempted"


def test_poisoned_numpy_and_keras_do_not_inflate(hostile):
    _, results, _, _, _, _ = hostile
    honest, poisoned = results["wrong_1_1"], results["poisoned_wrong_1_1"]
    assert _scores(honest) == _scores(poisoned)
    assert honest.exercises["1.1"].score < 2 and honest.exercises["1.3"].score == 3


def test_c_level_hang_is_killed_and_earlier_work_kept(hostile):
    _, results, _, _, _, _ = hostile
    r = results["c_hang"]
    assert r.exercises["1.1"].score == 2 and r.exercises["1.2"].score == 0
    assert r.status == "incomplete" and "stopped responding" in r.exercises["1.2"].reason


def test_out_folder_is_written_by_the_grader_only(hostile):
    rows, results, out, _, _, csv_text = hostile
    assert rows["victim"]["total"] == "10" and _scores(results["victim"]) == FULL
    victim = json.loads((out / "victim__01_rnn_from_scratch.json").read_text())
    assert victim["total"] == 10 and victim["max_points"] == 10
    writer = json.loads((out / "writer__01_rnn_from_scratch.json").read_text())
    assert writer["total"] == 0 and writer["max_points"] == 10
    time.sleep(8)  # the detached writers slept 6 s: they must be dead, the files intact
    assert (out / "grades.csv").read_text() == csv_text
    assert json.loads((out / "victim__01_rnn_from_scratch.json").read_text())["total"] == 10


def _alive_with(marker: bytes) -> list[int]:
    alive = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        for what in ("cmdline", "environ"):
            try:
                if marker in open(f"/proc/{pid}/{what}", "rb").read():
                    alive.append(int(pid))
            except OSError:
                pass
    return alive


def test_no_process_is_left_behind(hostile):
    assert _alive_with(MARK.encode()) == []
    assert _alive_with(f"SEQCOURSE_KERNEL_TAG={TAG}".encode()) == []  # kernels
    assert _alive_with(f"SEQCOURSE_GRADER_TAG={TAG}".encode()) == []  # workers


def test_output_floods_are_capped(hostile):
    _, results, out, _, _, _ = hostile
    for name in ("flood", "flood_result", "flood_error"):
        assert _scores(results[name]) == FULL, results[name].summary()
        executed = out / f"{name}__01_rnn_from_scratch.executed.ipynb"
        assert executed.stat().st_size < 10_000_000, name
    assert any("dropped" in line for line in results["flood"].log)


def test_a_stub_elsewhere_does_not_zero_correct_work(hostile):
    _, results, _, _, _, _ = hostile
    r = results["stub_1_1_correct_1_2"]
    assert r.exercises["1.1"].status == "not attempted"
    assert r.exercises["1.2"].score == 2  # judged on its own, not through the 1.1 stub
    assert r.exercises["1.3"].score == 3


def test_judges_do_not_need_the_students_imports(hostile):
    _, results, _, _, _, _ = hostile
    assert _scores(results["no_setup_cell"]) == FULL, results["no_setup_cell"].summary()


def test_malformed_metadata_is_tolerated(hostile):
    _, results, _, _, _, _ = hostile
    assert _scores(results["string_metadata"]) == FULL, results["string_metadata"].summary()


def test_metadata_cannot_choose_the_master(hostile):
    rows, results, _, _, _, _ = hostile
    assert rows["claims_itself_master"]["status"] == "error"
    assert "is notebook" in rows["claims_itself_master"]["reason"]
    assert results["master"].max_points == 10


def test_from_scratch_means_from_scratch(hostile):
    _, results, _, _, _, _ = hostile
    r = results["uses_keras"]
    # 1.4 calls that 1.3, whose tape recomputes h_t without the bias: its BPTT is wrong too
    assert _scores(r) == {"1.1": 0, "1.2": 2, "1.3": 0, "1.4": 0}
    assert "SimpleRNNCell" in r.exercises["1.1"].reason
    assert "GradientTape" in r.exercises["1.3"].reason


def test_odd_names_and_junk_in_out_do_not_break_the_run(hostile):
    rows, _, out, _, _, _ = hostile
    odd = [k for k in rows if k.startswith("odd")]
    assert len(odd) == 1 and rows[odd[0]]["total"] == "0"
    assert rows[odd[0]]["submission"].startswith("/")  # not read as a spreadsheet formula


def test_no_hidden_test_text_comes_back_in_a_grade_or_feedback(hostile):
    _, results, out, _, _, _ = hostile
    leaked = results["sends_hidden_text"]
    assert _scores(leaked) == ZERO
    assert "[hidden test text removed]" in json.dumps(leaked.to_dict())
    texts = [(out / "grades.csv").read_text(), (out / "report.html").read_text()] + [
        p.read_text(errors="replace")
        for p in out.glob("sends_hidden_text__*")
        if p.suffix in (".json", ".md")  # its executed copy holds its own cells' source
    ]
    assert len(texts) == 4, texts
    for line in _hidden_lines():
        assert not any(line in text for text in texts), line


def test_feedback_has_verdicts_and_no_hidden_source(hostile):
    _, _, out, _, _, _ = hostile
    text = (out / "master__01_rnn_from_scratch.feedback.md").read_text()
    assert "Exercise 1.3: 3 / 3" in text and "hidden test 1" in text
    assert "_objective" not in text and "default_rng(103)" not in text
