"""Public checks of every exercise against correct, wrong and unattempted answers."""

import numpy as np
import pytest

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


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def lstm_step(x, h, c, W_x, W_h, b):
    i, f, g, o = np.split(x @ W_x + h @ W_h + b, 4, axis=-1)
    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    return _sigmoid(o) * np.tanh(c), c


def gru_step(x, h, W_x, W_h, b):
    xz, xr, xh = np.split(x @ W_x + b[0], 3, axis=-1)
    hz, hr, hh = np.split(h @ W_h + b[1], 3, axis=-1)
    z, r = _sigmoid(xz + hz), _sigmoid(xr + hr)
    return z * h + (1 - z) * np.tanh(xh + r * hh)


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


def review_pair_accuracy(p_first, p_second, labels_first):
    first = (np.ravel(p_first) >= 0.5).astype(int)
    second = (np.ravel(p_second) >= 0.5).astype(int)
    labels = np.ravel(labels_first)
    return float(np.mean((first == labels) & (second == 1 - labels)))


def masked_token_accuracy(y_true, y_pred, mask):
    return float(np.mean(np.asarray(y_true)[mask] == np.asarray(y_pred)[mask]))


def restore_text(words, punctuation, capital):
    out = []
    for word, mark, cap in zip(words, punctuation, capital, strict=True):
        out.append((word[:1].upper() + word[1:] if cap else word) + ["", ",", ".", "?"][mark])
    return " ".join(out)


def attention_weights(query, keys, w_query, w_key, v, mask):
    scores = np.tanh(query @ w_query + keys @ w_key) @ v
    exp = np.zeros_like(scores)
    exp[mask] = np.exp(scores[mask] - scores[mask].max())
    return exp / exp.sum()


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


def ids_to_caption(ids, id_to_word):
    ids = [int(i) for i in ids]
    ids = ids[: ids.index(2)] if 2 in ids else ids
    return " ".join(id_to_word[i] for i in ids if i > 2)


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


def error_rate(hypotheses, references, distance):
    return float(
        sum(distance(h, r) for h, r in zip(hypotheses, references, strict=True))
        / sum(len(r) for r in references)
    )


def reverse_in_time(clips):
    return np.flip(np.asarray(clips), axis=1).copy()


def clip_pair_accuracy(y_true, y_pred, pairs):
    keep = [i for i, y in enumerate(y_true) if any(y in pair for pair in pairs)]
    return float(np.mean([y_true[i] == y_pred[i] for i in keep]))


def make_windows(series, window, horizon):
    series = np.asarray(series)
    n = len(series) - window - horizon + 1
    inputs = np.array([series[i : i + window] for i in range(n)])
    targets = np.array([series[i + window : i + window + horizon] for i in range(n)])
    return inputs, targets


def seasonal_naive_mae(series, origins, period):
    series = np.asarray(series, float)
    return float(np.mean([abs(series[t + 1] - series[t + 1 - period]) for t in origins]))


