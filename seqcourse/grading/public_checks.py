"""Public exercise checks: the feedback a student gets from ``check("1.2", fn)``.

Checks are registered per exercise with :func:`public_check` in ``seqcourse.grading.checks.nbNN``
(one module per notebook, imported on first use). A check receives the student's answer(s) and
raises :class:`CheckFailed` (or ``AssertionError``) with a reason; its oracle is Keras or a
numerical computation, never the reference solution.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

_REGISTRY: dict[str, list[tuple[str, Callable, bool]]] = {}
_FIXED: set[tuple[str, str]] = set()  # (exercise id, check name) of checks on fixed inputs
REPLACES: dict[str, tuple[str, ...]] = {}  # exercise id -> APIs the exercise exists to replace
_SALT: list[int] = []  # set by the grader: fresh inputs for every grading run


def fresh_rng(seed: int) -> np.random.Generator:
    """The random generator of a check: ``seed`` alone in a notebook (same inputs each time),
    mixed with a per-run salt when the grader judges (inputs no one has seen before)."""
    return np.random.default_rng([seed, *_SALT])


def set_salt(salt: int | None) -> None:
    """Make every :func:`fresh_rng` draw depend on ``salt`` (None: back to fixed seeds)."""
    _SALT[:] = [] if salt is None else [int(salt) % 2**63]


class StudentError(Exception):
    """An exception raised by the student's code in their kernel, as the grader sees it."""

    def __init__(self, name: str, message: str, own: bool = False):
        super().__init__(f"{name}: {message}")
        self.name, self.message, self.own = name, message, own


class StudentNotImplemented(StudentError, NotImplementedError):
    """The student's function raised NotImplementedError in their kernel."""


class CheckFailed(AssertionError):
    """Raised by a check with a reason meant for the student."""


@dataclass
class CheckResult:
    """The outcome of one check: passed, failed with a reason, or not attempted."""

    name: str
    passed: bool
    message: str = ""
    not_attempted: bool = False
    gate: bool = False  # a shape/type check: if it fails the exercise scores 0
    fixed: bool = False  # fixed, public inputs: feedback only, never points in a grade
    hidden: bool = False  # a hidden test of the master (its text is never shown)

    def to_dict(self) -> dict:
        return asdict(self)


def public_check(exercise_id: str, name: str, gate: bool = False, fixed: bool = False):
    """Decorator registering ``fn(*answers)`` as a public check of ``exercise_id``.

    A ``gate`` (shape, type) earns no points: when it fails, the whole exercise scores 0. A
    ``fixed`` check (a hand-worked example, the same inputs every time, which a student could
    answer from a table) is feedback only: it earns no points in a grade, whose points all come
    from checks on inputs drawn fresh for each grading run (:func:`fresh_rng`)."""

    def register(fn):
        _REGISTRY.setdefault(exercise_id, []).append((name, fn, gate))
        if fixed:
            _FIXED.add((exercise_id, name))
        return fn

    return register


def replaces(exercise_id: str, *apis: str) -> None:
    """Declare the APIs exercise ``exercise_id`` makes students write themselves."""
    REPLACES[exercise_id] = tuple(apis)


def _folded(node) -> str | None:
    """The text of a string expression made of constants (``"a" + "b"``, ``"".join([...])``,
    f-strings, ``"ab"[::-1]``, ``"a" * 2``), or None."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _folded(node.left), _folded(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        text = _folded(node.left)
        times = node.right.value if isinstance(node.right, ast.Constant) else None
        return text * times if text is not None and type(times) is int and times < 10 else None
    if isinstance(node, ast.JoinedStr):
        parts = [_folded(v.value if isinstance(v, ast.FormattedValue) else v) for v in node.values]
        return None if None in parts else "".join(parts)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "join"
        and len(node.args) == 1
        and isinstance(node.args[0], (ast.List, ast.Tuple))
    ):
        sep, parts = _folded(node.func.value), [_folded(e) for e in node.args[0].elts]
        return None if sep is None or None in parts else sep.join(parts)
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
        text = _folded(node.value)
        bounds = [node.slice.lower, node.slice.upper, node.slice.step]
        values = [None if b is None else _integer(b) for b in bounds]
        if text is None or any(v == "?" for v in values) or values[2] == 0:
            return None
        return text[slice(*values)]
    return None


def _integer(node):
    """The int a constant expression (``3``, ``-1``) is, else "?"."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _integer(node.operand)
        return "?" if value == "?" else -value
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return "?"


