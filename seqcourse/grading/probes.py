"""The kernel side of the probe + judge checks: all the grader's code that ever runs in a
student's kernel.

A judge (``seqcourse.grading.checks``) that cannot decide on plain data alone hands the
student's function to one of these probes (``public_checks.probe_with``). In a notebook the
probe runs right there. When grading, the kernel cannot import ``seqcourse.grading`` at all
(its file system view covers that folder, see ``sandbox``): at each probe call the grader
sends this module's source with the call, the kernel executes it in a fresh namespace and runs
the probe from there, so no probe exists in the kernel before its call — a student's cell
cannot replace or patch one beforehand. So this module imports only NumPy at the top, Keras,
TensorFlow and the course's own (non-grading) modules inside functions, and never
``seqcourse.grading``. A probe returns plain data, and the judge trusts nothing in it that it
cannot recompute.
"""

from __future__ import annotations

import re

import numpy as np


def _reraise_stub(err: Exception) -> None:
    """Raise ``err`` again if it is a released stub's "not attempted" error (so the exercise
    reads "not attempted", not "failed"); any other error is the probe's to report."""
    if isinstance(err, NotImplementedError) and "not attempted" in str(err):
        raise err


# ---------------------------------------------------------------- models (3.1, 5.2)


def model_run(model, inputs, load) -> dict:
    """Kernel side of a model probe: ``model``'s class, its outputs on each of ``inputs``, its
    weights and its config (``model.to_json()``, or why it has none), then its outputs with the
    weight arrays ``load`` (the grader's choice) loaded instead, or why they could not be. Plain
    data only. The judge rebuilds the model from the config and weights and runs it itself
    (``rebuilt_models``): the outputs sent here are the kernel's word and decide nothing."""
    import keras

    run = {"type": type(model).__name__, "is_model": isinstance(model, keras.Model)}
    if not run["is_model"]:
        return run
    run["outputs"] = [np.asarray(model(x)) for x in inputs]
    run["weights"] = [np.asarray(w) for w in model.get_weights()]
    try:
        run["config"] = model.to_json()
    except Exception as err:  # a subclassed model without get_config, say
        run["config_error"] = f"it has no config ({type(err).__name__}: {err})"[:300]
    return {**run, **loaded_outputs(model, inputs, load)}


def loaded_outputs(model, inputs, load) -> dict:
    """``{"loaded": model's outputs on each of inputs}`` after loading the weight arrays
    ``load``, or ``{"load_error": why they could not be loaded}`` (other sizes: the judge says
    which). Used in the kernel by :func:`model_run` and in the grader on the rebuilt model."""
    try:
        model.set_weights(load)
    except Exception as err:
        return {"load_error": f"{type(err).__name__}: {err}"[:300]}
    return {"loaded": [np.asarray(model(x)) for x in inputs]}


# ---------------------------------------------------------------- notebook 02: a step inside a layer (2.2, 2.3)


def layer_probe(step_function, kind: str, weights, sequences):
    """Kernel side of the layer checks of 2.2 and 2.3: ``step_function`` as the step of a
    ``keras.layers.RNN`` cell, run in a ``tf.function`` on ``sequences`` (batch, time,
    features) with ``weights``. Returns ``{"outputs", "gradients"}`` or ``{"error"}``."""
    import keras
    import tensorflow as tf

    from seqcourse.layers import ScratchGRUCell, ScratchLSTMCell

    class Cell(ScratchLSTMCell if kind == "lstm" else ScratchGRUCell):
        def step(self, inputs, states):
            args = (inputs, *states, self.kernel, self.recurrent_kernel, self.bias)
            if kind == "lstm":
                h, c = step_function(*args)
                return h, [h, c], {}
            h = step_function(*args)
            return h, [h], {}

    layer = keras.layers.RNN(Cell(weights[1].shape[0]), return_sequences=True)
    layer.build((None, None, sequences.shape[-1]))
    layer.set_weights([np.asarray(w, "float32") for w in weights])

    @tf.function
    def run(x):
        with tf.GradientTape() as tape:
            outputs = layer(x)
            total = tf.reduce_sum(outputs)
        return outputs, tape.gradient(total, layer.trainable_weights)

    try:
        outputs, gradients = run(tf.constant(sequences, tf.float32))
    except Exception as err:  # the student's step, traced into a graph
        _reraise_stub(err)
        return {"error": f"{type(err).__name__}: {_reason(err)}"[:300]}
    if any(g is None for g in gradients):
        return {"error": "no gradient reaches the weights (NumPy instead of keras.ops?)"}
    return {"outputs": np.asarray(outputs), "gradients": [np.asarray(g) for g in gradients]}


