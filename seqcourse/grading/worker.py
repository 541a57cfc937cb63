"""Grade one submission: run its code in a sandboxed kernel, judge its answers here.

The grader starts one worker per submission (``python -m seqcourse.grading.worker
--result-fd N``) and sends it its job as JSON on stdin (never on the command line, which other
processes can read). The worker:

1. reads the submission and finds its exercise cells (metadata of any shape is tolerated);
2. checks each exercise's source, and every cell the student wrote or changed that runs before
   it, for the APIs the exercise replaces and for run-time lookups (``getattr`` with a computed
   name, ``vars``, ``importlib``…) that would reach them without their names (``ast`` on the
   code IPython runs, in this process; see :func:`banned_exercises`);
3. executes the submission's code cells, up to its last exercise cell, in a kernel started by
   :class:`~seqcourse.grading.kernel_manager.SandboxKernelManager`, with per-cell and total limits;
4. right after each exercise cell, *judges* the exercise here: the master's public checks and
   hidden tests run in this process, with the student's functions replaced by
   :class:`RemoteFunction` proxies. A proxy call sends plain-data arguments (drawn from a seed
   fresh for this run) to a generic probe in the kernel, which calls the student's function
   and returns plain data (see :mod:`seqcourse.grading.plain`). When the answer is not plain
   data (a Keras model, thousands of draws from one generator), the proxy asks instead for a
   probe function of the checks module, imported in the kernel and given the student's
   function, which returns plain data the judge recomputes (``public_checks.probe_with``).
   Oracles, comparisons and asserts all run here; no test source, expected value or secret
   ever reaches the kernel.
5. reports the result after each exercise, and at the end, as JSON lines on the result pipe
   (a file descriptor the kernel does not inherit; this process is made non-dumpable so the
   kernel cannot reach it through ``/proc`` either).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import functools
import importlib
import inspect
import json
import os
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import numpy as np
from nbclient.exceptions import DeadKernelError

from seqcourse.execution import CappedClient, KernelUnresponsive, tree_memory
from seqcourse.grading import plain, probes, public_checks
from seqcourse.grading.kernel_manager import SandboxKernelManager
from seqcourse.grading.notebook_format import (
    BEGIN_HIDDEN,
    METADATA_KEY,
    Assignment,
    python_source,
    read_assignment,
    solution_cells,
    split_hidden_tests,
)
from seqcourse.grading.public_checks import (
    CheckResult,
    StudentError,
    StudentNotImplemented,
    ban_message,
    banned_uses,
    describe_error,
    dynamic_message,
    dynamic_uses,
    load_replaces,
    run_public_checks,
)
from seqcourse.grading.results import MISSING, NOT_ATTEMPTED, ExerciseScore, SubmissionResult
from seqcourse.grading.sandbox import not_dumpable
from seqcourse.grading.submission_files import NotARegularFile, read_regular
from seqcourse.runtime import FAST_ENV, GRADING_ENV

PROBE_TIMEOUT = 15  # seconds a kernel gets to answer after an interrupt
MEMORY_BYTES = 6 * 2**30  # resident memory of a kernel's processes, all together


class _MemoryWatch(threading.Thread):
    """Stops (SIGKILL) a kernel whose processes hold more than ``cap`` bytes of resident
    memory together, checked four times a second; ``exceeded`` then holds what it held."""

    def __init__(self, km, cap: int):
        super().__init__(daemon=True, name="memory-watch")
        self.km, self.cap, self.exceeded = km, cap, 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.25):
            pid = getattr(self.km, "_kernel_pid", None)
            used = tree_memory(pid) if pid else 0
            if used > self.cap:
                self.exceeded = used
                self.km.kill_process_tree()
                return

    def stop(self) -> None:
        self._done.set()

    def reason(self, label: str) -> str:
        return (
            f"the kernel held {self.exceeded / 2**30:.1f} GiB of memory while running {label}, "
            f"over the limit of {self.cap / 2**30:g} GiB, and was stopped"
        )


class _Stop(BaseException):
    """Grading of this submission cannot go on (kernel dead or hung, time is up).

    A BaseException so that no check's ``except Exception`` swallows it."""


class _Lazy:
    """A module imported on first use (judges get Keras only when they need it)."""

    def __init__(self, name: str):
        self._name, self._module = name, None

    def __getattr__(self, attr):
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)


