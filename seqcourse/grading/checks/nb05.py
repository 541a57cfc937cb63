"""Public checks of notebook 05 (sequence tagging). Oracles of 5.1: Keras' sparse cross-entropy
and accuracy with the mask as sample weights, the analytic gradient of a softmax cross-entropy,
and brute-force loops over the tokens (hidden tests). Oracle of 5.2: Keras, the requested
tagger rebuilt with the student's model's weights."""

from __future__ import annotations

import math

import numpy as np

from seqcourse.grading.checks.nb03 import ObservedModels, embedding_lstm
from seqcourse.grading.probes import loss_probe
from seqcourse.grading.public_checks import (
    CheckFailed,
    assert_close,
    fresh_rng,
    probe_with,
    public_check,
    replaces,
)

# ---------------------------------------------------------------- 5.1 masked_loss_and_accuracy
#
# Probe (in the student's kernel): call the function on TensorFlow tensors, as a training step
# does, and return the loss, the accuracy and the gradient of the loss in the logits. Judge
# (here): Keras' cross-entropy and accuracy weighted by the mask, the analytic gradient
# (softmax - one-hot) / real tokens, and the values the classic mistakes give.

replaces(
    "5.1",
    "SparseCategoricalCrossentropy",
    "SparseCategoricalAccuracy",
    "Accuracy",
    "masked_loss_and_accuracy",
)

N_TAGS, BATCH, TIME = 5, 6, 9
ATOL = 1e-5  # float32 sums of 50-odd terms


def tagging_batch(seed: int, n_tags: int = N_TAGS, batch: int = BATCH, time: int = TIME):
    """Fresh ``(y_true, logits, mask)``: lengths 1..time (one row full, one of length 1), tag 0
    frequent (as in the notebook, where it is also the padding's label), logits that are right
    about 60% of the time."""
    rng = fresh_rng(seed)
    lengths = rng.integers(1, time + 1, size=batch)
    lengths[:2] = time, 1
    mask = np.arange(time)[None, :] < lengths[:, None]
    y_true = np.where(rng.random((batch, time)) < 0.4, 0, rng.integers(0, n_tags, (batch, time)))
    y_true = np.where(mask, y_true, 0).astype("int32")
    logits = rng.normal(size=(batch, time, n_tags)) * 1.5
    logits[np.arange(batch)[:, None], np.arange(time)[None, :], y_true] += 1.5
    return y_true, logits.astype("float32"), mask


def _observe_loss(fn, y_true, logits, mask) -> dict:
    reply = probe_with(fn, loss_probe, y_true, logits, mask)
    if type(reply) is dict and type(reply.get("bad")) is str:
        raise CheckFailed(f"expected a pair (loss, accuracy), got a {reply['bad'][:80]}")
    ok = type(reply) is dict and all(type(reply.get(k)) is np.ndarray for k in ("loss", "accuracy"))
    ok = ok and (reply.get("gradient") is None or type(reply["gradient"]) is np.ndarray)
    if not ok:
        raise CheckFailed("the function could not be probed: its probe sent back malformed data")
    for key in ("loss", "accuracy"):
        if reply[key].shape != ():
            raise CheckFailed(
                f"the {key} should be one number (a scalar), got shape {reply[key].shape}: "
                "average over the real tokens of the whole batch"
            )
    return reply


def _cross_entropy(y_true, logits) -> np.ndarray:
    """Keras' per-token cross-entropy, (batch, time)."""
    import keras

    per_token = keras.losses.sparse_categorical_crossentropy(y_true, logits, from_logits=True)
    return np.asarray(per_token, "float64")


def _keras_loss(y_true, logits, mask) -> float:
    """Keras' cross-entropy summed with the mask as sample weight, over the real tokens."""
    import keras

    total = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    return float(total(y_true, logits, sample_weight=mask.astype("float32"))) / mask.sum()


def _keras_accuracy(y_true, logits, mask) -> float:
    import keras

    metric = keras.metrics.SparseCategoricalAccuracy()
    metric.update_state(y_true, logits, sample_weight=mask.astype("float32"))
    return float(metric.result())


