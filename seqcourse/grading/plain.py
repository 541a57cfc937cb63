"""Plain data: the only thing that crosses between a student's kernel and the grader.

A value is *plain* if it is ``None``, a ``bool``, ``int``, ``float``, ``str``, a NumPy array
of bool/integer/float dtype (exactly ``numpy.ndarray``, no subclass), a NumPy scalar of those
kinds, or a ``list``/``tuple``/``dict`` (string keys) of plain values. Plain values travel as
an ``.npz`` archive read with ``allow_pickle=False``: the arrays, plus a JSON tree describing
how they nest. Nothing in it can carry an object or code, and :func:`decode` checks every
node again on the receiving side, with size limits.

The kernel side (:data:`PROBE_SOURCE`) is self-contained source, so that it never depends on
a module the student could have replaced; it converts what a student's function returned
(TensorFlow tensors included) with strict type checks.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile

import numpy as np

MAX_BYTES = 4_000_000  # of an encoded value (base64 text), either direction
MAX_NODES = 10_000
MAX_STR = 100_000
_KINDS = "biufU"  # bool, integers, floats, and fixed-width unicode strings


class NotPlain(TypeError):
    """A value is not plain data (an object, a subclass, an object array, too big…)."""


def _tree(value, arrays: list, depth: int = 0):
    if depth > 20:
        raise NotPlain("nested too deeply")
    if len(arrays) > MAX_NODES:
        raise NotPlain("too many values")
    t = type(value)
    if value is None:
        return {"t": "none"}
    if t is bool:
        return {"t": "bool", "v": value}
    if t is int:
        return {"t": "int", "v": str(value)}
    if t is float:
        return {"t": "float", "v": repr(value)}
    if t is str:
        if len(value) > MAX_STR:
            raise NotPlain("a string is too long")
        return {"t": "str", "v": value}
    if t is np.ndarray or isinstance(value, np.generic):
        array = np.asarray(value) if t is not np.ndarray else value
        if type(array) is not np.ndarray or array.dtype.kind not in _KINDS:
            raise NotPlain(f"an array of dtype {array.dtype} is not plain numeric data")
        arrays.append(np.array(array, order="C"))
        return {"t": "scalar" if t is not np.ndarray else "array", "k": len(arrays) - 1}
    if t in (list, tuple):
        return {"t": t.__name__, "v": [_tree(v, arrays, depth + 1) for v in value]}
    if t is dict:
        if not all(type(k) in (str, int) for k in value):
            raise NotPlain("dict keys must be strings or integers")
        return {
            "t": "dict",
            "v": [
                [type(k).__name__, str(k), _tree(v, arrays, depth + 1)] for k, v in value.items()
            ],
        }
    raise NotPlain(f"a {t.__module__}.{t.__qualname__} is not plain data")


def encode(value) -> str:
    """``value`` (plain data, else :class:`NotPlain`) as base64 text of an ``.npz``."""
    arrays: list = []
    tree = _tree(value, arrays)
    buffer = io.BytesIO()
    named = {f"a{i}": a for i, a in enumerate(arrays)}
    named["tree"] = np.frombuffer(json.dumps(tree).encode(), dtype=np.uint8)
    np.savez(buffer, **named)
    text = base64.b64encode(buffer.getvalue()).decode("ascii")
    if len(text) > MAX_BYTES:
        raise NotPlain(f"the value is too large ({len(text)} bytes encoded)")
    return text


def _untree(node, arrays: dict, depth: int = 0):
    if depth > 21 or type(node) is not dict:
        raise NotPlain("malformed value")
    kind = node.get("t")
    if kind == "none":
        return None
    if kind == "bool" and type(node.get("v")) is bool:
        return node["v"]
    if kind == "int" and type(node.get("v")) is str and len(node["v"]) < 400:
        return int(node["v"])
    if kind == "float" and type(node.get("v")) is str and len(node["v"]) < 40:
        return float(node["v"])
    if kind == "str" and type(node.get("v")) is str and len(node["v"]) <= MAX_STR:
        return node["v"]
    if kind in ("array", "scalar") and type(node.get("k")) is int:
        array = arrays.get(f"a{node['k']}")
        if type(array) is not np.ndarray or array.dtype.kind not in _KINDS:
            raise NotPlain("malformed array")
        return array if kind == "array" else array[()]
    if kind in ("list", "tuple") and type(node.get("v")) is list:
        items = [_untree(v, arrays, depth + 1) for v in node["v"]]
        return items if kind == "list" else tuple(items)
    if kind == "dict" and type(node.get("v")) is list:
        out = {}
        for entry in node["v"]:
            if type(entry) is not list or len(entry) != 3 or type(entry[1]) is not str:
                raise NotPlain("malformed dict")
            if entry[0] == "str":
                key = entry[1]
            elif entry[0] == "int" and len(entry[1]) < 400:
                key = int(entry[1])
            else:
                raise NotPlain("malformed dict key")
            out[key] = _untree(entry[2], arrays, depth + 1)
        return out
    raise NotPlain("malformed value")


def decode(text) -> object:
    """The plain value in ``text`` (from :func:`encode`); :class:`NotPlain` if anything is off."""
    if type(text) is not str or len(text) > MAX_BYTES:
        raise NotPlain("not an encoded value, or too large")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            if sum(i.file_size for i in archive.infolist()) > 8 * MAX_BYTES:
                raise NotPlain("the value unpacks to too much data")
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        tree = json.loads(bytes(arrays.pop("tree")).decode())
        return _untree(tree, arrays)
    except NotPlain:
        raise
    except Exception as err:  # bad base64, zip, npy header, JSON…
        raise NotPlain(f"malformed value ({type(err).__name__})") from None


def to_plain(value, depth: int = 0):
    """What the kernel's probe does to a return value before sending it: TensorFlow/Keras
    tensors become arrays; anything else is left for :func:`encode` to accept or reject."""
    t = type(value)
    if depth > 20 or value is None or t in (bool, int, float, str):
        return value
    if t.__module__.startswith(("tensorflow", "keras")) and hasattr(value, "numpy"):
        return np.array(value.numpy())
    if t in (list, tuple):
        return t(to_plain(v, depth + 1) for v in value)
    if t is dict:
        return {k: to_plain(v, depth + 1) for k, v in value.items()}
    return value


def as_sent(value):
    """``value`` exactly as the grader would receive it from the kernel (or NotPlain)."""
    return decode(encode(to_plain(value)))


def rng_state(rng: np.random.Generator) -> dict:
    """A NumPy Generator as plain data (its bit generator's state)."""
    state = rng.bit_generator.state
    return {"__rng__": json.dumps(state, default=int)}


# The probe, run in the student's kernel: call a function by name on decoded arguments and
# display the plain result under PROBE_MIME. Self-contained (NumPy only) on purpose. A name
# "probe:module:qualname@name" calls the course function module.qualname (a checks module's
# probe, see public_checks.probe_with) with the student's function ``name`` first.
PROBE_MIME = "application/vnd.seqcourse.probe+json"

PROBE_SOURCE = r"""
def _seqcourse_probe(_name, _payload, _mime, _probes=None):
    import base64, io, json, traceback, zipfile
    import numpy as np
    from IPython.display import display

    shipped = {}  # the grader's probes, sent with this call (never importable here)
    if _probes is not None:
        shipped["__name__"] = "seqcourse_shipped_probes"
        exec(compile(_probes, "<seqcourse probes>", "exec"), shipped)

    def untree(node, arrays):
        t = node["t"]
        if t == "none": return None
        if t in ("bool", "str"): return node["v"]
        if t == "int": return int(node["v"])
        if t == "float": return float(node["v"])
        if t == "array": return arrays["a%d" % node["k"]].copy()
        if t == "scalar": return arrays["a%d" % node["k"]][()]
        if t == "list": return [untree(v, arrays) for v in node["v"]]
        if t == "tuple": return tuple(untree(v, arrays) for v in node["v"])
        if t == "dict":
            d = {(int(k) if kt == "int" else k): untree(v, arrays) for kt, k, v in node["v"]}
            if set(d) == {"__rng__"}:
                g = np.random.default_rng()
                g.bit_generator.state = json.loads(d["__rng__"])
                return g
            if set(d) == {"__student__"}:
                return globals()[d["__student__"]]
            if set(d) == {"__callable__"}:
                import importlib
                module, _, qualname = d["__callable__"].partition(":")
                if module == "seqcourse.grading.probes":
                    return shipped[qualname]
                target = importlib.import_module(module)
                for part in qualname.split("."):
                    target = getattr(target, part)
                return target
            return d
        raise TypeError(t)

    def tree(v, arrays, depth=0):
        if depth > 20: raise TypeError("nested too deeply")
        t = type(v)
        if v is None: return {"t": "none"}
        if t is bool: return {"t": "bool", "v": v}
        if t is int: return {"t": "int", "v": str(v)}
        if t is float: return {"t": "float", "v": repr(v)}
        if t is str: return {"t": "str", "v": v}
        if t.__name__ in ("EagerTensor", "ResourceVariable", "Variable") or t.__module__.startswith(("tensorflow", "keras")):
            v = np.array(v.numpy()) if hasattr(v, "numpy") else v
            t = type(v)
        if isinstance(v, np.generic) and v.dtype.kind in "biufU":
            arrays.append(np.asarray(v)); return {"t": "scalar", "k": len(arrays) - 1}
        if t is np.ndarray and v.dtype.kind in "biufU":
            arrays.append(np.array(v, order="C")); return {"t": "array", "k": len(arrays) - 1}
        if t is np.ndarray: raise TypeError("an array of dtype %s is not numeric" % v.dtype)
        if t in (list, tuple): return {"t": t.__name__, "v": [tree(x, arrays, depth + 1) for x in v]}
        if t is dict and all(type(k) in (str, int) for k in v):
            return {"t": "dict", "v": [[type(k).__name__, str(k), tree(x, arrays, depth + 1)] for k, x in v.items()]}
        raise TypeError("a %s is not plain data (return arrays, numbers, strings or lists of them)" % t.__name__)

    def encode(value):
        arrays = []
        root = tree(value, arrays)
        named = {"a%d" % i: a for i, a in enumerate(arrays)}
        named["tree"] = np.frombuffer(json.dumps(root).encode(), dtype=np.uint8)
        buf = io.BytesIO(); np.savez(buf, **named)
        return base64.b64encode(buf.getvalue()).decode("ascii")

    raw = base64.b64decode(_payload)
    with np.load(io.BytesIO(raw), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    args, kwargs = untree(json.loads(bytes(arrays.pop("tree")).decode()), arrays)
    out = {}
    if _name.startswith("value:"):  # a variable of the notebook, as plain data
        try:
            out = {"value": encode(globals()[_name[6:]])}
        except Exception as err:
            out = {"error": type(err).__name__, "message": str(err)[:300], "own": False}
        display({_mime: out}, raw=True)
        return
    student, probe = _name, None
    if _name.startswith("probe:"):  # "probe:qualname@name": a shipped probe, called with
        probe, _, student = _name[6:].rpartition("@")  # the student's function first
    fn = globals().get(student)
    if fn is None:
        out = {"error": "NameError", "message": "%s is not defined (did you run its cell, or rename it?)" % student, "own": False}
    else:
        code = getattr(fn, "__code__", None)
        try:
            if probe is not None:
                fn, args = shipped[probe], [fn, *args]
            value = fn(*args, **kwargs)
        except BaseException as err:
            tb = traceback.extract_tb(err.__traceback__)
            own = bool(tb) and code is not None and tb[-1].filename == code.co_filename and tb[-1].name == code.co_name
            where = [f for f in tb if f.filename.startswith("<ipython-input") or f.filename.startswith("/tmp/ipykernel")]
            line = (" (in %s, line %d of its cell)" % (where[-1].name, where[-1].lineno)) if where else ""
            out = {"error": type(err).__name__, "message": str(err)[:500] + line, "own": own}
        else:
            try:
                out = {"value": encode(value)}
            except Exception as err:
                out = {"error": "NotPlain", "message": str(err)[:300], "own": False}
    display({_mime: out}, raw=True)
"""