class _SaltedNumpy:
    """``numpy`` for hidden tests, except that ``np.random.default_rng(seed)`` mixes ``seed``
    with this run's salt: a master's hidden test written with a fixed seed still draws inputs
    no one has seen before."""

    def __init__(self):
        self.random = _SaltedRandom()

    def __getattr__(self, name):
        return getattr(np, name)


class _SaltedRandom:
    def default_rng(self, seed=None):
        if seed is None or isinstance(seed, (int, np.integer)):
            return public_checks.fresh_rng(int(seed or 0))
        return np.random.default_rng(seed)

    def __getattr__(self, name):
        return getattr(np.random, name)


def _to_plain_args(value):
    """Arguments as plain data; NumPy generators travel as their state."""
    if isinstance(value, np.random.Generator):
        return plain.rng_state(value)
    if isinstance(value, RemoteFunction):  # a student function passed along: by name
        return {"__student__": value.__name__}
    module, qualname = getattr(value, "__module__", "") or "", getattr(value, "__qualname__", "")
    course = module.startswith("seqcourse.") and not module.startswith("seqcourse.grading.")
    if callable(value) and (course or module == probes.__name__) and "<" not in qualname:
        return {"__callable__": f"{module}:{qualname}"}  # a course function, by reference
    if callable(value) and "." not in qualname and hasattr(probes, qualname):
        # a helper a hidden test defines that the probes module also defines: that one
        return {"__callable__": f"{probes.__name__}:{qualname}"}
    if type(value) in (list, tuple):
        return type(value)(_to_plain_args(v) for v in value)
    if type(value) is dict:
        return {k: _to_plain_args(v) for k, v in value.items()}
    return value


class RemoteFunction:
    """Stands for the student's function ``name`` in the grader: calling it runs the probe."""

    is_remote = True

    def __init__(self, name: str, session: _KernelSession):
        self.__name__ = self.__qualname__ = name
        self._session = session

    def __repr__(self) -> str:
        return f"<student function {self.__name__}>"

    def __call__(self, *args, **kwargs):
        return self._session.call(self.__name__, args, kwargs)

    def run_probe(self, probe, args, kwargs):
        """``probe(this function, *args, **kwargs)`` run in the kernel (see ``probe_with``):
        only a probe of :mod:`seqcourse.grading.probes`, whose source goes with the call."""
        if getattr(probe, "__module__", "") != probes.__name__ or "." in probe.__qualname__:
            raise StudentError(
                "GraderError", f"{probe!r} is not a function of {probes.__name__}: not sent"
            )
        return self._session.call(f"probe:{probe.__qualname__}@{self.__name__}", args, kwargs)


class _KernelSession:
    """Runs cells and probes in one submission's kernel, within its time limits."""

    def __init__(self, client: CappedClient, run_nb, result, start, cell_timeout, total_timeout):
        self.client, self.run_nb, self.result = client, run_nb, result
        self.start, self.cell_timeout, self.total_timeout = start, cell_timeout, total_timeout
        self.probes = 0
        self.watch: _MemoryWatch | None = None

    def remaining(self) -> float:
        return self.total_timeout - (time.monotonic() - self.start)

    def execute(self, cell, label: str) -> str:
        """Run ``cell``; "" (fine), "timeout" or the error it raised. _Stop if hopeless."""
        remaining = self.remaining()
        if remaining <= 1:
            raise _Stop(f"total time limit of {self.total_timeout:g} s reached before {label}")
        limit = min(self.cell_timeout, remaining)
        try:
            outcome = self.client.run_cell(cell, limit, PROBE_TIMEOUT)
        except KernelUnresponsive as err:
            if self.watch and self.watch.exceeded:
                raise _Stop(self.watch.reason(label)) from err
            raise _Stop(f"the kernel stopped responding after {label} timed out") from err
        except DeadKernelError as err:
            if self.watch and self.watch.exceeded:
                raise _Stop(self.watch.reason(label)) from err
            raise _Stop(f"the kernel died while running {label} (a crash or os._exit)") from err
        if outcome == "timeout":
            self.result.log.append(f"{label} exceeded the time limit ({limit:.0f} s); interrupted")
        if self.client.dropped_chars(cell):
            self.result.log.append(f"{label}: output beyond the cap was dropped")
        return "timeout" if outcome == "timeout" else _cell_error(cell)

    def call(self, name: str, args, kwargs):
        """Call the student's function ``name`` in the kernel (``probe:…@name``: a course
        probe with that function) on plain-data arguments; its plain-data result."""
        student = name.rpartition("@")[2]
        try:
            payload = plain.encode((list(_to_plain_args(args)), _to_plain_args(kwargs)))
        except plain.NotPlain as err:
            raise StudentError("GraderError", f"cannot send these arguments: {err}") from None
        shipped = f", {_probes_source()!r}" if name.startswith("probe:") else ""
        source = (
            plain.PROBE_SOURCE
            + f"\n_seqcourse_probe({name!r}, {payload!r}, {plain.PROBE_MIME!r}{shipped})\n"
            + "del _seqcourse_probe\n"
        )
        cell = nbformat.v4.new_code_cell(source)
        self.run_nb.cells.append(cell)
        self.probes += 1
        try:
            outcome = self.execute(cell, f"a call of {student}")
        finally:
            self.run_nb.cells.remove(cell)
        if outcome == "timeout":
            raise StudentError("Timeout", f"{student} did not return within the time limit")
        reply = _probe_reply(cell)
        if reply is None:
            raise StudentError(
                "NoResult", f"calling {student} gave no result ({outcome or 'no output'})"
            )
        if "value" in reply:
            try:
                return plain.decode(reply["value"])
            except plain.NotPlain as err:
                raise StudentError(
                    "NotPlain", f"{student} returned something that is not plain data ({err})"
                ) from None
        error = str(reply.get("error", "Error"))[:100]
        message = str(reply.get("message", ""))[:600]
        own = reply.get("own") is True
        cls = StudentNotImplemented if error == "NotImplementedError" else StudentError
        err = cls(error, message, own)
        err.function = student
        raise err