def _loss_mistakes(y_true, logits, mask) -> dict[str, float]:
    """What the classic wrong losses give on this batch, and what each one did."""
    ce = _cross_entropy(y_true, logits)
    real = ce * mask
    return {
        "counts the padded steps too (mean over every position)": ce.mean(),
        "divides by batch x time instead of the number of real tokens": real.sum() / mask.size,
        "returns the sum over the real tokens: divide by their number": real.sum(),
        "averages each sentence, then the sentences: a real token of a short sentence then "
        "weighs more than one of a long sentence": np.mean(real.sum(1) / mask.sum(1)),
    }


def _diagnose(got: float, expected: float, mistakes: dict[str, float], what: str) -> None:
    if abs(got - expected) <= ATOL * max(1.0, abs(expected)):
        return
    for mistake, value in mistakes.items():
        if abs(got - value) <= ATOL * max(1.0, abs(value)):
            raise CheckFailed(f"the {what} is {got:.6g}, expected {expected:.6g}: it {mistake}")
    assert_close(got, expected, f"the {what}", atol=ATOL * max(1.0, abs(expected)))


def _check_loss(fn, seed: int) -> None:
    y_true, logits, mask = tagging_batch(seed)
    got = _observe_loss(fn, y_true, logits, mask)
    expected = _keras_loss(y_true, logits, mask)
    _diagnose(float(got["loss"]), expected, _loss_mistakes(y_true, logits, mask), "loss")


def _check_accuracy(fn, seed: int) -> None:
    y_true, logits, mask = tagging_batch(seed)
    got = float(_observe_loss(fn, y_true, logits, mask)["accuracy"])
    right = np.argmax(logits, -1) == y_true
    mistakes = {
        "counts the padded steps too": right.mean(),
        "divides by batch x time instead of the number of real tokens": (right & mask).mean(),
    }
    _diagnose(got, _keras_accuracy(y_true, logits, mask), mistakes, "accuracy")


def _check_gradient(fn, seed: int) -> None:
    y_true, logits, mask = tagging_batch(seed)
    gradient = _observe_loss(fn, y_true, logits, mask)["gradient"]
    if gradient is None:
        raise CheckFailed(
            "the loss has no gradient in the logits on TensorFlow tensors: compute it with "
            "keras.ops (not NumPy), so that training can differentiate it"
        )
    z = logits.astype("float64")
    softmax = np.exp(z - z.max(-1, keepdims=True))
    softmax /= softmax.sum(-1, keepdims=True)
    expected = (softmax - np.eye(N_TAGS)[y_true]) * mask[..., None] / mask.sum()
    if np.abs(gradient[~mask]).max() > 1e-7:
        raise CheckFailed("the loss changes with the logits at padded steps: mask them out")
    assert_close(
        gradient,
        expected,
        "the gradient of the loss in the logits, compared with (softmax - one-hot) / real tokens,",
        atol=1e-6,
    )