def _reason(err: Exception) -> str:
    """The line of a Keras/TensorFlow error that says what went wrong (not where)."""
    noise = (
        "File ",
        "\u2022",
        "Arguments received",
        "Exception encountered",
        "in user code",
        "raise ",
    )
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(err).splitlines()]
    lines = [line for line in lines if line and not line.startswith(noise)]
    return lines[-1] if lines else ""


# ---------------------------------------------------------------- notebook 03: models (3.1) and a traced gather (3.2)


def classifier_probe(build, sizes, batches, weights):
    """Kernel side of 3.1 and 5.2 (see :func:`~seqcourse.grading.public_checks.probe_with`):
    for ``bidirectional`` False then True, the class of ``build(*sizes, bidirectional=...)``,
    its weights and its outputs on each of ``batches``, then its outputs with ``weights[i]``
    loaded instead. Plain data only."""
    return [
        model_run(build(*sizes, bidirectional=bidirectional), batches, load)
        for bidirectional, load in zip((False, True), weights, strict=True)
    ]


def traced_probe(fn, outputs, mask):
    """Kernel side of 3.2: ``fn`` traced by ``tf.function`` for any batch and time, as inside
    a model, then run on ``outputs`` and ``mask``: its result, or the error as a string."""
    import tensorflow as tf

    traced = tf.function(
        fn,
        input_signature=[
            tf.TensorSpec([None, None, outputs.shape[-1]], tf.float32),
            tf.TensorSpec([None, None], tf.bool),
        ],
    )
    try:
        return np.asarray(traced(tf.constant(outputs, tf.float32), tf.constant(mask)))
    except Exception as err:  # NumPy on symbolic tensors, Python ints of unknown sizes...
        _reraise_stub(err)
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        name = type(err).__name__
        return f"{name}: {lines[-1].removeprefix(name + ': ') if lines else ''}"[:300]


# ---------------------------------------------------------------- notebook 04: sampling (4.2) and generation (4.3)


def sampler_probe(sample, requests, rng):
    """Kernel side of 4.2 (see :func:`~seqcourse.grading.public_checks.probe_with`): for each
    ``(logits, temperature, n)`` of ``requests``, ``n`` draws of ``sample(logits, temperature,
    rng)`` from the one generator ``rng``, as ``{"draws": [int arrays]}``; at the first value
    that is not an index, ``{"bad": its repr, "request": k}``."""
    draws = []
    for k, (logits, temperature, n) in enumerate(requests):
        got = np.empty(int(n), "int64")
        for i in range(int(n)):
            index = sample(np.array(logits, dtype="float64"), temperature, rng)
            if not isinstance(index, (int, np.integer)) or not 0 <= index < len(logits):
                return {"bad": repr(index)[:100], "request": k}
            got[i] = index
        draws.append(got)
    return {"draws": draws}


OFFSET = 1.5  # scale of the per-call offsets added to the logits


def language_model(sizes, recurrent: str = "GRU"):
    """Embedding(vocab, embed) -> ``recurrent``(units, return_sequences=True) -> Dense(vocab)."""
    import keras

    vocab, embed, units = sizes
    return keras.Sequential(
        [
            keras.Input((None,), dtype="int64"),
            keras.layers.Embedding(vocab, embed),
            getattr(keras.layers, recurrent)(units, return_sequences=True),
            keras.layers.Dense(vocab),
        ]
    )


def call_offsets(seed: int, vocab: int, calls: int) -> np.ndarray:
    """The offsets added to the logits of step calls 0, 1, ... (``(calls, vocab)``)."""
    return np.random.default_rng(seed).normal(size=(calls, vocab)) * OFFSET