@functools.cache
def _probes_source() -> str:
    """The source of :mod:`seqcourse.grading.probes`, sent with every probe call."""
    return inspect.getsource(probes)


def _cell_error(cell) -> str:
    """``"Name: value"`` of the error a cell raised, or ``""``."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"[:300]
    return ""


def _probe_reply(cell) -> dict | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") != "display_data":
            continue
        data = out.get("data", {}).get(plain.PROBE_MIME)
        if isinstance(data, dict):
            return data
    return None


def read_submission(path: Path, assignment: Assignment, result: SubmissionResult):
    """Read the notebook and check it belongs to ``assignment``; None (with reasons) if not."""
    try:
        text = read_regular(path)  # no link followed, no pipe read: see submission_files
    except NotARegularFile as err:
        result.close(f"not graded: {err}", "error")
        return None
    except OSError as err:
        result.close(f"not a readable file ({type(err).__name__})", "error")
        return None
    try:
        nb = nbformat.reads(text.decode("utf-8"), as_version=4)
        cells = [c for c in nb.cells if c.cell_type == "code" and isinstance(c.source, str)]
    except Exception as err:  # invalid JSON, not a notebook, not UTF-8…
        # the reason names the error and where, never the file's content
        where = f", line {err.lineno} column {err.colno}" if hasattr(err, "lineno") else ""
        result.close(f"not a readable notebook ({type(err).__name__}{where})", "error")
        return None
    meta = nb.metadata.get(METADATA_KEY) if isinstance(nb.get("metadata"), dict) else None
    if meta is not None and not isinstance(meta, dict):
        result.log.append(f"notebook metadata {METADATA_KEY!r} is a {type(meta).__name__}; ignored")
        meta = None
    claimed = (meta or {}).get("notebook")
    if claimed is not None and not isinstance(claimed, str):
        result.log.append("notebook metadata names no notebook; ignored")
        claimed = None
    if claimed and claimed != assignment.name:
        result.close(
            f"this submission is notebook {claimed[:80]!r}, not {assignment.name!r}", "error"
        )
        return None
    if not cells or not set(solution_cells(nb)) & set(assignment.exercises):
        result.close(
            f"no exercise cell of {assignment.name!r} found: is this the right notebook?", "error"
        )
        return None
    return nb


SUSPICIOUS = ("register", "ast_transformers", "input_transformers_post", "meta_path",
              "settrace", "setprofile", "_getframe", "f_back", "builtins", "__builtins__",
              "/proc", "kill", "setsid", "fork", "__closure__", "get_objects", "get_referrers",
              "user_ns")  # fmt: skip


def suspicious_uses(nb) -> list[str]:
    """Cells that reach for the interpreter's or the system's machinery (hooks, frames, import
    system, /proc, signals). Not a verdict (nothing in the kernel takes part in one): a note
    for the instructor, in the result's log."""
    notes = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not isinstance(cell.source, str):
            continue
        found = banned_uses(cell.source, SUSPICIOUS)
        found += [s for s in ("/proc",) if s in cell.source and s not in found]
        if found:
            notes.append(f"cell {index} uses {', '.join(sorted(set(found)))}: worth a look")
    return notes[:20]


