"""Public checks of every exercise against correct, wrong and unattempted answers."""

import keras
import numpy as np
import pytest
from test_checks_nb12 import odd_even_scan

from seqcourse.grading import check, run_public_checks
from seqcourse.grading.public_checks import format_report


# Reference answers, written here independently of the master notebook.
def cell_forward(x_t, h_prev, W_x, W_h, b):
    return np.tanh(x_t @ W_x + h_prev @ W_h + b)


def forward(xs, h0, W_x, W_h, b):
    states, h = [], h0
    for t in range(xs.shape[1]):
        h = cell_forward(xs[:, t], h, W_x, W_h, b)
        states.append(h)
    return np.stack(states, 1)


def step_backward(dh, x_t, h_prev, h_t, W_x, W_h):
    dz = dh * (1 - h_t**2)
    return dz @ W_x.T, dz @ W_h.T, x_t.T @ dz, h_prev.T @ dz, dz.sum(0)


def backward(xs, h0, hs, probs, targets, W_x, W_h, W_y, time_order=reversed, scale=1.0):
    d_logits = (probs - np.eye(probs.shape[-1])[targets]) * scale / targets.size
    d_out, dh = d_logits @ W_y.T, np.zeros_like(h0)
    grads = {"W_x": 0, "W_h": 0, "b": 0}
    for t in time_order(range(xs.shape[1])):
        h_prev = hs[:, t - 1] if t else h0
        _, dh, *step = step_backward(d_out[:, t] + dh, xs[:, t], h_prev, hs[:, t], W_x, W_h)
        grads = {k: g + s for (k, g), s in zip(grads.items(), step, strict=True)}
    return {**grads, "W_y": np.einsum("btu,btc->uc", hs, d_logits), "b_y": d_logits.sum((0, 1))}


def lstm_ops_step(x, h, c, W_x, W_h, b, order=(0, 1, 2, 3)):  # keras.ops: it must run in a layer
    from keras import ops

    blocks = ops.split(ops.matmul(x, W_x) + ops.matmul(h, W_h) + b, 4, axis=-1)
    i, f, g, o = (blocks[k] for k in order)
    c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
    return ops.sigmoid(o) * ops.tanh(c), c


def gru_ops_step(x, h, W_x, W_h, b, swap_z=False):
    from keras import ops

    xz, xr, xh = ops.split(ops.matmul(x, W_x) + b[0], 3, axis=-1)
    hz, hr, hh = ops.split(ops.matmul(h, W_h) + b[1], 3, axis=-1)
    z, r = ops.sigmoid(xz + hz), ops.sigmoid(xr + hr)
    keep = 1 - z if swap_z else z
    return keep * h + (1 - keep) * ops.tanh(xh + r * hh)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def clip(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    return [g * min(1.0, max_norm / norm) for g in grads], norm


def sample_t(logits, temperature, rng):
    z = np.asarray(logits, dtype="float64") / temperature
    p = np.exp(z - z.max())
    return int(rng.choice(len(p), p=p / p.sum()))


def bpc(logits, targets):
    z = np.asarray(logits, dtype="float64")
    z = z - z.max(axis=-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return float(-np.take_along_axis(log_p, targets[..., None], axis=-1).mean() / np.log(2))


def generate_ids(stepper, prompt_ids, length, temperature, rng, sample):
    ids, states = list(prompt_ids), stepper.initial_states(1)
    for token in ids:
        logits, states = stepper.step([token], states)
    while len(ids) < len(prompt_ids) + length:
        row = np.asarray(logits[0], dtype="float64")
        ids.append(int(np.argmax(row)) if temperature is None else sample(row, temperature, rng))
        logits, states = stepper.step(ids[-1:], states)
    return ids


def pad_and_mask(sequences):
    lengths = np.array([len(s) for s in sequences])
    mask = np.arange(lengths.max(initial=0))[None, :] < lengths[:, None]
    padded = np.zeros(mask.shape, int)
    padded[mask] = np.concatenate([np.asarray(s, int) for s in sequences])
    return padded, mask


def masked_mean(x, mask):
    x, mask = np.asarray(x, float), np.asarray(mask, bool)
    return np.stack([x[row][mask[row]].mean(axis=0) for row in range(len(x))])


def build_lstm_classifier(vocab_size, embedding_dim=32, units=32, bidirectional=False):
    import keras

    inputs = keras.Input((None,), dtype="int64")
    x = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True)(inputs)
    lstm = keras.layers.LSTM(units)
    x = (keras.layers.Bidirectional(lstm) if bidirectional else lstm)(x)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))