def assert_masked_loss(fn, seed: int = 0) -> None:
    """Hidden-test judge of 5.1: loss and accuracy against loops over the tokens (log-sum-exp
    in math.fsum), and invariants: new values at padded steps, or more padding, change
    nothing; a full mask gives the plain means. CheckFailed if any fails."""
    y_true, logits, mask = tagging_batch(seed, n_tags=7, batch=5, time=11)
    brute_loss, brute_right, real = [], 0, 0
    for b, t in zip(*np.nonzero(mask), strict=True):
        z = [float(v) for v in logits[b, t]]
        top = max(z)
        log_sum = top + math.log(math.fsum(math.exp(v - top) for v in z))
        brute_loss.append(log_sum - z[y_true[b, t]])
        brute_right += int(max(range(len(z)), key=z.__getitem__) == y_true[b, t])
        real += 1
    got = _observe_loss(fn, y_true, logits, mask)
    assert_close(got["loss"], math.fsum(brute_loss) / real, "the loss (brute force)", atol=ATOL)
    assert_close(got["accuracy"], brute_right / real, "the accuracy (brute force)", atol=1e-6)

    noise = fresh_rng(seed + 1).normal(size=logits.shape).astype("float32") * 9
    noisy = np.where(mask[..., None], logits, noise)

    def pad(a):
        return np.pad(a, [(0, 0), (0, 4)] + [(0, 0)] * (a.ndim - 2))

    for what, args in [
        ("new logits at padded steps", (y_true, noisy, mask)),
        ("four more padded steps", (pad(y_true), pad(logits), pad(mask))),
    ]:
        again = _observe_loss(fn, *args)
        for key in ("loss", "accuracy"):
            assert_close(again[key], got[key], f"the {key} with {what}", atol=ATOL)

    full = np.ones_like(mask)
    plain = _observe_loss(fn, y_true, logits, full)
    assert_close(
        plain["loss"], _cross_entropy(y_true, logits).mean(), "the loss, no padding", atol=ATOL
    )
    assert_close(
        plain["accuracy"], np.mean(np.argmax(logits, -1) == y_true), "the accuracy, no padding"
    )


@public_check("5.1", "returns a pair of scalars (loss, accuracy)", gate=True)
def _loss_form(masked_loss_and_accuracy):
    _observe_loss(masked_loss_and_accuracy, *tagging_batch(1))


@public_check(
    "5.1",
    "the loss is the mean cross-entropy over the real tokens (Keras' cross-entropy with the "
    "mask as sample weight, divided by the number of real tokens)",
)
def _loss_value(masked_loss_and_accuracy):
    _check_loss(masked_loss_and_accuracy, seed=2)


@public_check("5.1", "the accuracy counts the real tokens only (Keras' metric with the mask)")
def _accuracy_value(masked_loss_and_accuracy):
    _check_accuracy(masked_loss_and_accuracy, seed=3)


@public_check(
    "5.1",
    "trains: on TensorFlow tensors its gradient in the logits is (softmax - one-hot) / real "
    "tokens, and 0 at padded steps",
)
def _loss_gradient(masked_loss_and_accuracy):
    _check_gradient(masked_loss_and_accuracy, seed=4)


# ---------------------------------------------------------------- 5.2 build_tagger
#
# Probe: nb03's model probe (the student's builder for bidirectional False and True, its
# weights and outputs, then outputs with weights the grader chose). Judge: the requested
# tagger rebuilt here with the same weights; real steps must not see the padding.

replaces("5.2", "build_tagger")  # the course's reference, seqcourse.models.build_tagger

VOCAB, TAGS, EMBED, UNITS = 40, 5, 6, 4
TAGGER_TIME, TAGGER_PADDING = 7, 5
TAGGER_ATOL = 2e-5


def _tagger(sizes, bidirectional: bool):
    """The model exercise 5.2 asks for, built by the judge."""
    import keras

    vocab, n_tags, embed, units = sizes
    head = keras.layers.Dense(n_tags)
    return embedding_lstm(vocab, embed, units, bidirectional, sequences=True, head=head)


def _describe_tagger(sizes, bidirectional: bool) -> str:
    vocab, n_tags, embed, units = sizes
    lstm = f"LSTM({units}, return_sequences=True)"
    lstm = f"Bidirectional({lstm})" if bidirectional else lstm
    return f"Embedding({vocab}, {embed}, mask_zero=True) -> {lstm} -> Dense({n_tags})"


def _observe_tagger(build, sizes, seed: int) -> tuple[ObservedModels, np.ndarray]:
    """Probe on sentences of lengths 1..TIME padded with 0, then the same padded 5 longer."""
    rng = fresh_rng(seed)
    lengths = rng.integers(1, TAGGER_TIME + 1, size=4)
    lengths[0] = TAGGER_TIME
    mask = np.arange(TAGGER_TIME)[None, :] < lengths[:, None]
    ids = np.where(mask, rng.integers(1, sizes[0], size=mask.shape), 0).astype("int64")
    batches = [ids, np.pad(ids, [(0, 0), (0, TAGGER_PADDING)])]
    return ObservedModels(build, sizes, _tagger, batches, rng), mask