def generation_probe(generate, sizes, recurrent, weights, requests):
    """Kernel side of 4.3 (see :func:`~seqcourse.grading.public_checks.probe_with`): the
    language model of ``sizes`` with ``weights``, stepped one id at a time, the n-th step's
    logits shifted by ``call_offsets(offset_seed, ...)[n]``; for each ``(prompt, length,
    temperature, seed, offset_seed)`` of ``requests``, ``generate(stepper, prompt, length,
    temperature, rng, sample)`` with ``rng`` seeded by ``seed`` and the course's sampler.
    Returns per request ``{"ids": int array, "steps": stepper.step calls}``."""
    from types import SimpleNamespace

    from seqcourse.decoding import RecurrentStepper
    from seqcourse.sampling import sample_with_temperature

    model = language_model(sizes, recurrent)
    model.set_weights(weights)
    stepper = RecurrentStepper(model)

    def counting(offset_seed):
        """The stepper with offsets, counting its step calls in a closure."""
        calls, offsets = [0], np.zeros((0, sizes[0]))

        def initial_states(batch_size):
            return stepper.initial_states(batch_size)

        def step(token_ids, states):
            nonlocal offsets
            if calls[0] >= len(offsets):  # a loop may call step any number of times
                offsets = call_offsets(offset_seed, sizes[0], 2 * len(offsets) + 64)
            logits, states = stepper.step(token_ids, states)
            shifted = np.asarray(logits, "float64") + offsets[calls[0]]
            calls[0] += 1
            return shifted, states

        return SimpleNamespace(initial_states=initial_states, step=step), calls

    replies = []
    for prompt, length, temperature, seed, offset_seed in requests:
        counted, calls = counting(offset_seed)
        rng = np.random.default_rng(seed)
        ids = generate(counted, list(prompt), length, temperature, rng, sample_with_temperature)
        replies.append({"ids": np.asarray(ids, "int64"), "steps": calls[0]})
    return replies


# ---------------------------------------------------------------- notebook 05: the masked loss (5.1)


def loss_probe(fn, y_true, logits, mask):
    """Kernel side of 5.1 (see :func:`~seqcourse.grading.public_checks.probe_with`):
    ``fn(y_true, logits, mask)`` on TensorFlow tensors, under a gradient tape. Returns
    ``{"loss", "accuracy", "gradient"}`` (arrays; gradient None if the loss does not depend
    on the logits) or ``{"bad": what fn returned}`` if that is not a pair."""
    import tensorflow as tf

    z = tf.constant(np.asarray(logits, "float32"))
    with tf.GradientTape() as tape:
        tape.watch(z)
        out = fn(tf.constant(y_true), z, tf.constant(mask))
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        return {
            "bad": f"{type(out).__name__} of length {len(out) if hasattr(out, '__len__') else '-'}"
        }
    loss, accuracy = out
    gradient = tape.gradient(loss, z) if tf.is_tensor(loss) else None
    return {
        "loss": np.asarray(loss, "float64"),
        "accuracy": np.asarray(accuracy, "float64"),
        "gradient": None if gradient is None else np.asarray(gradient, "float64"),
    }


# ---------------------------------------------------------------- any notebook: a function traced (6.1, 11.1)


def traced_call(fn, arrays, unknown, kwargs):
    """Kernel side of the "runs on symbolic tensors" checks (6.1, 11.1): ``fn(*arrays,
    **kwargs)`` inside a ``tf.function`` whose input ``i`` has unknown sizes on the axes
    ``unknown[i]`` (as when a Keras model calls it). Its result as arrays (a tuple or list of
    them for several outputs), as ``{"value": ...}``, or ``{"traced_error": the error's last
    line}``."""
    import tensorflow as tf

    arrays = [np.asarray(a) for a in arrays]
    specs = [
        tf.TensorSpec([None if axis in axes else d for axis, d in enumerate(a.shape)], a.dtype)
        for a, axes in zip(arrays, unknown, strict=True)
    ]
    try:
        out = tf.function(lambda *x: fn(*x, **kwargs), input_signature=specs)(*arrays)
    except Exception as err:  # the student's code may raise anything when traced
        _reraise_stub(err)
        return {"traced_error": ((str(err).strip().splitlines() or [""])[-1]).strip()[:300]}
    if isinstance(out, (tuple, list)):
        return {"value": [np.asarray(o) for o in out]}
    return {"value": np.asarray(out)}


# ---------------------------------------------------------------- notebook 07: one captioning step (7.1)


CALLED_THE_LAYER = (
    "exercise 7.1: compute the attention weights and the context yourself from the scores "
    "`parts.attention.scores(query, grid)`; do not call the attention layer"
)