def _is_check_cell(source: str) -> bool:
    """A cell that only calls ``check(...)``: feedback for the student, skipped when grading."""
    try:
        body = ast.parse(python_source(source)).body
    except SyntaxError:
        return False
    return bool(body) and all(
        isinstance(s, ast.Expr)
        and isinstance(s.value, ast.Call)
        and isinstance(s.value.func, ast.Name)
        and s.value.func.id == "check"
        for s in body
    )


def _parsed_code_cells(cells):
    """``(python source, AST)`` of every code cell that parses (IPython magics removed)."""
    for cell in cells:
        if cell.cell_type != "code" or not isinstance(cell.source, str):
            continue
        source = python_source(cell.source)
        try:
            yield source, ast.parse(source)
        except SyntaxError:
            continue


def _reachable_source(nb, index: int, stop=frozenset()) -> str:
    """The exercise cell's source plus every top-level function of the notebook it calls,
    transitively (so a banned API cannot hide in a helper defined elsewhere), except the
    functions in ``stop`` (other exercises' answers, judged on their own) and names the code
    binds itself (its own helper, however named)."""
    defs: dict[str, str] = {}
    for source, tree in _parsed_code_cells(nb.cells):
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
                defs[node.name] = ast.get_source_segment(source, node) or ""
    sources, seen = [_scannable(nb.cells[index].source)], set()
    pending = list(sources)
    while pending:
        try:
            tree = ast.parse(pending.pop())
        except SyntaxError:
            continue
        local = public_checks.bound_names(tree)  # a name the code binds itself is its own
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Name)
                and node.id in defs
                and node.id not in seen | stop | local
            ):
                seen.add(node.id)
                sources.append(defs[node.id])
                pending.append(defs[node.id])
    return "\n\n".join(sources)


def _scannable(source, depth: int = 0) -> str:
    """A cell's source as the kernel runs it, for ``ast``: IPython's syntax (``x = !ls``,
    ``%time code``) turned into Python by IPython's own transformer, and the Python a magic
    runs (``%time y = f()``, a ``%%capture`` cell's body) appended, read like the rest."""
    from IPython.core.inputtransformer2 import TransformerManager

    if not isinstance(source, str):
        return ""
    try:
        text = TransformerManager().transform_cell(source)
        tree = ast.parse(text)
    except Exception:  # a cell IPython cannot run either: it defines nothing
        return python_source(source)
    payloads = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("run_line_magic", "run_cell_magic")
            and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args)
            and node.args
        ):
            code = node.args[-1].value
            words = code.split()  # %timeit -n1 -r1 code: drop the options
            while words and words[0].startswith("-") and node.func.attr == "run_line_magic":
                code = code.split(words.pop(0), 1)[1]
            payloads.append(code.strip() if node.func.attr == "run_line_magic" else code)
    extra = [_scannable(p, depth + 1) for p in payloads if depth < 3]
    return "\n\n".join([text, *(e for e in extra if _parses(e))])


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True


def _normal(source) -> str:
    """A cell's source for comparison: Python only, no trailing spaces, no blank ends."""
    lines = python_source(source if isinstance(source, str) else "").strip().splitlines()
    return "\n".join(line.rstrip() for line in lines)


def course_cells(master) -> list[str]:
    """The master's code cells as the course wrote them and as released (no hidden tests)."""
    found = []
    for cell in nbformat.read(master, as_version=4).cells:
        if cell.cell_type != "code" or not isinstance(cell.source, str):
            continue
        found.append(_normal(cell.source))
        if BEGIN_HIDDEN in cell.source:
            try:
                found.append(_normal(split_hidden_tests(cell.source)[0]))
            except Exception:  # a malformed hidden block: the master's tests say so elsewhere
                pass
    return found


def _closest(source: str, course: list[str]) -> str:
    """The course cell ``source`` was most likely edited from ("" if none is close)."""
    best, ratio = "", 0.6
    for candidate in course:
        matcher = difflib.SequenceMatcher(None, source, candidate, autojunk=False)
        if matcher.real_quick_ratio() > ratio and matcher.quick_ratio() > ratio:
            if (r := matcher.ratio()) > ratio:
                best, ratio = candidate, r
    return best