def last_real_step(outputs, mask):
    import keras

    ops = keras.ops
    index = ops.sum(ops.cast(mask, "int32"), axis=1) - 1
    picked = ops.take_along_axis(ops.convert_to_tensor(outputs), index[:, None, None], axis=1)
    return picked[:, 0]


def masked_loss_and_accuracy(y_true, logits, mask):
    import keras

    ops = keras.ops
    weights = ops.cast(mask, "float32")
    log_p = ops.log_softmax(ops.cast(logits, "float32"))
    picked = ops.take_along_axis(log_p, ops.cast(y_true, "int32")[..., None], axis=-1)[..., 0]
    right = ops.cast(ops.equal(ops.argmax(logits, axis=-1), ops.cast(y_true, "int32")), "float32")
    return -ops.sum(picked * weights) / ops.sum(weights), ops.sum(right * weights) / ops.sum(
        weights
    )


def build_tagger(vocab_size, n_tags, embedding_dim=64, units=64, bidirectional=True):
    import keras

    inputs = keras.Input((None,), dtype="int64")
    x = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True)(inputs)
    lstm = keras.layers.LSTM(units, return_sequences=True)
    x = (keras.layers.Bidirectional(lstm) if bidirectional else lstm)(x)
    return keras.Model(inputs, keras.layers.Dense(n_tags)(x))


def attention_weights(query, keys, w_query, w_key, v, mask):
    ops = keras.ops
    q = ops.matmul(query, w_query)[:, :, None, :]
    k = ops.matmul(keys, w_key)[:, None, :, :]
    scores = ops.where(mask[:, None, :], ops.sum(ops.tanh(q + k) * v, axis=-1), -np.inf)
    exp = ops.exp(scores - ops.max(scores, axis=-1, keepdims=True))
    return exp / ops.sum(exp, axis=-1, keepdims=True)


def edit_distance(a, b):
    d = np.zeros((len(a) + 1, len(b) + 1), int)
    d[:, 0], d[0, :] = np.arange(len(a) + 1), np.arange(len(b) + 1)
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i, j] = min(
                d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (a[i - 1] != b[j - 1])
            )
    return int(d[-1, -1])


def beam_step(beam_scores, log_probs, k):
    total = beam_scores[:, None] + log_probs
    order = np.argsort(-total, axis=None, kind="stable")[:k]
    parents, tokens = np.unravel_index(order, total.shape)
    return total[parents, tokens], parents, tokens


def caption_step(parts, tokens, state):
    import keras

    h, _ = parts.cell(parts.embedding(np.asarray(tokens)), [state["h"]])
    scores = parts.attention.scores(keras.ops.expand_dims(h, 1), state["values"])[:, 0]
    alpha = keras.ops.exp(scores - keras.ops.logsumexp(scores, axis=1, keepdims=True))
    context = keras.ops.sum(alpha[:, :, None] * state["values"], axis=1)
    logits = parts.logits(parts.combine(keras.ops.concatenate([h, context], axis=1)))
    return logits - keras.ops.logsumexp(logits, axis=1, keepdims=True), {**state, "h": h}


def clipped_precision(candidate, references, n):
    from collections import Counter

    def grams(words):
        return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))

    counts = grams(candidate)
    clipped = sum(min(c, max(grams(r)[g] for r in references)) for g, c in counts.items())
    return clipped, sum(counts.values())


def collapse(frame_ids, blank=0):
    import itertools

    return [int(key) for key, _ in itertools.groupby(frame_ids) if key != blank]


