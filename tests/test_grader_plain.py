"""Plain data between kernel and grader: what passes, what is refused, and the notebook's check
seeing exactly what the grader would see."""

import base64
import io
import json
import pickle

import numpy as np
import pytest

from seqcourse.grading import plain, run_public_checks
from seqcourse.grading.public_checks import banned_uses


def test_round_trip_keeps_types_and_values():
    value = (
        [np.arange(6.0).reshape(2, 3), np.array([True, False]), np.int64(3), np.float32(0.5)],
        {"a": 1, "b": 2.5, "c": "text", "d": None, "e": (1, [2, 3])},
        10**30,
        float("nan"),
    )
    back = plain.decode(plain.encode(value))
    assert type(back) is tuple and type(back[0]) is list and type(back[1]["e"]) is tuple
    np.testing.assert_array_equal(back[0][0], value[0][0])
    assert back[0][2] == 3 and isinstance(back[0][2], np.integer)
    assert back[2] == 10**30 and np.isnan(back[3])


class Sub(np.ndarray):
    pass


class ArrayLike:
    def __array__(self, dtype=None, copy=None):
        return np.zeros(3)


@pytest.mark.parametrize(
    "value",
    [
        np.array([object(), 1], dtype=object),
        np.zeros(3).view(Sub),
        ArrayLike(),
        {(1, 2): "tuple key"},
        lambda: 0,
        np.array([b"a", b"b"]),  # bytes: not plain
        type("Float", (float,), {})(1.0),  # a float subclass
    ],
)
def test_non_plain_values_are_refused(value):
    with pytest.raises(plain.NotPlain):
        plain.encode(value)


def _npz(**arrays) -> str:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return base64.b64encode(buffer.getvalue()).decode()


def test_decoding_refuses_pickles_objects_and_malformed_trees():
    tree = np.frombuffer(json.dumps({"t": "array", "k": 0}).encode(), dtype=np.uint8)
    with pytest.raises(plain.NotPlain):  # an object array needs pickle: refused
        plain.decode(_npz(a0=np.array([{"x": 1}], dtype=object), tree=tree))
    with pytest.raises(plain.NotPlain):
        plain.decode(base64.b64encode(pickle.dumps(np.zeros(3))).decode())
    bad = np.frombuffer(json.dumps({"t": "eval", "v": "1"}).encode(), dtype=np.uint8)
    with pytest.raises(plain.NotPlain):
        plain.decode(_npz(tree=bad))
    with pytest.raises(plain.NotPlain):
        plain.decode("not base64 !")
    with pytest.raises(plain.NotPlain):
        plain.decode("A" * (plain.MAX_BYTES + 4))


def test_probe_source_runs_and_matches_the_grader_side(capsys):
    """The kernel-side probe (self-contained source) encodes what decode() accepts."""
    shown = []
    scope = {"display": None}
    exec(plain.PROBE_SOURCE, scope)

    def answer(x, h):
        return np.tanh(x + h), [1, 2.0], "ok"

    scope["answer"] = answer
    import IPython.display

    real = IPython.display.display
    IPython.display.display = lambda obj, raw=False: shown.append(obj)
    try:
        payload = plain.encode(([np.ones(2), np.zeros(2)], {}))
        scope["_seqcourse_probe"]("answer", payload, plain.PROBE_MIME)
    finally:
        IPython.display.display = real
    reply = shown[0][plain.PROBE_MIME]
    value = plain.decode(reply["value"])
    np.testing.assert_allclose(value[0], np.tanh(np.ones(2)))
    assert value[1:] == ([1, 2.0], "ok")


def _run_probe(scope, name, args, shipped=None):
    import IPython.display

    shown = []
    real = IPython.display.display
    IPython.display.display = lambda obj, raw=False: shown.append(obj)
    try:
        scope["_seqcourse_probe"](name, plain.encode((args, {})), plain.PROBE_MIME, shipped)
    finally:
        IPython.display.display = real
    return shown[0][plain.PROBE_MIME]


def test_probe_source_calls_a_shipped_probe_with_the_students_function():
    """A name "probe:qualname@name" calls that probe of the source sent with the call (the
    probes module, which the kernel cannot import) with the student's function; an error
    raised by that function is still the student's own."""
    import inspect

    from seqcourse.grading import probes

    shipped = inspect.getsource(probes)
    scope = {}
    exec(plain.PROBE_SOURCE, scope)
    scope["sample"] = lambda logits, temperature, rng: int(np.argmax(logits))

    def stub(logits, temperature, rng):
        raise NotImplementedError("Exercise 4.1: not attempted yet")

    scope["stub"] = stub
    rng = plain.rng_state(np.random.default_rng(0))
    name = "probe:sampler_probe@"
    reply = _run_probe(scope, name + "sample", [[(np.array([0.0, 3.0]), 1.0, 4)], rng], shipped)
    np.testing.assert_array_equal(plain.decode(reply["value"])["draws"][0], [1, 1, 1, 1])
    reply = _run_probe(scope, name + "stub", [[(np.zeros(2), 1.0, 4)], rng], shipped)
    assert reply["error"] == "NotImplementedError" and reply["own"] is True
    assert "sampler_probe" not in scope  # the probe lived only for its call
    reply = _run_probe(scope, name + "missing", [[], rng], shipped)
    assert reply["error"] == "NameError" and "missing is not defined" in reply["message"]


def test_the_notebook_check_refuses_what_the_grader_would_refuse():
    class Liar(np.ndarray):
        def __array_function__(self, *a, **k):
            return True

    results = run_public_checks("1.1", lambda x, h, W_x, W_h, b: np.tanh(x @ W_x).view(Liar))
    assert not any(r.passed for r in results)
    assert "cannot receive" in results[0].message