def course_bindings(master) -> list[tuple[str, set[str]]]:
    """``(name, names it uses)`` of each function, class and alias the master's own code
    defines at top level (exercise answers and hidden tests left out): a ``def``, a ``class``,
    or a name bound to another name, an attribute, a ``lambda`` or a wrapper call
    (``answer_or_reference``, ``partial``). Data (``mask = ...``, ``model = build(...)``) and
    imports are not bindings of code."""
    nb = nbformat.read(master, as_version=4)
    answers = set(solution_cells(nb).values())
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or i in answers or not isinstance(cell.source, str):
            continue
        source = cell.source
        if BEGIN_HIDDEN in source:
            try:
                source = split_hidden_tests(source)[0]
            except Exception:  # a malformed hidden block: the master's tests say so elsewhere
                continue
        found += code_bindings(python_source(source))
    return found


def code_bindings(source: str) -> list[tuple[str, set[str]]]:
    """``(name, names it uses)`` of each top-level function, class or alias of ``source``
    (see :func:`course_bindings`)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for statement in tree.body:
        name = _code_binding(statement)
        if name:
            used = {n.id for n in ast.walk(statement) if isinstance(n, ast.Name)}
            used |= {n.attr for n in ast.walk(statement) if isinstance(n, ast.Attribute)}
            found.append((name, used - {name}))
    return found


WRAPPERS = ("answer_or_reference", "partial")


def _code_binding(statement) -> str | None:
    """The name ``statement`` binds to code (see :func:`course_bindings`), or None."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return statement.name
    if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1):
        return None
    target, value = statement.targets[0], statement.value
    if not isinstance(target, ast.Name):
        return None
    call = value.func if isinstance(value, ast.Call) else None
    wrapper = isinstance(call, (ast.Name, ast.Attribute)) and (
        getattr(call, "id", None) in WRAPPERS or getattr(call, "attr", None) in WRAPPERS
    )
    alias = isinstance(value, (ast.Name, ast.Attribute, ast.Lambda))
    return target.id if alias or wrapper else None


def course_aliases(apis, bindings, own) -> set[str]:
    """The names the course's own code binds to code that uses one of ``apis`` — an alias, a
    subclass, a wrapper (``class YourMinGRU(MinGRU)``, ``your_compose =
    answer_or_reference("12.1", compose, combine)``), transitively: the lesson's object reached
    by its lesson name is the API. Never a name in ``own`` (the exercises' answers)."""
    found = set(apis)
    changed = bool(found)
    while changed:
        changed = False
        for name, used in bindings:
            if name not in found and name not in own and used & found:
                found.add(name)
                changed = True
    return found - set(apis)


def banned_exercises(nb, where: dict, assignment: Assignment) -> dict[str, str]:
    """``{exercise id: why it scores 0}`` for each exercise whose code uses an API it
    replaces, or reaches code by run-time lookups (see :func:`public_checks.dynamic_uses`).

    Read: the exercise cell and the notebook functions it calls (``_reachable_source``), and
    every cell the student wrote or changed that runs before the exercise is judged (a cell
    before it, another exercise's cell before it): an alias bound there, a hook that rebinds
    the answer, a course probe patched in the kernel all live in such cells. A changed course
    cell is excused what the course's own cell already used."""
    course = course_cells(assignment.path)
    course_set = set(course)
    exercise_cells = set(where.values())
    own = {n for e in assignment.exercises.values() for n in e.names}
    written = {}  # index -> (its source, the course cell it was edited from or "")
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not isinstance(cell.source, str):
            continue
        if _normal(cell.source) in course_set or (
            i not in exercise_cells and _is_check_cell(cell.source)
        ):
            continue  # the course's own cell, or one that never runs when grading
        source = _scannable(cell.source)
        edited = i not in exercise_cells and len(cell.source) < 20_000
        written[i] = source, _scannable(_closest(_normal(cell.source), course)) if edited else ""
    lookups = {i: set(dynamic_uses(s)) - set(dynamic_uses(e)) for i, (s, e) in written.items()}
    exercise_of = {i: ex_id for ex_id, i in where.items()}

    # the lesson's code, and the code the student wrote or changed outside the exercise cells
    # (an alias bound in an edited course cell is an alias all the same)
    bindings = course_bindings(assignment.path)
    bindings += [
        b for i, (src, _) in written.items() if i not in exercise_of for b in code_bindings(src)
    ]

    def replaced(ex_id: str) -> tuple[set[str], set[str]]:
        """What ``ex_id`` replaces, and the lesson's names bound to it."""
        try:
            apis = set(load_replaces(ex_id))
        except KeyError:
            return set(), set()
        return apis, course_aliases(apis, bindings, own)

    banned: dict[str, str] = {}
    for ex_id, index in where.items():
        if ex_id not in assignment.exercises:
            continue
        apis, aliases = replaced(ex_id)
        others = {n for i, e in assignment.exercises.items() if i != ex_id for n in e.names}
        reachable = _reachable_source(nb, index, frozenset(others))
        used = set(banned_uses(reachable, apis, own, aliases))
        dynamic: set[str] = set()
        for i, (source, excused) in written.items():
            if i > index:
                continue
            # another exercise's cell answers for what that exercise replaces too (scored
            # there); what only this one replaces has no business in it
            mine, my_aliases = apis, aliases
            if i in exercise_of and i != index:
                theirs, their_aliases = replaced(exercise_of[i])
                mine, my_aliases = apis - theirs, aliases - their_aliases
            used |= set(banned_uses(source, mine, own, my_aliases)) - set(
                banned_uses(excused, mine, own, my_aliases)
            )
            dynamic |= lookups[i]
        if used:
            banned[ex_id] = ban_message(ex_id, sorted(used))
        elif dynamic:
            banned[ex_id] = dynamic_message(ex_id, sorted(dynamic))
    return banned