CORRECT = [
    ("0.1", pad_and_mask),
    ("0.2", masked_mean),
    ("1.1", cell_forward),
    ("1.2", forward),
    ("1.3", step_backward),
    ("2.1", lstm_step),
    ("2.2", gru_step),
    ("2.3", clip),
    ("3.1", build_lstm_classifier),
    ("3.2", review_pair_accuracy),
    ("4.1", sample_t),
    ("4.2", bpc),
    ("5.1", masked_token_accuracy),
    ("5.2", restore_text),
    ("6.1", attention_weights),
    ("6.2", edit_distance),
    ("6.3", beam_step),
    ("7.1", ids_to_caption),
    ("7.2", clipped_precision),
    ("8.1", collapse),
    ("8.2", error_rate),
    ("9.1", reverse_in_time),
    ("9.2", clip_pair_accuracy),
    ("10.1", make_windows),
    ("10.2", seasonal_naive_mae),
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


def test_pair_accuracy_that_counts_single_reviews_fails():
    def per_review(p_first, p_second, labels_first):
        first = (np.ravel(p_first) >= 0.5) == (np.ravel(labels_first) == 1)
        second = (np.ravel(p_second) >= 0.5) == (np.ravel(labels_first) == 0)
        return float(np.mean(np.r_[first, second]))  # 6 of 8 reviews, but only 2 of 4 pairs

    results = run_public_checks("3.2", per_review)
    assert not results[0].passed and "you gave 0.75, expected 0.5" in results[0].message


def test_lstm_with_gates_in_the_wrong_order_fails():
    def swapped(x, h, c, W_x, W_h, b):
        f, i, g, o = np.split(x @ W_x + h @ W_h + b, 4, axis=-1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        return _sigmoid(o) * np.tanh(c), c

    results = run_public_checks("2.1", swapped)
    assert results[0].passed and not results[1].passed and "c_t differs" in results[1].message


def test_gru_with_reset_before_the_product_fails():
    def reset_before(x, h, W_x, W_h, b):
        units = h.shape[1]
        xz, xr, xh = np.split(x @ W_x + b[0], 3, axis=-1)
        hz, hr, _ = np.split(h @ W_h + b[1], 3, axis=-1)
        z, r = _sigmoid(xz + hz), _sigmoid(xr + hr)
        candidate = np.tanh(xh + (r * h) @ W_h[:, 2 * units :] + b[1, 2 * units :])
        return z * h + (1 - z) * candidate

    results = run_public_checks("2.2", reset_before)
    assert results[0].passed and not results[1].passed and "h_t differs" in results[1].message


def test_clipping_that_always_rescales_fails():
    def always(grads, max_norm):
        norm = np.sqrt(sum(np.sum(g**2) for g in grads))
        return [g * max_norm / norm for g in grads], norm

    results = run_public_checks("2.3", always)
    assert results[0].passed and not results[1].passed


def test_clipping_that_returns_only_the_list_is_explained():
    results = run_public_checks("2.3", lambda grads, max_norm: clip(grads, max_norm)[0])
    assert "tuple of 2" in results[0].message or "expected 3 clipped" in results[0].message


def test_sampling_that_ignores_the_temperature_fails():
    results = run_public_checks("4.1", lambda logits, t, rng: sample_t(logits, 1.0, rng))
    assert [r.passed for r in results] == [True, True, False, False]


def test_sampling_that_returns_a_float_fails_the_gate():
    results = run_public_checks("4.1", lambda logits, t, rng: float(sample_t(logits, t, rng)))
    assert results[0].gate and not any(r.passed for r in results)
    assert "expected an int index in [0, 6), got" in results[0].message


def test_sampling_checks_draw_fresh_logits_when_grading():
    from seqcourse.grading.checks.nb04 import _logits
    from seqcourse.grading.public_checks import set_salt

    fixed = _logits(2)[0]
    set_salt(12345)
    try:
        assert not np.allclose(_logits(2)[0], fixed)
        results = run_public_checks("4.1", sample_t)
    finally:
        set_salt(None)
    assert all(r.passed for r in results), [r.message for r in results]


def test_unstable_bits_per_character_fails_on_large_logits():
    def naive(logits, targets):
        p = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
        return float(-np.log2(np.take_along_axis(p, targets[..., None], axis=-1)).mean())

    with np.errstate(all="ignore"):
        results = run_public_checks("4.2", naive)
    assert results[0].passed and not results[1].passed


def test_bits_in_nats_fails():
    assert not run_public_checks("4.2", lambda lg, t: bpc(lg, t) * np.log(2))[0].passed


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


def test_classifier_with_made_up_outputs_fails_on_the_rebuilt_model():
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
    assert [r.passed for r in results] == [True, False, False]
    assert "rebuilt with your model's weights" in results[1].message


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


def test_accuracy_that_counts_padding_fails():
    results = run_public_checks(
        "5.1", lambda t, p, m: float(np.mean(np.asarray(t) == np.asarray(p)))
    )
    assert not results[0].passed and not results[1].passed


def test_restore_that_forgets_capitals_fails():
    results = run_public_checks(
        "5.2",
        lambda w, p, c: " ".join(x + ["", ",", ".", "?"][q] for x, q in zip(w, p, strict=True)),
    )
    assert not results[0].passed and "expected" in results[0].message


def _softmax_weights(query, keys, w_query, w_key, v, mask):
    scores = np.tanh(query @ w_query + keys @ w_key) @ v
    exp = np.exp(scores - scores.max())
    return exp / exp.sum()


def test_attention_that_ignores_the_mask_fails_only_the_mask_check():
    results = run_public_checks("6.1", _softmax_weights)
    assert [r.passed for r in results] == [True, False, True]


def test_attention_without_max_subtraction_fails_the_stability_check():
    def unstable(query, keys, w_query, w_key, v, mask):
        exp = np.where(mask, np.exp(np.tanh(query @ w_query + keys @ w_key) @ v), 0.0)
        return exp / exp.sum()

    with np.errstate(over="ignore", invalid="ignore"):
        results = run_public_checks("6.1", unstable)
    assert [r.passed for r in results] == [True, True, False]


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


def test_caption_that_keeps_words_after_the_end_token_fails():
    results = run_public_checks(
        "7.1", lambda ids, words: " ".join(words[int(i)] for i in ids if int(i) > 2)
    )
    assert not results[0].passed and "end token" in results[0].message


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


def test_mean_of_per_utterance_rates_fails():
    def mean_of_ratios(hypotheses, references, distance):
        return float(
            np.mean([distance(h, r) / len(r) for h, r in zip(hypotheses, references, strict=True)])
        )

    results = run_public_checks("8.2", mean_of_ratios)
    assert not results[0].passed and "error rate differs" in results[0].message


def test_reversing_the_wrong_axis_fails():
    results = run_public_checks("9.1", lambda clips: np.asarray(clips)[::-1].copy())
    assert not results[0].passed and "axis 1" in results[0].message


def test_plain_accuracy_instead_of_pair_accuracy_fails():
    results = run_public_checks(
        "9.2", lambda t, p, pairs: float(np.mean(np.asarray(t) == np.asarray(p)))
    )
    assert not results[0].passed and "accuracy on the pair classes differs" in results[0].message


def test_windows_with_the_target_inside_the_input_fail():
    def overlapping(series, window, horizon):
        series = np.asarray(series)
        origins = np.arange(window - 1, len(series) - horizon)
        return (np.stack([series[t - window + 1 : t + 1] for t in origins]),
                np.stack([series[t : t + horizon] for t in origins]))  # fmt: skip

    results = run_public_checks("10.1", overlapping)
    assert not results[0].passed and not results[1].passed


def test_seasonal_naive_with_the_wrong_lag_fails():
    def lag_one(series, origins, period):
        series, origins = np.asarray(series), np.asarray(origins)
        return float(np.mean(np.abs(series[origins + 1] - series[origins])))

    results = run_public_checks("10.2", lag_one)
    assert not any(r.passed for r in results)


def test_mean_over_all_steps_fails_the_masked_mean():
    results = run_public_checks("0.2", lambda x, mask: np.asarray(x).mean(axis=1))
    assert not any(r.passed for r in results)


def test_pre_padding_fails():
    import keras

    results = run_public_checks(
        "0.1", lambda seqs: (keras.utils.pad_sequences(seqs), keras.utils.pad_sequences(seqs) > 0)
    )
    assert not any(r.passed for r in results)