def ctc_log_likelihood(log_probs, labels, blank=0, skip_equal=False, ends=(-1, -2)):
    # probability space, rescaled at every frame; the keywords make the classic mistakes
    states = [blank] + [x for label in labels for x in (label, blank)]
    probs, log_scale = np.exp(np.asarray(log_probs, float)), 0.0
    alpha = np.zeros(len(states))
    alpha[:2] = probs[0, states[:2]]
    for t in range(1, len(probs)):
        total = np.sum(alpha)
        alpha, log_scale = alpha / total, log_scale + np.log(total)
        moved = alpha.copy()
        moved[1:] += alpha[:-1]
        for s in range(2, len(states)):
            if states[s] != blank and (skip_equal or states[s] != states[s - 2]):
                moved[s] += alpha[s - 2]
        alpha = moved * probs[t, states]
    return float(np.log(sum(alpha[e] for e in ends)) + log_scale)


def apply_per_frame(frame_model, clips):
    ops = keras.ops
    batch, time = ops.shape(clips)[0], ops.shape(clips)[1]
    features = frame_model(ops.reshape(clips, (-1, *clips.shape[2:])))
    return ops.reshape(features, (batch, time, -1))


def recursive_forecast(step, series, origins, window, horizon):
    rows = []
    for t in origins:
        history, row = list(series[t - window + 1 : t + 1]), []
        for _ in range(horizon):
            row.append(float(np.ravel(step(np.array([history[-window:]])))[0]))
            history.append(row[-1])
        rows.append(row)
    return np.array(rows)


def scaled_dot_product_attention(q, k, v, causal=False):
    from keras import ops

    scores = ops.matmul(q, ops.swapaxes(k, 1, 2)) / np.sqrt(q.shape[-1])
    if causal:
        past = ops.arange(ops.shape(q)[1])[:, None] >= ops.arange(ops.shape(k)[1])[None, :]
        scores = ops.where(past, scores, -1e9)
    weights = ops.softmax(scores, axis=-1)
    return ops.matmul(weights, v), weights


def sinusoidal_positions(length, depth):
    angles = np.arange(length)[:, None] / 10000 ** (np.arange(0, depth, 2) / depth)
    return np.stack([np.sin(angles), np.cos(angles)], axis=-1).reshape(length, depth)


def compose(earlier, later):
    (a1, b1), (a2, b2) = earlier, later
    return a1 * a2, a2 * b1 + b2


def min_gru_step(x, h, kernel, bias):
    projected = x @ kernel + bias
    z = 1 / (1 + np.exp(-projected[:, : h.shape[1]]))
    return (1 - z) * h + z * projected[:, h.shape[1] :]


CORRECT = [
    ("0.1", pad_and_mask),
    ("0.2", masked_mean),
    ("1.1", cell_forward),
    ("1.2", forward),
    ("1.3", step_backward),
    ("1.4", backward),
    ("2.1", clip),
    ("2.2", lstm_ops_step),
    ("2.3", gru_ops_step),
    ("3.1", build_lstm_classifier),
    ("3.2", last_real_step),
    ("4.1", bpc),
    ("4.2", sample_t),
    ("4.3", generate_ids),
    ("5.1", masked_loss_and_accuracy),
    ("5.2", build_tagger),
    ("6.1", attention_weights),
    ("6.2", edit_distance),
    ("6.3", beam_step),
    ("7.1", caption_step),
    ("7.2", clipped_precision),
    ("8.1", collapse),
    ("8.2", ctc_log_likelihood),
    ("9.1", apply_per_frame),
    ("10.1", recursive_forecast),
    ("11.1", scaled_dot_product_attention),
    ("11.2", sinusoidal_positions),
    ("12.1", compose),
    ("12.2", odd_even_scan),
    ("12.3", min_gru_step),
]


def stub(*args, **kwargs):  # a released stub keeps the exercise's signature
    raise NotImplementedError("Exercise: not attempted yet")


def test_every_exercise_of_the_masters_has_a_reference_answer_here():
    from pathlib import Path

    from seqcourse.grading.notebook_format import read_assignment

    masters = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
    ids = {ex for path in masters for ex in read_assignment(path).exercises}
    assert masters and ids == {ex for ex, _ in CORRECT}


@pytest.mark.parametrize(("ex", "fn"), CORRECT, ids=[ex for ex, _ in CORRECT])
def test_correct_answers_pass(ex, fn, capsys):
    results = run_public_checks(ex, fn)
    assert results and all(r.passed for r in results), [r.message for r in results if not r.passed]
    assert check(ex, fn) is None
    assert "all checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("ex", [ex for ex, _ in CORRECT])