def bound_names(tree: ast.AST) -> set[str]:
    """Names the code binds itself: assignment, loop, ``with``/``except`` and comprehension
    targets, ``def`` and ``class`` names, parameters. (Imports are left out: an imported
    name is judged by what it imports.)"""
    names = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arguments):
            every = [*node.posonlyargs, *node.args, *node.kwonlyargs, node.vararg, node.kwarg]
            names |= {a.arg for a in every if a is not None}
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def banned_uses(source: str, apis, own=(), aliases=()) -> list[str]:
    """The names of ``apis`` that ``source`` refers to: names, attributes, imports, and strings,
    also when built from pieces (``"last_" + "step"``) or dotted (``"module.name"``); and the
    ``aliases`` it refers to by name (globals of the lesson bound to the APIs, see
    ``worker.course_aliases``: only a bare name is that object, not an attribute or a string).

    A bare name is resolved, not matched: one the source binds itself (a helper ``def scan``,
    a variable ``gradients``, a parameter) or one in ``own`` (the exercise's own functions, e.g.
    a recursive call) is the student's, not the API; what it is bound *to* is read like any
    other code (``scan = keras.ops.associative_scan`` is found by its attribute)."""
    apis, aliases = set(apis), set(aliases)
    if not apis and not aliases:
        return []
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return []
    own = set(own) | bound_names(tree)
    written_to = {
        id(n)
        for t in ast.walk(tree)
        if isinstance(t, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete))
        for target in (t.targets if isinstance(t, (ast.Assign, ast.Delete)) else [t.target])
        for n in ast.walk(target)
    }  # keras.layers.X.call = ... patches X (tampering, judged elsewhere), it does not use X
    found = set()
    for node in ast.walk(tree):
        if id(node) in written_to:
            continue
        if isinstance(node, ast.Name) and node.id in apis | aliases and node.id not in own:
            found.add(node.id)
        elif isinstance(node, ast.Attribute) and node.attr in apis:
            found.add(node.attr)
        elif isinstance(node, ast.alias) and node.name.split(".")[-1] in apis:
            found.add(node.name.split(".")[-1])
        elif isinstance(node, ast.keyword) and node.arg in apis:
            found.add(node.arg)  # dict(last_real_step=...)[...] and the like
        elif isinstance(node, ast.expr) and not isinstance(node, ast.Name):
            text = _folded(node)
            if text is not None and len(text) < 500:
                pieces = {text.strip(), *text.strip().replace(":", ".").split(".")}
                found.update(apis & pieces)
    return sorted(found)


# Ways of reaching code without writing its name: looking names up at run time, running text
# as code, walking an object's or the interpreter's insides. Graded code never needs them.
DYNAMIC_CALLS = (
    "__import__",
    "eval",
    "exec",
    "compile",
    "globals",
    "vars",
    "locals",
    "__builtins__",
)
DYNAMIC_ATTRIBUTES = (
    "__dict__", "__getattribute__", "__closure__", "cell_contents", "__globals__", "__code__",
    "__builtins__", "__wrapped__", "__self__", "f_globals", "f_locals", "user_ns", "user_global_ns",
    "import_module", "attrgetter", "methodcaller", "getmembers", "get_objects",
    "get_referrers", "get_referents", "run_cell", "run_line_magic", "run_cell_magic",
    "modules", "__import__", "eval", "exec", "getattr", "setattr", "ex", "ev", "run_code",
    "runcode", "safe_execfile", "run_ast_nodes", "deserialize_keras_object",
    "get_registered_object", "locate", "resolve_name",
)  # fmt: skip
DYNAMIC_MODULES = ("importlib", "gc", "ctypes", "runpy", "marshal", "pickle", "builtins",
                   "pydoc", "pkgutil")  # fmt: skip