class _ScoresOnly:
    """The attention ``parts`` gives the student's step: its ``scores(query, values)`` and
    nothing else. Not the layer (whose ``call`` computes the weights and the context the
    exercise asks for): the layer lives only in the closure of ``scores``."""

    __slots__ = ("scores",)

    def __init__(self, layer):
        def scores(query, values):
            return layer.scores(query, values)

        self.scores = scores

    def __call__(self, *args, **kwargs):
        raise RuntimeError(CALLED_THE_LAYER)

    def __getattr__(self, name):
        raise AttributeError(f"{name!r}: {CALLED_THE_LAYER}")


def _decoder_layers(w: dict):
    """The :class:`~seqcourse.decoding.DecoderLayers` of the weights ``w``, built in Keras; its
    attention gives only ``scores`` (the step must compute the weights and context)."""
    import keras

    from seqcourse.decoding import DecoderLayers
    from seqcourse.layers import AdditiveAttention

    vocab, embed = w["embedding"].shape
    units, features = w["recurrent_kernel"].shape[0], w["value_kernel"].shape[0]
    embedding = keras.layers.Embedding(vocab, embed)
    embedding.build((None,))
    cell = keras.layers.GRUCell(units)
    cell.build((None, embed))
    attention = AdditiveAttention(w["score_vector"].shape[0])
    attention.build((None, 1, units), (None, None, features))
    combine = keras.layers.Dense(w["combine_bias"].shape[0], activation="tanh")
    combine.build((None, units + features))
    logits = keras.layers.Dense(vocab)
    logits.build((None, w["combine_bias"].shape[0]))
    embedding.set_weights([w["embedding"]])
    cell.set_weights([w["kernel"], w["recurrent_kernel"], w["bias"]])
    attention.set_weights([w["query_kernel"], w["value_kernel"], w["score_vector"]])
    combine.set_weights([w["combine_kernel"], w["combine_bias"]])
    logits.set_weights([w["logits_kernel"], w["logits_bias"]])
    return DecoderLayers(embedding, cell, logits, attention=_ScoresOnly(attention), combine=combine)


def caption_step_probe(caption_step, weights, tokens, h, grid):
    """Kernel side of 7.1 (see :func:`~seqcourse.grading.public_checks.probe_with`): the
    student's ``caption_step`` on layers built from ``weights``, for each row of ``tokens``
    ``(steps, n)``, starting from ``{"h": h, "values": grid}`` and carrying the state it
    returns. Per step: the log-probabilities, the returned state's ``"h"`` and its keys (or
    what was returned instead). Plain data only."""
    parts = _decoder_layers(weights)
    state, steps = {"h": h, "values": grid}, []
    for previous in tokens:
        result = caption_step(parts, previous, state)
        if not (isinstance(result, tuple) and len(result) == 2):
            return steps + [{"returned": type(result).__name__}]
        log_probs, state = result
        step = {"log_probs": np.asarray(log_probs, dtype="float64")}
        steps.append(step)
        if not isinstance(state, dict):
            step["returned"] = f"a state of type {type(state).__name__}"
            break
        step["keys"] = sorted(str(key) for key in state)
        if "h" not in state or "values" not in state:
            break
        step["h"] = np.asarray(state["h"], dtype="float64")
    return steps


# ---------------------------------------------------------------- notebook 09: a frame model on every frame (9.1)


class _FrameModel:
    """The frame model of the checks: frames (n, h, w, c) -> tanh(flatten @ W) (n, features),
    in ``keras.ops``; ``calls`` lists the shape of each call's input (None: unknown)."""

    def __init__(self, w):
        self.w, self.calls = np.asarray(w, "float32"), []

    def __call__(self, frames):
        from keras import ops

        shape = [None if d is None else int(d) for d in frames.shape]
        self.calls.append(shape)
        if len(shape) != 4:
            raise ValueError(
                f"frame_model takes a batch of frames (n, height, width, channels); it was "
                f"called on shape {tuple(shape)}"
            )
        return ops.tanh(ops.matmul(ops.reshape(frames, (-1, self.w.shape[0])), self.w))