def test_stub_is_not_attempted(ex, capsys):
    check(ex, stub)
    out = capsys.readouterr().out
    assert "not attempted yet" in out and "Traceback" not in out


def test_ignoring_the_previous_state_fails_on_values_not_shape():
    results = run_public_checks("1.1", lambda x, h, W_x, W_h, b: np.tanh(x @ W_x + b))
    assert [r.passed for r in results] == [True, False]
    assert "differs from the expected values" in results[1].message


def test_reversed_time_order_fails():
    results = run_public_checks("1.2", lambda xs, h0, *w: forward(xs, h0, *w)[:, ::-1])
    assert results[0].passed and not results[1].passed
    assert "hs differs from the expected values" in results[1].message


def test_wrong_shape_is_named():
    results = run_public_checks("1.2", lambda xs, h0, *w: forward(xs, h0, *w)[:, -1])
    assert "has shape (3, 5), expected (3, 6, 5)" in results[0].message


def test_missing_return_is_explained():
    results = run_public_checks("1.1", lambda *a: None)
    assert "did you forget a `return`" in results[0].message


def test_backward_with_wrong_tanh_derivative_fails():
    def wrong(dh, x_t, h_prev, h_t, W_x, W_h):
        return step_backward(dh / (1 - h_t**2) * (1 - h_t), x_t, h_prev, h_t, W_x, W_h)

    results = run_public_checks("1.3", wrong)
    assert results[0].passed and not results[1].passed


def test_backward_returning_too_few_arrays():
    results = run_public_checks("1.3", lambda *a: step_backward(*a)[:3])
    assert "tuple of 5 arrays" in results[0].message


def test_backward_of_the_sum_over_steps_is_named():
    results = run_public_checks("1.4", lambda *a: backward(*a, scale=a[4].shape[1]))
    assert results[0].passed and not results[1].passed
    assert "T = 6 times the gradient of the mean" in results[1].message


def test_backward_running_forward_in_time_is_named():
    results = run_public_checks("1.4", lambda *a: backward(*a, time_order=iter))
    assert results[0].passed and "loop running forward in time" in results[1].message


@pytest.mark.parametrize(
    "source",
    [
        "from seqcourse import numpy_rnn\nrnn_backward = numpy_rnn.rnn_backward\n",
        "def rnn_backward(*args):\n    from seqcourse.numpy_rnn import rnn_backward as ref\n"
        "    return ref(*args)\n",
    ],
    ids=["module", "renamed import"],
)
def test_backward_that_calls_the_course_reference_scores_zero(source):
    from seqcourse.grading.public_checks import banned_uses, load_replaces

    assert banned_uses(source, load_replaces("1.4"))


def test_backward_hidden_judge_uses_finite_differences():
    from seqcourse.grading.checks.nb01 import assert_bptt

    assert_bptt(backward, batch=2, time=5, seed=3)
    with pytest.raises(AssertionError, match="B = 2 times too large"):
        assert_bptt(lambda *a: backward(*a, scale=2), batch=2, time=5, seed=3)


def test_student_exception_is_reported_with_its_line():
    def broken(x_t, h_prev, W_x, W_h, b):
        return x_t @ W_h  # shapes do not align

    results = run_public_checks("1.1", broken)
    assert "your code raised ValueError" in results[0].message and "line" in results[0].message


def test_unknown_exercise_is_a_clear_error():
    with pytest.raises(KeyError, match="no exercise '9.9'"):
        check("9.9", cell_forward)


def test_report_counts_checks():
    text = format_report(
        "1.1", run_public_checks("1.1", lambda x, h, W_x, W_h, b: np.tanh(x @ W_x + b))
    )
    assert "[PASS]" in text and "[FAIL]" in text and "1 of 2 checks passed" in text


def test_last_real_step_off_by_one_is_diagnosed():
    import keras

    def at_length(outputs, mask):
        index = keras.ops.sum(keras.ops.cast(mask, "int32"), axis=1)
        index = keras.ops.minimum(index, keras.ops.shape(outputs)[1] - 1)
        return keras.ops.take_along_axis(outputs, index[:, None, None], axis=1)[:, 0]

    results = run_public_checks("3.2", at_length)
    assert [r.passed for r in results] == [True, False, False]
    assert "index length" in results[1].message