def dynamic_uses(source: str) -> list[str]:
    """The run-time lookups ``source`` makes (see :data:`DYNAMIC_CALLS`...): getattr and the
    like with a computed name, vars(), __dict__, importlib, star imports of the course..."""
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return []
    found, calls = set(), set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("run_line_magic", "run_cell_magic")
            and all(isinstance(a, ast.Constant) for a in node.args)
        ):  # a %magic as IPython rewrites it (the grader reads the code it runs on its own)
            calls.add(id(node.func))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            calls.add(id(node.func))
            name = node.func.id
            if name in ("getattr", "setattr", "delattr"):
                if len(node.args) < 2 or _folded(node.args[1]) is None:
                    found.add(f"{name} with a computed name")
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id in DYNAMIC_CALLS:
                found.add(node.id)
            elif node.id in ("getattr", "setattr", "delattr") and id(node) not in calls:
                found.add(node.id)
        elif isinstance(node, ast.Attribute) and node.attr in DYNAMIC_ATTRIBUTES:
            if id(node) not in calls:
                found.add(node.attr)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] in DYNAMIC_MODULES)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module.split(".")[0] in DYNAMIC_MODULES:
                found.add(module)
            found.update(a.name for a in node.names if a.name in DYNAMIC_ATTRIBUTES)
            if any(a.name == "*" for a in node.names):
                found.add(f"from {module} import *")
    return sorted(found)


def dynamic_message(exercise_id: str, used: list[str]) -> str:
    return (
        f"exercise {exercise_id}'s code (or a cell run before it) uses {', '.join(used[:6])}: "
        "graded code must call what it uses by name, not look it up at run time (this scores 0)"
    )


def ban_message(exercise_id: str, used: list[str]) -> str:
    return (
        f"uses {', '.join(used)}, which exercise {exercise_id} asks you to write yourself "
        "(this scores 0)"
    )


def _load_checks(exercise_id: str) -> list[tuple[str, Callable]]:
    chapter = exercise_id.split(".")[0]
    module = f"seqcourse.grading.checks.nb{int(chapter):02d}"
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name != module:
            raise
    if exercise_id not in _REGISTRY:
        raise KeyError(
            f"there is no exercise {exercise_id!r}; check the id written in the exercise header"
        )
    return _REGISTRY[exercise_id]


def load_replaces(exercise_id: str) -> tuple[str, ...]:
    """The APIs exercise ``exercise_id`` replaces (loads its checks module)."""
    _load_checks(exercise_id)
    return REPLACES.get(exercise_id, ())


def raised_by_answer(err: BaseException, answers) -> bool:
    """Did one of ``answers`` itself raise ``err`` (not a helper it called)?"""
    if isinstance(err, StudentError):
        names = {getattr(a, "__name__", None) for a in answers}
        return err.own and getattr(err, "function", None) in names
    frames = traceback.extract_tb(err.__traceback__)
    if not frames:
        return False
    last = frames[-1]
    for answer in answers:
        code = getattr(answer, "__code__", None)
        if code is not None and (last.filename, last.name) == (code.co_filename, code.co_name):
            return True
    return False


def describe_error(err: BaseException) -> str:
    """A one-line description of an exception raised by student code, with where it happened."""
    if isinstance(err, StudentError):
        return f"your code raised {err.name}: {err.message}"
    frames = traceback.extract_tb(err.__traceback__)
    student = [f for f in frames if "seqcourse" not in f.filename.replace("\\", "/").split("/")]
    where = f" (line {student[-1].lineno} of your code)" if student else ""
    return f"your code raised {type(err).__name__}: {err}{where}"