def per_frame_probe(apply_per_frame, w, clips, traced_clips):
    """Kernel side of 9.1 (see :func:`~seqcourse.grading.public_checks.probe_with`): for each
    batch of ``clips`` (eagerly) and for ``traced_clips`` (inside a ``tf.function`` whose clips
    have unknown batch and time), ``{"features": array, "calls": [shapes]}`` or, if it raised,
    ``{"error": its last line, "calls": [...]}``."""
    import tensorflow as tf

    def run(call, *args):
        model = _FrameModel(w)
        try:
            return {"features": np.asarray(call(model, *args)), "calls": model.calls}
        except Exception as err:  # the student's code may raise anything
            _reraise_stub(err)
            return {"error": ((str(err).strip().splitlines() or [""])[-1]).strip()[:300],
                    "calls": model.calls}  # fmt: skip

    replies = [run(apply_per_frame, np.asarray(c, "float32")) for c in clips]
    traced = np.asarray(traced_clips, "float32")
    spec = tf.TensorSpec((None, None, *traced.shape[2:]), tf.float32)
    replies.append(
        run(lambda model, c: tf.function(lambda x: apply_per_frame(model, x), [spec])(c), traced)
    )
    return replies


# ---------------------------------------------------------------- notebook 10: recursive forecasts (10.1)


class LinearStep:
    """The judge's one-step model: windows (batch, window) -> (batch,) next values."""

    def __init__(self, coefs, bias: float):
        self.coefs, self.bias = np.asarray(coefs, float), float(bias)

    def __call__(self, windows):
        windows = np.asarray(windows, float)
        if windows.shape[-1] != len(self.coefs):
            raise ValueError(
                f"the one-step model takes windows of the last {len(self.coefs)} values, got "
                f"an array of shape {windows.shape} (drop the oldest value when you append a "
                "prediction)"
            )
        return windows @ self.coefs + self.bias


def recursive_probe(forecast, series, origins, window, horizon, coefs, bias):
    """Kernel side of 10.1: the student's forecast with the judge's linear one-step model."""
    return forecast(LinearStep(coefs, bias), series, origins, window, horizon)


# ---------------------------------------------------------------- notebook 12: the parallel scan (12.2)


def _affine(earlier, later):
    """The probe's operator of h_t = a_t h_(t-1) + b_t (non-commutative)."""
    (a1, b1), (a2, b2) = earlier, later
    return a1 * a2, a2 * b1 + b2


def _sum(earlier, later):
    """The probe's second operator: prefix sums of a 1-tuple."""
    return (earlier[0] + later[0],)


_OPERATORS = {"affine": _affine, "sum": _sum}


def _scan_and_gradients(scan, operator, *elems):
    """``scan(operator, elems)`` and the gradients of its prefixes' sum with respect to
    ``elems``: what one training step of ``model.fit`` computes through the scan."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(elems)
        prefixes = tuple(scan(operator, tuple(elems)))
        total = sum(tf.reduce_sum(p) for p in prefixes)
    return prefixes, tape.gradient(total, elems)


def scan_probe(scan, cases):
    """Kernel side of 12.2 (see :func:`~seqcourse.grading.public_checks.probe_with`): for
    each ``(operator name, elems, traced)`` of ``cases``, ``scan(operator, elems)`` with the
    operator counting its calls — when ``traced``, inside a ``tf.function`` compiled by XLA,
    with its gradients, as ``model.fit`` runs it on a GPU. Returns per case
    ``{"prefixes": [arrays], "calls": int}``, or for a traced case that raised,
    ``{"prefixes": [], "calls": 0, "traced_error": str}``."""
    replies = []
    for name, elems, traced in cases:
        calls = []

        def operator(earlier, later, _apply=_OPERATORS[name], _calls=calls):
            _calls.append(1)
            return _apply(earlier, later)

        elems = tuple(np.asarray(e, "float32") for e in elems)
        if traced:
            import tensorflow as tf

            specs = [tf.TensorSpec(e.shape, tf.float32) for e in elems]
            run = tf.function(
                lambda *e: _scan_and_gradients(scan, operator, *e),
                input_signature=specs,
                jit_compile=True,
            )
            try:
                prefixes, _ = run(*elems)
            except Exception as err:  # the student's code may raise anything when traced
                _reraise_stub(err)
                first_line = (str(err).strip().splitlines() or [""])[-1]
                replies.append({"prefixes": [], "calls": 0, "traced_error": first_line[:300]})
                continue
        else:
            prefixes = scan(operator, elems)
        if not isinstance(prefixes, (tuple, list)):
            prefixes = [prefixes]
        replies.append({"prefixes": [np.asarray(p) for p in prefixes], "calls": len(calls)})
    return replies