def test_lstm_with_gates_in_the_wrong_order_is_named():
    results = run_public_checks("2.2", lambda *a: lstm_ops_step(*a, order=(0, 1, 3, 2)))
    assert results[0].passed and not results[1].passed
    assert "as input, forget, output, candidate" in results[1].message


def test_lstm_written_in_numpy_fails_inside_a_layer():
    def numpy_step(x, h, c, W_x, W_h, b):
        i, f, g, o = np.split(x @ W_x + h @ W_h + b, 4, axis=-1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        return _sigmoid(o) * np.tanh(c), c

    results = run_public_checks("2.2", numpy_step)
    assert [r.passed for r in results] == [True, True, False]
    assert "Write it with keras.ops" in results[2].message


def test_gru_with_z_and_one_minus_z_swapped_is_named():
    results = run_public_checks("2.3", lambda *a: gru_ops_step(*a, swap_z=True))
    assert results[0].passed and not results[1].passed
    assert "(1 - z) * h_prev + z * candidate" in results[1].message


def test_gru_with_reset_before_the_product_fails():
    def reset_before(x, h, W_x, W_h, b):
        units = h.shape[1]
        xz, xr, xh = np.split(x @ W_x + b[0], 3, axis=-1)
        hz, hr, _ = np.split(h @ W_h + b[1], 3, axis=-1)
        z, r = _sigmoid(xz + hz), _sigmoid(xr + hr)
        candidate = np.tanh(xh + (r * h) @ W_h[:, 2 * units :] + b[1, 2 * units :])
        return z * h + (1 - z) * candidate

    results = run_public_checks("2.3", reset_before)
    assert results[0].passed and not results[1].passed and "reset_after=False" in results[1].message


def test_clipping_that_always_rescales_fails():
    def always(grads, max_norm):
        norm = np.sqrt(sum(np.sum(g**2) for g in grads))
        return [g * max_norm / norm for g in grads], norm

    results = run_public_checks("2.1", always)
    assert results[0].passed and not results[1].passed


def test_clipping_that_returns_only_the_list_is_explained():
    results = run_public_checks("2.1", lambda grads, max_norm: clip(grads, max_norm)[0])
    assert "tuple of 2" in results[0].message or "expected 3 clipped" in results[0].message


def test_sampling_that_ignores_the_temperature_fails():
    results = run_public_checks("4.2", lambda logits, t, rng: sample_t(logits, 1.0, rng))
    assert [r.passed for r in results] == [True, True, False, False]


def test_sampling_that_returns_a_float_fails_the_gate():
    results = run_public_checks("4.2", lambda logits, t, rng: float(sample_t(logits, t, rng)))
    assert results[0].gate and not any(r.passed for r in results)
    assert "expected an int index in [0, 6), got" in results[0].message


def test_sampling_checks_draw_fresh_logits_when_grading():
    from seqcourse.grading.checks.nb04 import _logits
    from seqcourse.grading.public_checks import set_salt

    fixed = _logits(2)[0]
    set_salt(12345)
    try:
        assert not np.allclose(_logits(2)[0], fixed)
        results = run_public_checks("4.2", sample_t)
    finally:
        set_salt(None)
    assert all(r.passed for r in results), [r.message for r in results]


def test_unstable_bits_per_character_fails_on_large_logits():
    def naive(logits, targets):
        p = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
        return float(-np.log2(np.take_along_axis(p, targets[..., None], axis=-1)).mean())

    with np.errstate(all="ignore"):
        results = run_public_checks("4.1", naive)
    assert results[0].passed and not results[1].passed


def test_bits_in_nats_fails():
    assert not run_public_checks("4.1", lambda lg, t: bpc(lg, t) * np.log(2))[0].passed


def test_classifier_without_mask_fails_the_padding_check():
    import keras

    def no_mask(vocab_size, embedding_dim=32, units=32, bidirectional=False):
        layer = keras.layers.LSTM(units)
        return keras.Sequential(
            [keras.Input((None,), dtype="int64"), keras.layers.Embedding(vocab_size, embedding_dim),
             keras.layers.Bidirectional(layer) if bidirectional else layer, keras.layers.Dense(1, activation="sigmoid")]
        )  # fmt: skip

    results = run_public_checks("3.1", no_mask)
    assert [r.passed for r in results] == [True, True, False]
    assert "padded batch" in results[2].message


def test_a_subclassed_model_with_made_up_outputs_cannot_be_rebuilt():
    import keras

    class Constant(keras.Model):  # layers of the right sizes; outputs that ignore them
        def __init__(self, vocab_size, embedding_dim, units, bidirectional):
            super().__init__()
            self.inner = build_lstm_classifier(vocab_size, embedding_dim, units, bidirectional)

        def call(self, ids):
            self.inner(ids)
            return keras.ops.full((keras.ops.shape(ids)[0], 1), 0.7)

    results = run_public_checks(
        "3.1", lambda v, e=32, u=32, bidirectional=False: Constant(v, e, u, bidirectional)
    )
    assert not any(r.passed for r in results)  # the checker runs the model, not the kernel
    assert "could not rebuild your model from its config" in results[0].message
    assert "Keras' own layers" in results[0].message


def test_classifier_with_another_layer_fails_the_size_gate():
    import keras

    def gru(vocab_size, embedding_dim=32, units=32, bidirectional=False):
        layer = keras.layers.GRU(units)
        return keras.Sequential(
            [keras.Input((None,), dtype="int64"), keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True),
             keras.layers.Bidirectional(layer) if bidirectional else layer, keras.layers.Dense(1, activation="sigmoid")]
        )  # fmt: skip

    results = run_public_checks("3.1", gru)
    assert results[0].gate and not any(r.passed for r in results)
    assert (
        "with bidirectional=False, expected 367 weights besides the embedding (50x8), found 295"
        in results[0].message
    )
    assert "LSTM(6)" in results[0].message

    results = run_public_checks("3.1", lambda *a, **k: "not a model")
    assert "should return a keras.Model, got str" in results[0].message


