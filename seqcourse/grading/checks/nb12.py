"""Public checks of notebook 12 (parallel recurrences). Oracles: applying updates one after
the other (12.1), the recurrence's loop and prefix sums in float64 (12.2) and the parallel form of
``seqcourse.layers.MinGRU``, a scan, for the step (12.3)."""

from __future__ import annotations

import numpy as np

from seqcourse.grading.probes import scan_probe
from seqcourse.grading.public_checks import (
    CheckFailed,
    assert_close,
    assert_shape,
    fresh_rng,
    probe_with,
    public_check,
    replaces,
)

replaces(
    "12.2",
    "associative_scan",
    "prefix_scan",
    "scan",
    "while_loop",
    "fori_loop",
    "linear_recurrence",
    "log_linear_recurrence",
    "MinGRU",
    "MinLSTM",
    "SelectiveDecay",
    "min_rnn",
)
replaces("12.3", "MinGRU", "coefficients_of", "min_rnn")
replaces("12.1", "combine", "linear_recurrence", "log_linear_recurrence", "min_rnn")

# ---------------------------------------------------------------- 12.1 compose


def _pair(value, shape, what: str):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise CheckFailed(f"{what} should return a pair (a, b), got {type(value).__name__}")
    return tuple(assert_shape(v, shape, f"{what}'s {n}") for v, n in zip(value, "ab", strict=True))


def _updates(rng, count: int, shape):
    return [(rng.uniform(-1.5, 1.5, size=shape), rng.normal(size=shape)) for _ in range(count)]


def _check_applies_in_order(compose, rng, shape) -> None:
    earlier, later = _updates(rng, 2, shape)
    a, b = _pair(compose(earlier, later), shape, "compose")
    h = rng.normal(size=shape)
    in_turn = later[0] * (earlier[0] * h + earlier[1]) + later[1]
    if not np.allclose(a * h + b, in_turn, atol=1e-8):
        swapped = earlier[0] * (later[0] * h + later[1]) + earlier[1]
        if np.allclose(a * h + b, swapped, atol=1e-8):
            raise CheckFailed(
                "your update applies `later` first: (a1, b1) comes first, so its b1 is "
                "multiplied by a2 — the result is (a1 a2, a2 b1 + b2)"
            )
        assert_close(a * h + b, in_turn, "the composed update applied to a state h", atol=1e-8)


def _check_associative(compose, rng, shape) -> None:
    x, y, z = _updates(rng, 3, shape)
    left = _pair(compose(_pair(compose(x, y), shape, "compose"), z), shape, "compose")
    right = _pair(compose(x, _pair(compose(y, z), shape, "compose")), shape, "compose")
    for got, want, part in zip(left, right, "ab", strict=True):
        assert_close(got, want, f"{part} of (x then y) then z against x then (y then z)", 1e-8)
    identity = (np.ones(shape), np.zeros(shape))
    for got, want, part in zip(_pair(compose(identity, x), shape, "compose"), x, "ab", strict=True):
        assert_close(got, want, f"{part} after composing with the identity update (1, 0)", 1e-12)


def assert_composition(compose, seed: int = 0) -> None:
    """Every judgement of 12.1 on fresh updates of another shape (for hidden tests)."""
    rng = fresh_rng(seed)
    shape = (2, 3, 5)
    _check_applies_in_order(compose, rng, shape)
    _check_associative(compose, rng, shape)


@public_check("12.1", "applying the composed update equals applying both in turn")
def _compose_order(compose):
    _check_applies_in_order(compose, fresh_rng(0), (4, 3))


@public_check("12.1", "is associative, and the update (1, 0) changes nothing")
def _compose_associative(compose):
    _check_associative(compose, fresh_rng(1), (4, 3))


# ---------------------------------------------------------------- 12.2 scan


def _loop(a, b):
    """h_t = a_t h_{t-1} + b_t, h_0 = 0, one step at a time in float64 (the judge's oracle)."""
    h = np.zeros(a.shape[::2])
    states = []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        states.append(h)
    return np.stack(states, axis=1)


def _applied_backwards(a, b):
    """Position t: the zero state after e_t, then e_(t-1), ..., then e_1 — what a scan gives
    when it calls ``operator(later, earlier)``."""
    states = np.zeros(a.shape)
    for t in range(a.shape[1]):
        h = np.zeros(a.shape[::2])
        for s in range(t, -1, -1):
            h = a[:, s] * h + b[:, s]
        states[:, t] = h
    return states