def test_banned_api_is_found_in_names_attributes_imports_and_strings():
    apis = ("SimpleRNNCell", "GradientTape")
    assert banned_uses("keras.layers.SimpleRNNCell(3)", apis) == ["SimpleRNNCell"]
    assert banned_uses("from keras.layers import SimpleRNNCell as C", apis) == ["SimpleRNNCell"]
    assert banned_uses("with tf.GradientTape() as t: pass", apis) == ["GradientTape"]
    assert banned_uses("getattr(keras.layers, 'SimpleRNNCell')", apis) == ["SimpleRNNCell"]
    assert banned_uses('"""A plain RNN, like SimpleRNNCell does."""', apis) == []
    assert banned_uses("np.tanh(x @ W)", apis) == []


def test_using_the_replaced_layer_fails_the_public_check_too():
    def rnn_cell_forward(x_t, h_prev, W_x, W_h, b):
        import keras

        cell = keras.layers.SimpleRNNCell(W_x.shape[1], dtype="float64")
        cell.build((None, W_x.shape[0]))
        cell.set_weights([W_x, W_h, b])
        return np.asarray(cell(x_t, [h_prev])[0])

    results = run_public_checks("1.1", rnn_cell_forward)
    assert len(results) == 1 and not results[0].passed
    assert "SimpleRNNCell" in results[0].message


HONEST_NAMES = [  # correct answers whose own names coincide with a banned API's name
    ("1.4", "gradients = {'W_x': dW_x, 'W_h': dW_h}\nreturn_value = gradients"),
    (
        "1.4",
        "def f(h):\n    gradients = []\n    for t in range(3):\n        gradients.append(t)\n    return gradients",
    ),
    ("1.4", "def rnn_backward_mine(x, gradients=None):\n    return gradients"),
    ("1.4", "jacobian = np.eye(3)\nout = jacobian @ np.ones(3)"),
    ("1.4", "for jacobian in (np.eye(2), np.eye(2)):\n    total = jacobian.sum()"),
    ("1.4", "try:\n    pass\nexcept ValueError as RNN:\n    print(RNN)"),
    ("1.4", "grads = [gradients for gradients in range(3)]"),
    (
        "12.2",
        "def scan(op, elems):\n    return elems\n\ndef parallel_scan(op, elems):\n    return scan(op, elems)",
    ),
    (
        "12.2",
        "def parallel_scan(operator, elems):\n    def scan(e):\n        return e\n    return scan(elems)",
    ),
    ("12.2", "class scan:\n    pass\nx = scan()"),
    (
        "12.2",
        "def parallel_scan(operator, elems, while_loop=False):\n    return elems if not while_loop else None",
    ),
    ("12.2", "scan = lambda e: e\ny = scan(1)"),
    ("12.2", "(scan := 3)\nz = scan + 1"),
]


@pytest.mark.parametrize("exercise, source", HONEST_NAMES)
def test_an_honest_name_is_not_a_banned_api(exercise, source):
    from seqcourse.grading.public_checks import load_replaces

    assert banned_uses(source, load_replaces(exercise)) == []


@pytest.mark.parametrize(
    "source, found",
    [
        ("scan = keras.ops.associative_scan\ny = scan(f, e)", ["associative_scan"]),
        ("from keras.ops import associative_scan as scan", ["associative_scan"]),
        ("g = tf.gradients(y, x)", ["gradients"]),
        ("y = scan(f, e)", ["scan"]),  # a name this code does not bind: the API's
    ],
)
def test_a_bound_name_does_not_hide_what_it_is_bound_to(source, found):
    assert banned_uses(source, ["associative_scan", "scan", "gradients"]) == found


BINDINGS = [  # thirteen ways a student's own code binds a name (issue 36: honest names)
    "{n} = 3\nresult = {n} + 1",
    "def f({n}):\n    return {n} * 2",
    "for {n} in range(3):\n    total = {n}",
    "def f(x):\n    def {n}(y):\n        return y\n    return {n}(x)",
    "class {n}:\n    pass\nobj = {n}()",
    "values = [{n} * 2 for {n} in range(3)]",
    "if ({n} := 4) > 3:\n    out = {n}",
    "with open('f') as {n}:\n    text = {n}.read()",
    "try:\n    pass\nexcept ValueError as {n}:\n    message = str({n})",
    "g = lambda {n}: {n} + 1",
    "a, {n} = 1, 2\nc = a + {n}",
    "def f(*, {n}=None):\n    return {n}",
    "def f(**{n}):\n    return {n}",
]
EXERCISES = [f"{n}.{k}" for n, k in [(1, 1), (1, 2), (1, 3), (1, 4), (2, 1),
             (2, 2), (2, 3), (3, 1), (3, 2), (4, 1), (4, 2), (4, 3), (5, 1), (5, 2), (6, 1),
             (6, 2), (6, 3), (7, 1), (7, 2), (8, 1), (8, 2), (9, 1), (10, 1), (11, 1), (11, 2),
             (12, 1), (12, 2), (12, 3)]]  # fmt: skip


@pytest.mark.parametrize("exercise", EXERCISES)
def test_every_banned_api_name_is_the_students_when_their_code_binds_it(exercise):
    """Each banned API of the exercise, bound by the student's code in thirteen ways (a
    variable, a parameter, a loop target, an inner function, a class, …): never a ban."""
    from seqcourse.grading.public_checks import load_replaces

    apis = [a for a in load_replaces(exercise) if a.isidentifier()]
    assert apis  # every graded exercise but notebook 00's bans something
    for api in apis:
        for template in BINDINGS:
            source = template.format(n=api)
            assert banned_uses(source, load_replaces(exercise)) == [], source