def test_hidden_test_helpers_judge_the_function_itself():
    from seqcourse.grading.checks.nb03 import assert_classifier
    from seqcourse.grading.checks.nb04 import draws
    from seqcourse.grading.public_checks import CheckFailed

    assert_classifier(build_lstm_classifier, vocab_size=30, embedding_dim=4, units=3, seed=7)
    got = draws(sample_t, np.zeros(4), 100.0, 400, np.random.default_rng(5))
    assert set(got) == {0, 1, 2, 3}
    with pytest.raises(CheckFailed, match="int index"):
        draws(lambda logits, t, rng: -1, np.zeros(4), 1.0, 5, np.random.default_rng(5))


def test_a_loss_that_counts_padding_is_diagnosed():
    import keras

    def with_padding(y_true, logits, mask):
        ops = keras.ops
        per_word = ops.sparse_categorical_crossentropy(y_true, logits, from_logits=True)
        right = ops.equal(ops.argmax(logits, axis=-1), ops.cast(y_true, "int32"))
        return ops.mean(per_word), ops.mean(ops.cast(right, "float32"))

    results = run_public_checks("5.1", with_padding)
    assert [r.passed for r in results] == [True, False, False, False]
    assert "counts the padded steps too" in results[1].message
    assert "counts the padded steps too" in results[2].message
    assert "changes with the logits at padded steps" in results[3].message


def _numpy_scores(query, keys, w_query, w_key, v):
    """(batch, Tq, T) additive scores in NumPy: right numbers, but not on symbolic tensors."""
    return np.tanh((query @ w_query)[:, :, None] + (keys @ w_key)[:, None]) @ v


def test_attention_that_ignores_the_mask_fails_only_the_mask_check():
    def unmasked(query, keys, w_query, w_key, v, mask):
        ops = keras.ops
        q = ops.matmul(query, w_query)[:, :, None, :]
        scores = ops.sum(ops.tanh(q + ops.matmul(keys, w_key)[:, None]) * v, axis=-1)
        exp = ops.exp(scores - ops.max(scores, axis=-1, keepdims=True))
        return exp / ops.sum(exp, axis=-1, keepdims=True)

    results = run_public_checks("6.1", unmasked)
    assert [r.passed for r in results] == [True, False, True, False]
    assert "padded steps" in results[1].message