def _free_names(source: str) -> set[str]:
    """Names a test block reads but never binds."""
    import builtins

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    bound = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)
    }
    bound |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    bound |= {
        a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in n.args + n.kwonlyargs
    }
    bound |= {
        (a.asname or a.name).split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, (ast.Import, ast.ImportFrom))
        for a in n.names
    }
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return used - bound - set(dir(builtins))  # fmt: skip


def master_imports(path) -> dict[str, str]:
    """``name -> import statement`` for every top-level import of the master notebook, so that
    a test can use what the master imports (from the grader's own environment)."""
    found: dict[str, str] = {}
    for _source, tree in _parsed_code_cells(nbformat.read(path, as_version=4).cells):
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    name = (alias.asname or alias.name).split(".")[0]
                    found.setdefault(name, ast.unparse(node))
    return found


def _namespace_for(source: str, namespace: dict, imports: dict, session) -> dict:
    """What a test block needs: the grader's namespace, the master's imports (run here), and,
    for any other name, the notebook's variable fetched from the kernel as plain data."""
    scope = dict(namespace)
    for name in sorted(_free_names(source) - scope.keys()):
        if name in imports:
            try:
                exec(imports[name], scope)
                continue
            except Exception:
                pass
        try:
            scope[name] = session.call(f"value:{name}", (), {})
            session.result.log.append(f"a test used the notebook's variable {name}")
        except StudentError:
            pass  # the test will raise NameError, reported as its failure
    return scope


def _check_calls(source: str) -> str:
    """Only the ``check(...)`` statements of a public check cell: the rest is the lesson's
    demonstration code, for the notebook, not for the grade."""
    try:
        tree = ast.parse(python_source(source))
    except SyntaxError:
        return source
    keep = [
        s
        for s in tree.body
        if isinstance(s, ast.Expr)
        and isinstance(s.value, ast.Call)
        and isinstance(s.value.func, ast.Name)
        and s.value.func.id == "check"
    ]
    return "\n".join(ast.unparse(s) for s in keep)


def judge_exercise(
    ex, proxies: dict, session: _KernelSession, imports: dict | None = None
) -> list[CheckResult]:
    """Run exercise ``ex``'s public checks and hidden tests here, the student's functions
    being remote proxies; return every test's result."""
    own = set(ex.names)

    def not_attempted(err: BaseException) -> bool:
        return (
            isinstance(err, StudentNotImplemented)
            and err.own
            and getattr(err, "function", None) in own
        )

    salted = _SaltedNumpy()
    namespace = {"np": salted, "numpy": salted, "keras": _Lazy("keras"), "tf": _Lazy("tensorflow")}
    namespace.update(proxies)
    collected: list[CheckResult] = []

    def grader_check(ex_id, *answers):
        collected.extend(run_public_checks(str(ex_id), *answers))

    tests: list[CheckResult] = []
    blocks = [
        (f"public check cell {n}", _check_calls(s), False) for n, s in enumerate(ex.public_tests, 1)
    ]
    blocks += [(f"hidden test {n}", s, True) for n, s in enumerate(ex.hidden_tests, 1)]
    for label, source, hidden in blocks:
        scope = _namespace_for(source, dict(namespace, check=grader_check), imports or {}, session)
        try:
            exec(compile(source, f"<{label}>", "exec"), scope)
        except AssertionError as err:
            message = str(err)[:500] or "an assertion failed"
            tests.append(CheckResult(label, False, message, hidden=hidden))
        except NotImplementedError as err:
            if not_attempted(err):
                tests.append(CheckResult(label, False, "not attempted yet", True, hidden=hidden))
            else:
                tests.append(CheckResult(label, False, describe_error(err)[:500], hidden=hidden))
        except Exception as err:  # student errors arrive as StudentError
            tests.append(CheckResult(label, False, describe_error(err)[:500], hidden=hidden))
        else:
            if hidden:
                tests.append(CheckResult(label, True, hidden=True))
    return collected + tests