def _diagnose(got, a, b) -> str | None:
    """Name a classic mistake that the states ``got`` match exactly, if any."""
    mistakes = {
        "the operator is called as operator(later, earlier): the earlier prefix goes first": (
            _applied_backwards(a, b)
        ),
        "the prefixes run backwards in time (a reversed scan?)": _loop(
            np.flip(a, 1), np.flip(b, 1)
        )[:, ::-1],
        "the scan runs over axis 0 (the batch), not axis 1 (time)": np.swapaxes(
            _loop(np.swapaxes(a, 0, 1), np.swapaxes(b, 0, 1)), 0, 1
        ),
        "each prefix is one step late: position t must include element t (inclusive)": (
            np.concatenate([np.zeros_like(b[:, :1]), _loop(a, b)[:, :-1]], axis=1)
        ),
    }
    for message, wrong in mistakes.items():
        if wrong.shape == got.shape and np.allclose(got, wrong, atol=1e-4):
            return message
    return None


def _max_calls(time: int) -> int:
    """Operator calls a parallel scan may make: two per level of the recursion, with room
    for other parallel schemes (Hillis-Steele: one per level); a loop over time makes T - 1."""
    return 4 * max(1, int(np.ceil(np.log2(time)))) + 2


def _scan_replies(scan, cases) -> list:
    replies = probe_with(scan, scan_probe, cases)
    ok = type(replies) is list and len(replies) == len(cases)
    ok = ok and all(
        type(r) is dict
        and type(r.get("calls")) is int
        and type(r.get("prefixes")) is list
        and all(type(p) is np.ndarray for p in r["prefixes"])
        for r in replies
    )
    if not ok:
        raise CheckFailed("the scan could not be probed: its probe sent back malformed data")
    return replies


def _judge_affine(reply, a, b, traced: bool, atol: float | None) -> None:
    """The prefixes of the affine updates (a, b) against the loop, in the judge's float64, and
    the number of operator calls (``atol`` None: the form only)."""
    where = f"for time length {a.shape[1]}" + (
        " inside tf.function, compiled by XLA with its gradient" if traced else ""
    )
    if traced and type(reply.get("traced_error")) is str:
        raise CheckFailed(
            f"{where} (as model.fit runs it on a GPU) your scan raised: "
            f"{reply['traced_error']} — use slices, keras.ops and the operator only (no NumPy "
            "conversion such as np.asarray), and no empty slice: XLA cannot differentiate one, "
            "so when T == 2 skip the step for positions 2, 4, ... (there are none)"
        )
    prefixes = reply["prefixes"]
    if len(prefixes) != 2:
        raise CheckFailed(
            f"{where}: scan should return a tuple of as many arrays as elems (2), got "
            f"{len(prefixes)}"
        )
    for got, part in zip(prefixes, "ab", strict=True):
        assert_shape(got, a.shape, f"{where}: the {part} part of the prefixes")
    if atol is None:  # the gate: the form only
        return
    a, b = a.astype(float), b.astype(float)
    want = _loop(a, b)
    if not np.allclose(prefixes[1], want, atol=atol):
        mistake = _diagnose(prefixes[1], a, b)
        if mistake:
            raise CheckFailed(f"{where}: {mistake}")
    assert_close(prefixes[1], want, f"{where}: the states (the b part) against the loop", atol)
    assert_close(prefixes[0], np.cumprod(a, axis=1), f"{where}: the a part (products)", atol)
    if reply["calls"] > _max_calls(a.shape[1]):
        raise CheckFailed(
            f"{where}: the operator was called {reply['calls']} times — a loop over time. "
            f"A parallel scan composes all pairs of one level in a single call: about "
            f"2 log2 T calls (here at most {_max_calls(a.shape[1])})"
        )


def _affine_case(rng, shape):
    a = rng.uniform(0.3, 1.0, size=shape).astype("float32")
    return a, rng.normal(size=shape).astype("float32")


def _judge_cases(scan, rng, lengths, traced_lengths, atol) -> None:
    """Affine scans for ``lengths`` (eager) and ``traced_lengths`` (in tf.function), and one
    prefix sum of a 1-tuple, judged against the judge's loops."""
    plan = [(T, False) for T in lengths] + [(T, True) for T in traced_lengths]
    cases = [(*_affine_case(rng, (2, T, 3)), traced) for T, traced in plan]
    x = rng.normal(size=(2, 9, 2)).astype("float32")
    replies = _scan_replies(
        scan, [("affine", (a, b), traced) for a, b, traced in cases] + [("sum", (x,), False)]
    )
    for reply, (a, b, traced) in zip(replies, cases, strict=False):
        _judge_affine(reply, a, b, traced, atol)
    sums = replies[-1]["prefixes"]
    if len(sums) != 1:
        raise CheckFailed(f"scanning a 1-tuple should give a 1-tuple, got {len(sums)} arrays")
    assert_close(sums[0], np.cumsum(x.astype(float), axis=1), "prefix sums of a 1-tuple", 1e-4)