def test_attention_without_max_subtraction_fails_the_stability_check():
    def unstable(query, keys, w_query, w_key, v, mask):
        exp = np.where(mask[:, None], np.exp(_numpy_scores(query, keys, w_query, w_key, v)), 0)
        return exp / exp.sum(axis=-1, keepdims=True)

    with np.errstate(over="ignore", invalid="ignore"):
        results = run_public_checks("6.1", unstable)
    assert [r.passed for r in results][:3] == [True, True, False]


def test_a_numpy_only_attention_fails_only_the_traced_check_and_says_why():
    def numpy_only(query, keys, w_query, w_key, v, mask):
        scores = np.where(mask[:, None], _numpy_scores(query, keys, w_query, w_key, v), -np.inf)
        exp = np.exp(scores - scores.max(axis=-1, keepdims=True))
        return exp / exp.sum(axis=-1, keepdims=True)

    results = run_public_checks("6.1", numpy_only)
    assert [r.passed for r in results] == [True, True, True, False]
    assert "inside tf.function" in results[3].message and "keras.ops" in results[3].message


def test_edit_distance_without_substitutions_fails():
    def indel_only(a, b):  # substitution costs 2 (delete + insert)
        d = np.arange(len(b) + 1)
        for i, x in enumerate(a, 1):
            new = [i]
            for j, y in enumerate(b, 1):
                new.append(min(d[j] + 1, new[j - 1] + 1, d[j - 1] + (0 if x == y else 2)))
            d = np.array(new)
        return int(d[-1])

    results = run_public_checks("6.2", indel_only)
    assert not results[0].passed and "kitten" in results[0].message


def test_beam_step_that_keeps_one_extension_per_parent_fails():
    def per_parent(beam_scores, log_probs, k):
        best = log_probs.argmax(1)
        total = beam_scores + log_probs.max(1)
        order = np.argsort(-total)[:k]
        return total[order], order, best[order]

    results = run_public_checks("6.3", per_parent)
    assert not any(r.passed for r in results)


def test_caption_step_with_an_unweighted_context_is_diagnosed():
    import keras

    def mean_context(parts, tokens, state):
        h, _ = parts.cell(parts.embedding(np.asarray(tokens)), [state["h"]])
        context = keras.ops.mean(state["values"], axis=1)
        logits = parts.logits(parts.combine(keras.ops.concatenate([h, context], axis=1)))
        return keras.ops.log_softmax(logits), {**state, "h": h}

    results = run_public_checks("7.1", mean_context)
    assert [r.passed for r in results] == [True, False, False]
    assert "plain mean of the grid" in results[1].message


def test_unclipped_precision_fails():
    def unclipped(candidate, references, n):
        grams = [tuple(candidate[i : i + n]) for i in range(len(candidate) - n + 1)]
        ref_grams = {tuple(r[i : i + n]) for r in references for i in range(len(r) - n + 1)}
        return sum(g in ref_grams for g in grams), len(grams)

    results = run_public_checks("7.2", unclipped)
    assert not results[0].passed and "(7, 7)" in results[0].message


def test_collapse_that_drops_blanks_before_merging_fails():
    def wrong_order(frame_ids, blank=0):
        kept = [int(i) for i in frame_ids if i != blank]
        return [x for k, x in enumerate(kept) if k == 0 or x != kept[k - 1]]

    results = run_public_checks("8.1", wrong_order)
    assert not results[0].passed and "keeps them apart" in results[0].message


def test_ctc_skipping_between_equal_labels_is_named():
    def skip_equal(log_probs, labels, blank=0):
        return ctc_log_likelihood(log_probs, labels, blank, skip_equal=True)

    results = run_public_checks("8.2", skip_equal)
    assert results[0].passed and not results[1].passed and "EQUAL labels" in results[1].message


def test_ctc_ending_in_the_final_blank_only_is_named():
    def final_blank(log_probs, labels, blank=0):
        return ctc_log_likelihood(log_probs, labels, blank, ends=(-1,))

    results = run_public_checks("8.2", final_blank)
    assert not results[1].passed and "also add the state of the last label" in results[1].message