def grade_submission(
    path: Path,
    assignment: Assignment,
    cell_timeout: float,
    total_timeout: float,
    emit=lambda result: None,
    executed: Path | None = None,
    tag: str = "",
    memory_bytes: int = MEMORY_BYTES,
) -> SubmissionResult:
    """Execute ``path`` in a sandboxed kernel, judge each exercise here; return the result.

    ``emit(result)`` is called after every exercise (so scores obtained before a hang or a
    crash are kept) and once at the end."""
    start = time.monotonic()
    public_checks.set_salt(secrets.randbits(63))
    result = SubmissionResult.blank(str(path), assignment)
    nb = read_submission(path, assignment, result)
    if nb is None:
        emit(result)
        return result
    where = solution_cells(nb)
    result.log.extend(suspicious_uses(nb))
    for ex_id in assignment.exercises.keys() - where.keys():
        result.exercises[ex_id].status = MISSING
        result.exercises[
            ex_id
        ].reason = "exercise cell not found (deleted, or its '# Exercise' header removed)"
    after_cell = {index: ex_id for ex_id, index in where.items() if ex_id in assignment.exercises}
    last = max(after_cell)
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code" and i <= last]
    run_nb = nbformat.v4.new_notebook(cells=[c for _, c in code])
    index_of = {id(c): i for i, c in code}

    # Exercises that use an API they replace score 0 whatever they compute.
    banned = banned_exercises(nb, where, assignment)

    with tempfile.TemporaryDirectory(prefix="seqcourse-work-") as workdir:
        os.chmod(workdir, 0o700)
        manager = type(
            "SubmissionKernelManager",
            (SandboxKernelManager,),
            {"workdir": workdir, "kernel_env": _kernel_env(workdir),
             "run_tag": tag or secrets.token_hex(8)},
        )  # fmt: skip
        client = CappedClient(
            run_nb,
            kernel_manager_class=manager,
            allow_errors=True,
            resources={"metadata": {"path": workdir}},
        )
        session = _KernelSession(client, run_nb, result, start, cell_timeout, total_timeout)
        imports = master_imports(assignment.path)
        proxies = {
            name: RemoteFunction(name, session)
            for ex in assignment.exercises.values()
            for name in ex.names
        }
        clock = _PhaseClock()
        try:
            with client.setup_kernel():
                clock.lap("kernel start")
                km = client.km
                if not km.namespaced:
                    result.log.append("kernel ran without namespaces (unshare not permitted)")
                session.watch = _MemoryWatch(km, memory_bytes)
                session.watch.start()
                for cell in list(run_nb.cells):
                    number = index_of[id(cell)]
                    cell.outputs = []
                    ex_id = after_cell.get(number)
                    if ex_id is None and _is_check_cell(cell.source):
                        continue
                    outcome = session.execute(cell, f"cell {number}")
                    clock.lap("exercise cells" if ex_id else "other cells")
                    if ex_id is None:
                        continue
                    ex = assignment.exercises[ex_id]
                    tests = judge_exercise(ex, proxies, session, imports)
                    clock.lap("checks and probes")
                    score = _score(ex, outcome, tests, cell_timeout)
                    if ex_id in banned and score.status != NOT_ATTEMPTED:  # a stub stays one
                        test = CheckResult("written from scratch", False, banned[ex_id], gate=True)
                        score = ExerciseScore.from_tests(ex_id, ex.points, [test.to_dict()])
                    result.exercises[ex_id] = score
                    result.seconds = round(time.monotonic() - start, 2)
                    emit(result)
        except _Stop as stop:
            result.close(f"not graded: {stop}")
        except Exception as err:  # kernel failed to start, zmq trouble…: keep what we have
            result.close(
                f"not graded: the grader failed ({type(err).__name__}: {str(err)[:200]})", "error"
            )
        finally:
            if session.watch is not None:
                session.watch.stop()
            if client.km is not None:
                client.km.kill_process_tree()
        if executed is not None:
            try:
                secret = hidden_lines(assignment)
                for cell in run_nb.cells:
                    cell.outputs = nbformat.from_dict(scrub(cell.get("outputs", []), secret))
                nbformat.write(run_nb, executed)
            except Exception as err:
                result.log.append(f"could not save the executed notebook ({type(err).__name__})")
    result.close("not graded: its exercise cell never finished running")
    result.seconds = round(time.monotonic() - start, 2)
    result.log.append(f"{session.probes} probe call(s) judged outside the kernel")
    result.log.append(clock.summary(result.seconds))
    emit(result)
    return result


