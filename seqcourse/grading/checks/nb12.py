"""Public checks of notebook 12 (parallel recurrences). Oracles: applying updates one after
the other (12.1), the recurrence's loop in float64 (12.2) and the parallel form of
``seqcourse.layers.MinGRU``, a scan, for the step (12.3)."""

from __future__ import annotations

import numpy as np

from seqcourse.grading.public_checks import (
    CheckFailed,
    assert_close,
    assert_shape,
    fresh_rng,
    public_check,
    replaces,
)

replaces(
    "12.2",
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
    _check_applies_in_order(compose, np.random.default_rng(0), (4, 3))


@public_check("12.1", "is associative, and the update (1, 0) changes nothing")
def _compose_associative(compose):
    _check_associative(compose, np.random.default_rng(1), (4, 3))


# ---------------------------------------------------------------- 12.2 parallel_recurrence


def _loop(a, b):
    """h_t = a_t h_{t-1} + b_t, h_0 = 0, one step at a time in float64 (the judge's oracle)."""
    h = np.zeros(a.shape[::2])
    states = []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        states.append(h)
    return np.stack(states, axis=1)


def _diagnose(got, a, b) -> str | None:
    """Name a classic mistake that ``got`` matches exactly, if any."""
    reverse = np.flip
    mistakes = {
        "the states run backwards in time (a reversed scan?)": _loop(reverse(a, 1), reverse(b, 1))[
            :, ::-1
        ],
        "the scan runs over axis 0 (the batch), not axis 1 (time)": np.swapaxes(
            _loop(np.swapaxes(a, 0, 1), np.swapaxes(b, 0, 1)), 0, 1
        ),
        "these are the products of the decays (the `a` part), not the states (the `b` part)": (
            np.cumprod(a, axis=1)
        ),
    }
    shifted = np.concatenate([np.zeros_like(b[:, :1]), _loop(a, b)[:, :-1]], axis=1)
    mistakes["each state is one step late: position t must hold h_t, not h_(t-1)"] = shifted
    for message, wrong in mistakes.items():
        if wrong.shape == got.shape and np.allclose(got, wrong, atol=1e-4):
            return message
    return None


def _check_recurrence(parallel_recurrence, rng, shape, atol: float) -> None:
    a = rng.uniform(0.3, 1.0, size=shape).astype("float32")
    b = rng.normal(size=shape).astype("float32")
    got = assert_shape(parallel_recurrence(a, b), shape, "the states")
    want = _loop(a.astype(float), b.astype(float))
    if not np.allclose(got, want, atol=atol):
        mistake = _diagnose(got, a.astype(float), b.astype(float))
        if mistake:
            raise CheckFailed(f"with time length {shape[1]}: {mistake}")
    assert_close(got, want, f"the states for time length {shape[1]} (against the loop)", atol)


def assert_parallel_recurrence(parallel_recurrence, seed: int = 0) -> None:
    """Every judgement of 12.2 on fresh sequences of other lengths (for hidden tests)."""
    rng = fresh_rng(seed)
    for time in (2, 3, 33, 257):  # not 1: Keras 3.13 (Colab) cannot scan a length-1 axis
        _check_recurrence(parallel_recurrence, rng, (2, time, 3), atol=1e-4)


@public_check("12.2", "returns states of shape (batch, time, units)", gate=True)
def _recurrence_shape(parallel_recurrence):
    a, b = np.full((2, 5, 3), 0.5, "float32"), np.ones((2, 5, 3), "float32")
    assert_shape(parallel_recurrence(a, b), (2, 5, 3), "the states")


@public_check("12.2", "equals the loop h_t = a_t h_(t-1) + b_t for T = 2, 7 and 64")
def _recurrence_small(parallel_recurrence):
    rng = np.random.default_rng(2)
    for time in (2, 7, 64):
        _check_recurrence(parallel_recurrence, rng, (3, time, 4), atol=1e-5)


@public_check("12.2", "a long sequence (T = 1000) stays within 1e-4 of the loop in float32")
def _recurrence_long(parallel_recurrence):
    _check_recurrence(parallel_recurrence, np.random.default_rng(3), (2, 1000, 2), atol=1e-4)


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
    x, h, kernel, bias = _min_gru_case(np.random.default_rng(4))
    assert_shape(min_gru_step(x[:, 0], h, kernel, bias), h.shape, "the new state")


@public_check("12.3", "six steps from a given state equal MinGRU's parallel scan")
def _step_matches_scan(min_gru_step):
    _check_steps(min_gru_step, np.random.default_rng(5))