def test_ctc_in_plain_probabilities_underflows_on_long_utterances():
    from seqcourse.grading.checks.nb08 import assert_ctc_log_likelihood

    def unscaled(log_probs, labels, blank=0):
        states = [blank] + [x for label in labels for x in (label, blank)]
        probs = np.exp(log_probs)
        alpha = np.zeros(len(states))
        alpha[:2] = probs[0, states[:2]]
        for t in range(1, len(probs)):
            moved = alpha.copy()
            moved[1:] += alpha[:-1]
            moved[2:] += np.where(np.array(states[2:]) != np.array(states[:-2]), alpha[:-2], 0)
            alpha = moved * probs[t, states]
        with np.errstate(divide="ignore"):
            return float(np.log(alpha[-1] + alpha[-2]))

    assert all(r.passed for r in run_public_checks("8.2", unscaled))  # short cases are fine
    with pytest.raises(AssertionError, match="underflow"):
        assert_ctc_log_likelihood(unscaled, seed=1)


def test_per_frame_by_a_loop_over_frames_fails_the_fold_and_the_traced_checks():
    def loop(frame_model, clips):
        frames = [frame_model(clips[:, t]) for t in range(clips.shape[1])]
        return keras.ops.stack(frames, axis=1)

    results = run_public_checks("9.1", loop)
    assert [r.passed for r in results] == [True, True, False, False]
    assert "a loop over frames" in results[2].message
    assert "unknown batch and time" in results[3].message


def test_per_frame_unfolded_time_major_is_named():
    def time_major(frame_model, clips):
        ops = keras.ops
        batch, time = clips.shape[:2]
        frames = ops.reshape(ops.transpose(clips, (1, 0, 2, 3, 4)), (-1, *clips.shape[2:]))
        return ops.reshape(frame_model(frames), (batch, time, -1))

    results = run_public_checks("9.1", time_major)
    assert results[0].passed and not results[1].passed
    assert "unfold in the order you folded" in results[1].message


def test_per_frame_in_numpy_fails_only_the_traced_check():
    def numpy_only(frame_model, clips):
        clips = np.asarray(clips)
        batch, time = clips.shape[:2]
        features = frame_model(clips.reshape(batch * time, *clips.shape[2:]))
        return np.asarray(features).reshape(batch, time, -1)

    results = run_public_checks("9.1", numpy_only)
    assert [r.passed for r in results] == [True, True, True, False]


def test_per_frame_on_the_whole_clip_fails_the_gate():
    def whole_clip(frame_model, clips):  # passes 5-D clips: the frame model refuses them
        return frame_model(clips)

    results = run_public_checks("9.1", whole_clip)
    assert results[0].gate and not results[0].passed
    assert "(n, height, width, channels)" in results[0].message


def test_recursive_forecast_feeding_back_the_truth_fails():
    def truth(step, series, origins, window, horizon):
        return np.stack(
            [[step(series[None, t + k - window + 1 : t + k + 1])[0] for k in range(horizon)]
             for t in origins]
        )  # fmt: skip

    results = run_public_checks("10.1", truth)
    assert [r.passed for r in results] == [True, True, False]
    assert "true values" in results[2].message


def test_recursive_forecast_from_a_window_shifted_by_one_fails():
    def late(step, series, origins, window, horizon):
        return recursive_forecast(step, series, np.asarray(origins) + 1, window, horizon)

    def early(step, series, origins, window, horizon):
        return recursive_forecast(step, series, np.asarray(origins) - 1, window, horizon)

    for wrong, where in [(late, "after the origin"), (early, "before the origin")]:
        results = run_public_checks("10.1", wrong)
        assert results[0].passed and not results[1].passed and where in results[1].message


def test_recursive_forecast_that_never_drops_the_oldest_value_is_told_so():
    def growing(step, series, origins, window, horizon):
        windows = np.stack([series[t - window + 1 : t + 1] for t in origins])
        for _ in range(horizon):
            windows = np.concatenate([windows, step(windows)[:, None]], axis=1)
        return windows[:, window:]

    results = run_public_checks("10.1", growing)
    assert not any(r.passed for r in results) and "drop the oldest" in results[0].message


def test_mean_over_all_steps_fails_the_masked_mean():
    results = run_public_checks("0.2", lambda x, mask: np.asarray(x).mean(axis=1))
    assert not any(r.passed for r in results)


def test_pre_padding_fails():
    import keras

    results = run_public_checks(
        "0.1", lambda seqs: (keras.utils.pad_sequences(seqs), keras.utils.pad_sequences(seqs) > 0)
    )
    assert not any(r.passed for r in results)