def assert_scan(scan, seed: int = 0) -> None:
    """Every judgement of 12.2 on fresh sequences of other lengths (for hidden tests)."""
    _judge_cases(scan, fresh_rng(seed), lengths=(1, 2, 3, 257), traced_lengths=(33,), atol=1e-4)


@public_check("12.2", "returns a tuple of prefixes shaped like elems", gate=True)
def _scan_shape(scan):
    a, b = _affine_case(fresh_rng(2), (2, 5, 3))
    reply = _scan_replies(scan, [("affine", (a, b), False)])[0]
    _judge_affine(reply, a, b, traced=False, atol=None)


@public_check("12.2", "prefixes of h_t = a_t h_(t-1) + b_t equal the loop for T = 1, 2, 7, 64")
def _scan_small(scan):
    _judge_cases(scan, fresh_rng(3), (1, 2, 7, 64), (), atol=1e-5)


@public_check("12.2", "T = 1000 in a few dozen operator calls, within 1e-4 of the loop")
def _scan_long(scan):
    a, b = _affine_case(fresh_rng(4), (2, 1000, 2))
    _judge_affine(_scan_replies(scan, [("affine", (a, b), False)])[0], a, b, False, 1e-4)


@public_check("12.2", "traces and differentiates under XLA (as model.fit on a GPU), T = 33")
def _scan_traced(scan):
    _judge_cases(scan, fresh_rng(5), (), (33,), atol=1e-5)


# ---------------------------------------------------------------- 12.3 min_gru_step


def _min_gru_case(rng, batch=3, time=6, features=4, units=5):
    x = rng.normal(size=(batch, time, features)).astype("float32")
    h0 = rng.normal(size=(batch, units)).astype("float32")
    kernel = rng.normal(size=(features, 2 * units)).astype("float32")
    bias = rng.normal(size=(2 * units,)).astype("float32")
    return x, h0, kernel, bias


def _parallel_states(x, h0, kernel, bias) -> np.ndarray:
    """The oracle: the MinGRU layer's parallel form (a scan) with these weights."""
    from seqcourse.layers import MinGRU

    layer = MinGRU(h0.shape[1], return_sequences=True)
    layer.build(x.shape)
    layer.set_weights([kernel, bias])
    return np.asarray(layer(x, initial_state=h0), dtype="float64")


def _step_mistake(got, x, h, kernel, bias) -> str | None:
    units = h.shape[1]
    projected = x.astype(float) @ kernel + bias
    gate, candidate = projected[:, :units], projected[:, units:]
    z = 1 / (1 + np.exp(-gate))
    mistakes = {
        "z and 1 - z are swapped: in minGRU z near 1 takes the new candidate, "
        "h_t = (1 - z) h + z h~ (Keras' GRU writes it the other way round)": z * h
        + (1 - z) * candidate,
        "the candidate has a tanh: minGRU's candidate is linear, h~ = x W_h + b_h": (1 - z) * h
        + z * np.tanh(candidate),
        "the blocks are swapped: the kernel holds the gate block first, then the candidate": (
            lambda zz: (1 - zz) * h + zz * gate
        )(1 / (1 + np.exp(-candidate))),
    }
    for message, wrong in mistakes.items():
        if np.allclose(got, wrong, atol=1e-4):
            return message
    return None


def _check_steps(min_gru_step, rng) -> None:
    x, h, kernel, bias = _min_gru_case(rng)
    want = _parallel_states(x, h, kernel, bias)
    for t in range(x.shape[1]):
        got = assert_shape(min_gru_step(x[:, t], h, kernel, bias), h.shape, "the new state")
        if not np.allclose(got, want[:, t], atol=1e-4):
            mistake = _step_mistake(got, x[:, t], h, kernel, bias)
            if mistake:
                raise CheckFailed(mistake)
        assert_close(got, want[:, t], f"the state after step {t + 1} (against the scan)", 1e-4)
        h = np.asarray(got, dtype="float32")


def assert_min_gru_step(min_gru_step, seed: int = 0) -> None:
    """Every judgement of 12.3 on fresh weights and inputs (for hidden tests)."""
    _check_steps(min_gru_step, fresh_rng(seed))


@public_check("12.3", "returns the new state, shape (batch, units)", gate=True)
def _step_shape(min_gru_step):
    x, h, kernel, bias = _min_gru_case(fresh_rng(4))
    assert_shape(min_gru_step(x[:, 0], h, kernel, bias), h.shape, "the new state")


@public_check("12.3", "six steps from a given state equal MinGRU's parallel scan")
def _step_matches_scan(min_gru_step):
    _check_steps(min_gru_step, fresh_rng(5))