def run_public_checks(exercise_id: str, *answers) -> list[CheckResult]:
    """Run every public check of ``exercise_id`` on ``answers``; never raises for student errors."""
    results = []
    checks = _load_checks(exercise_id)
    sources = []
    for answer in answers:
        try:
            sources.append(inspect.getsource(answer))
        except (TypeError, OSError):
            pass
    own = {getattr(a, "__name__", "") for a in answers}
    apis = REPLACES.get(exercise_id, ())
    used = sorted({u for s in sources for u in banned_uses(s, apis, own)})
    if used:
        return [
            CheckResult("written from scratch", False, ban_message(exercise_id, used), gate=True)
        ]
    lookups = sorted({u for s in sources for u in dynamic_uses(s)})
    if lookups:  # as the grader reads it (it also reads the cells run before the exercise)
        message = dynamic_message(exercise_id, lookups)
        return [CheckResult("written from scratch", False, message, gate=True)]
    probes = [_probe(a) for a in answers]
    for name, fn, gate in checks:
        kind = {"gate": gate, "fixed": (exercise_id, name) in _FIXED}
        try:
            fn(*probes)
        except NotImplementedError as err:
            if raised_by_answer(err, answers):
                return [CheckResult(n, False, "not attempted yet", True, g) for n, _, g in checks]
            results.append(CheckResult(name, False, describe_error(err), **kind))
        except AssertionError as err:
            results.append(CheckResult(name, False, str(err) or "assertion failed", **kind))
        except Exception as err:  # the student's code may raise anything
            results.append(CheckResult(name, False, describe_error(err), **kind))
        else:
            results.append(CheckResult(name, True, **kind))
    return results


def _sent(value, name: str):
    """``value`` as the grader would receive it, or CheckFailed saying why it cannot."""
    from seqcourse.grading.plain import NotPlain, as_sent

    try:
        return as_sent(value)
    except NotPlain as err:
        raise CheckFailed(
            f"{name} returned {type(value).__name__}, which the grader cannot receive: "
            f"{err} (return NumPy arrays, numbers, strings, or lists/tuples/dicts of them)"
        ) from None


def _probe(answer):
    """``answer`` as the grader sees it: its return values pass through the same plain-data
    conversion as in grading, so a notebook's check and the grader agree."""
    if not callable(answer) or getattr(answer, "is_remote", False):
        return answer
    name = getattr(answer, "__name__", "your function")

    def probed(*args, **kwargs):
        return _sent(answer(*args, **kwargs), name)

    def run_probe(probe, args, kwargs):
        return _sent(probe(answer, *args, **kwargs), f"the probe of {name}")

    probed.__name__ = name
    probed.run_probe = run_probe
    return probed


def probe_with(answer, probe, *args, **kwargs):
    """``probe(answer, *args, **kwargs)``, run where the student's code lives, as plain data.

    For answers that are not plain data themselves (a Keras model, thousands of draws from
    one generator): ``probe``, a function of a checks module, calls the student's function
    and returns plain data (arrays, numbers, strings, lists/dicts of them); the check (the
    judge) then decides on that data alone. In a notebook the probe runs right here; when
    grading, in the student's kernel, imported there by name — where the student may have
    replaced it, so a judge trusts nothing it returns beyond what it can recompute.
    ``answer`` may also be the student's function itself (a hidden test in a master).
    """
    run = getattr(answer, "run_probe", None) or _probe(answer).run_probe
    return run(probe, args, kwargs)


def traced_value(reply, where: str):
    """The value a :func:`seqcourse.grading.probes.traced_call` probe sent back, or CheckFailed
    naming the error the student's function raised when traced (``where``: the calls')."""
    if type(reply) is not dict:
        raise CheckFailed("the traced call could not be probed: its probe sent back no data")
    if type(reply.get("traced_error")) is str:
        raise CheckFailed(
            f"{where} your function raised: {reply['traced_error']} — use keras.ops only (no "
            "np.asarray or NumPy functions), and ops.shape(x) for sizes unknown until run time"
        )
    return reply.get("value")


def require(gate, *args) -> None:
    """Run the gate check ``gate(*args)`` before a comparison; if it fails, CheckFailed saying
    the comparison was not made (the gate's own check gives the reason)."""
    try:
        gate(*args)
    except CheckFailed:
        raise CheckFailed(
            "not compared: the model is not a keras.Model of the requested sizes (see the "
            "first check)"
        ) from None