class _PhaseClock:
    """Where a submission's grading time goes (kernel start, the notebook's own cells, the
    exercise cells, checks and probes), for ``benchmarks/grading_speed.py``."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.last = time.monotonic()

    def lap(self, phase: str) -> None:
        now = time.monotonic()
        self.seconds[phase] = self.seconds.get(phase, 0.0) + now - self.last
        self.last = now

    def summary(self, total: float) -> str:
        parts = ", ".join(f"{phase} {s:.1f} s" for phase, s in self.seconds.items())
        return f"time: {total:.1f} s in all ({parts})"


REDACTED = "[hidden test text removed]"


def hidden_lines(assignment: Assignment) -> list[str]:
    """The lines of the master's hidden tests long enough to be telling (12 characters or more,
    stripped), longest first: text that must never come back in a grade or feedback."""
    lines = {
        line.strip()
        for ex in assignment.exercises.values()
        for block in ex.hidden_tests
        for line in block.splitlines()
        if len(line.strip()) >= 12
    }
    return sorted(lines, key=len, reverse=True)


def scrub(value, lines: list[str]):
    """``value`` (text, or lists and dicts of it) with every hidden-test line in ``lines``
    replaced by :data:`REDACTED`: a kernel that got hold of hidden tests cannot send them back
    inside an exception message or a probe's reply."""
    if isinstance(value, str):
        for line in lines:
            if line in value:
                value = value.replace(line, REDACTED)
        return value
    if isinstance(value, list):
        return [scrub(v, lines) for v in value]
    if isinstance(value, dict):
        return {k: scrub(v, lines) for k, v in value.items()}
    return value


def _score(ex, cell_outcome: str, tests: list[CheckResult], cell_timeout: float) -> ExerciseScore:
    if cell_outcome == "timeout":
        problem = (
            f"the exercise cell ran past the time limit ({cell_timeout:g} s) and was interrupted"
        )
    else:
        problem = f"the exercise cell raised {cell_outcome}" if cell_outcome else ""
    return ExerciseScore.from_tests(ex.id, ex.points, [t.to_dict() for t in tests], problem)


def _kernel_env(workdir: str) -> dict:
    """A minimal environment for the kernel: no secrets of the grader's environment."""
    keep = ("PATH", "LANG", "LC_ALL", "TZ", "OMP_NUM_THREADS", "TF_NUM_INTEROP_THREADS",
            "TF_NUM_INTRAOP_THREADS", "CUDA_VISIBLE_DEVICES", "KERAS_BACKEND")  # fmt: skip
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        HOME=workdir,
        TMPDIR=workdir,
        IPYTHONDIR=os.path.join(workdir, ".ipython"),
        MPLCONFIGDIR=os.path.join(workdir, ".matplotlib"),
        MPLBACKEND="agg",
        **{FAST_ENV: "1", GRADING_ENV: "1"},
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--result-fd", type=int, required=True)
    args = parser.parse_args(argv)
    not_dumpable()
    job = json.loads(sys.stdin.read(1_000_000))
    out = os.fdopen(args.result_fd, "w", encoding="utf-8")
    os.environ[FAST_ENV] = os.environ[GRADING_ENV] = "1"
    assignment = read_assignment(job["master"])
    secret = hidden_lines(assignment)

    def emit(result: SubmissionResult) -> None:
        out.write(json.dumps({"result": scrub(result.to_dict(), secret)}) + "\n")
        out.flush()

    grade_submission(
        Path(job["submission"]),
        assignment,
        float(job["cell_timeout"]),
        float(job["total_timeout"]),
        emit,
        Path(job["executed"]) if job.get("executed") else None,
        job.get("tag", ""),
        int(job.get("memory_bytes", MEMORY_BYTES)),
    )
    out.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