def _tagger_sizes(seen: ObservedModels) -> None:
    seen.weight_shapes("build_tagger", lambda b: _describe_tagger(seen.sizes, b))


def _tagger_outputs(seen: ObservedModels, mask) -> None:
    try:
        _tagger_sizes(seen)
    except CheckFailed:
        raise CheckFailed("not compared: the model is not of the requested sizes") from None
    n_tags = seen.sizes[1]
    for bidirectional, run, judge, load in seen.settings():
        out = np.asarray(run["outputs"][0], "float64")
        what = f"the logits (bidirectional={bidirectional})"
        if out.shape != (*mask.shape, n_tags):
            hint = ": one output per word needs return_sequences=True" if out.ndim == 2 else ""
            raise CheckFailed(
                f"{what} have shape {out.shape}, expected {(*mask.shape, n_tags)}{hint}"
            )
        if np.all(out >= 0) and np.allclose(out.sum(-1), 1, atol=1e-4):
            raise CheckFailed(
                f"{what} are probabilities (they sum to 1): the loss takes logits, so the "
                "Dense layer has no activation"
            )
        arch = _describe_tagger(seen.sizes, bidirectional)
        for outputs, weights, whose in [
            (run["outputs"], run["weights"], "your model's weights"),
            (seen.loaded(run, bidirectional), load, "weights the grader chose"),
        ]:
            got, expected = np.asarray(outputs[0]), seen.outputs(judge, weights, 0)
            full = mask.all(axis=1)  # sentences without padding
            if np.allclose(got[full], expected[full], atol=TAGGER_ATOL) and not np.allclose(
                got[mask], expected[mask], atol=TAGGER_ATOL
            ):
                raise CheckFailed(
                    f"{what} are right for sentences without padding and wrong for padded "
                    "ones: the padding is read as words (Embedding needs mask_zero=True)"
                )
            assert_close(
                got[mask],
                expected[mask],
                f"{what} at real words, compared with {arch} rebuilt with {whose},",
                atol=TAGGER_ATOL,
            )


def _tagger_padding(seen: ObservedModels, mask) -> None:
    _tagger_outputs(seen, mask)
    for bidirectional, run, _, _ in seen.settings():
        outputs = run["outputs"]
        padded = np.asarray(outputs[1])[:, : mask.shape[1]]
        assert_close(
            padded[mask],
            np.asarray(outputs[0])[mask],
            f"the logits at real words (bidirectional={bidirectional}) when the batch is "
            f"padded {TAGGER_PADDING} steps longer (is the padding masked?)",
            atol=1e-5,
        )


def assert_tagger(build, vocab_size, n_tags, embedding_dim, units, seed: int = 0) -> None:
    """Every judgement of exercise 5.2 for other sizes (for hidden tests)."""
    seen, mask = _observe_tagger(build, (vocab_size, n_tags, embedding_dim, units), seed)
    _tagger_padding(seen, mask)


@public_check(
    "5.2",
    "returns a keras.Model with the requested sizes (Embedding, LSTM or Bidirectional(LSTM), "
    "Dense)",
    gate=True,
)
def _tagger_size_check(build_tagger):
    _tagger_sizes(_observe_tagger(build_tagger, (VOCAB, TAGS, EMBED, UNITS), 1)[0])


@public_check(
    "5.2",
    "maps word ids (batch, time) to tag logits (batch, time, n_tags) as the requested layers "
    "do (rebuilt by the checker with your model's weights)",
)
def _tagger_output_check(build_tagger):
    _tagger_outputs(*_observe_tagger(build_tagger, (VOCAB, TAGS, EMBED, UNITS), 2))


@public_check("5.2", "real words get the same logits however long the padding is")
def _tagger_padding_check(build_tagger):
    _tagger_padding(*_observe_tagger(build_tagger, (VOCAB, TAGS, EMBED, UNITS), 3))