def _arrays(value, count: int) -> bool:
    return (
        type(value) is list
        and len(value) >= count
        and all(type(a) is np.ndarray and a.dtype.kind in "biuf" for a in value)
    )


def is_model_run(run, inputs: int) -> bool:
    """Does ``run`` have the form :func:`seqcourse.grading.probes.model_run` gives for ``inputs`` input batches? (The
    kernel may send anything; a judge checks the form before it reads a value.)"""
    if type(run) is not dict or type(run.get("type")) is not str:
        return False
    if type(run.get("is_model")) is not bool or not run["is_model"]:
        return type(run.get("is_model")) is bool
    return (
        _arrays(run.get("outputs"), inputs)
        and _arrays(run.get("weights"), 0)
        and (_arrays(run.get("loaded"), inputs) or type(run.get("load_error")) is str)
        and (type(run.get("config")) is str or type(run.get("config_error")) is str)
    )


def format_report(exercise_id: str, results: list[CheckResult]) -> str:
    """The text a student sees for one exercise's checks."""
    if results and all(r.not_attempted for r in results):
        return (
            f"Exercise {exercise_id}: not attempted yet. Replace the `raise NotImplementedError` "
            "line in the exercise cell with your code, run that cell, then run this one again."
        )
    lines = [f"Exercise {exercise_id}:"]
    for r in results:
        lines.append(
            f"  [{'PASS' if r.passed else 'FAIL'}] {r.name}"
            + (" (a fixed example: feedback, no points when graded)" if r.fixed else "")
            + ("" if r.passed else f": {r.message}")
        )
    passed = sum(r.passed for r in results)
    verdict = (
        "all checks passed"
        if passed == len(results)
        else f"{passed} of {len(results)} checks passed"
    )
    lines.append(f"  -> {verdict}")
    return "\n".join(lines)


def check(exercise_id: str, *answers) -> None:
    """Run the public checks of an exercise on the student's answer(s) and print the outcome.

    Prints one line per check (PASS, or FAIL with the reason) or "not attempted yet" for an
    untouched stub; never raises for mistakes in the student's code.
    """
    exercise_id = str(exercise_id)
    print(format_report(exercise_id, run_public_checks(exercise_id, *answers)))


# ----------------------------------------------------------------------------- check helpers


def as_array(value, what: str) -> np.ndarray:
    """Convert a student's return value to a float array or fail with a clear reason."""
    if value is None:
        raise CheckFailed(f"{what} is None: did you forget a `return`?")
    try:
        return np.asarray(value, dtype="float64")
    except (TypeError, ValueError) as err:
        raise CheckFailed(f"{what} should be a numeric array, got {type(value).__name__}") from err


def assert_shape(value, shape: tuple, what: str) -> np.ndarray:
    """Check ``value`` has ``shape`` and return it as an array."""
    array = as_array(value, what)
    if array.shape != tuple(shape):
        raise CheckFailed(f"{what} has shape {array.shape}, expected {tuple(shape)}")
    return array


def assert_close(actual, expected, what: str, atol: float = 1e-5) -> None:
    """Check two arrays agree to ``atol`` (after a shape check), naming the worst element."""
    expected = np.asarray(expected, dtype="float64")
    actual = assert_shape(actual, expected.shape, what)
    if not np.all(np.isfinite(actual)):
        raise CheckFailed(f"{what} contains NaN or infinite values")
    diff = np.abs(actual - expected)
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
    if diff.size and diff[worst] > atol:
        where = f" at index {tuple(int(i) for i in worst)}" if diff.ndim else ""
        raise CheckFailed(
            f"{what} differs from the expected value{'s' if diff.ndim else ''} by up to "
            f"{diff[worst]:.3g}{where} (you gave {actual[worst]:.6g}, expected "
            f"{expected[worst]:.6g}; tolerance {atol:g})"
        )
