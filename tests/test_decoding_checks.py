"""The judges of the decoding exercises: 6.3 (one beam-search step, brute force over all
extensions) and 7.1 (one attention-decoder step over an image grid, recomputed in NumPy).
Each classic mistake must fail with a message that names it."""

import keras
import numpy as np
import pytest

from seqcourse.decoding import beam_step
from seqcourse.grading import run_public_checks
from seqcourse.grading.checks import nb06, nb07


def _step(query="new", weights="regions", context="weighted", output="log_probs", state="new"):
    """A decoder step for exercise 7.1, right by default, with one named mistake otherwise."""

    def step(parts, tokens, previous):
        h, _ = parts.cell(parts.embedding(np.asarray(tokens)), [previous["h"]])
        q = keras.ops.convert_to_tensor(previous["h"] if query == "old" else h)
        scores = parts.attention.scores(q[:, None], previous["values"])  # (n, 1, regions)
        axis = {"regions": -1, "query axis": 1, "batch": 0}[weights]
        alpha = keras.ops.softmax(scores, axis=axis)
        if context == "weighted":
            c = keras.ops.matmul(alpha, previous["values"])[:, 0]
        else:
            c = keras.ops.mean(previous["values"], axis=1)
        logits = parts.logits(parts.combine(keras.ops.concatenate([h, c], axis=-1)))
        result = logits if output == "logits" else keras.ops.log_softmax(logits)
        if output == "probabilities":
            result = keras.ops.softmax(logits)
        new = {**previous, "h": h} if state != "old" else previous
        if state == "without values":
            new = {"h": h}
        return result, new

    return step


def _messages(step):
    results = run_public_checks("7.1", step)
    return [r.passed for r in results], [r.message for r in results]


def test_the_right_step_passes_every_check_and_the_hidden_judge():
    assert _messages(_step())[0] == [True, True, True]
    nb07.assert_caption_step(_step(), seed=7, rows=4, regions=5, features=3, vocab=11)


@pytest.mark.parametrize(
    ("mistake", "words"),
    [
        ({"weights": "batch"}, "over the batch axis"),
        ({"weights": "query axis"}, "plain sum of the grid"),
        ({"context": "mean"}, "plain mean of the grid"),
        ({"query": "old"}, "Bahdanau"),
        ({"output": "logits"}, "not the logits"),
        ({"output": "probabilities"}, "probabilities"),
    ],
)
def test_wrong_log_probabilities_are_diagnosed(mistake, words):
    passed, messages = _messages(_step(**mistake))
    assert passed == [True, False, False] and words in messages[1], messages
    assert "not compared until the first step" in messages[2]
    with pytest.raises(AssertionError):
        nb07.assert_caption_step(_step(**mistake), seed=7, rows=4, regions=5)


def test_a_state_that_is_not_updated_is_diagnosed():
    passed, messages = _messages(_step(state="old"))
    assert passed == [True, True, False] and "the one you were given" in messages[2]


def test_a_state_that_drops_the_grid_fails_the_gate():
    passed, messages = _messages(_step(state="without values"))
    assert not passed[0] and "must keep 'values'" in messages[0]


def test_calling_the_attention_layer_is_refused():
    def layer_call(parts, tokens, state):
        h, _ = parts.cell(parts.embedding(np.asarray(tokens)), [state["h"]])
        context, _ = parts.attention(h[:, None], state["values"])
        logits = parts.logits(parts.combine(keras.ops.concatenate([h, context[:, 0]], -1)))
        return keras.ops.log_softmax(logits), {**state, "h": h}

    passed, messages = _messages(layer_call)
    assert not any(passed) and "do not call the attention layer" in messages[1]


def test_the_invariants_catch_a_step_that_depends_on_region_order():
    right = _step()

    def positional(parts, tokens, state):  # the first region always counts double
        values = np.array(state["values"])
        values[:, 0] *= 2
        return right(parts, tokens, {**state, "values": values})

    case = nb07._Case(positional, seed=5)
    with pytest.raises(AssertionError, match="another order"):
        nb07._check_invariants(positional, case, seed=6)
    nb07._check_invariants(right, nb07._Case(right, seed=5), seed=6)


def test_the_invariants_catch_rows_that_mix():
    right = _step()

    def mixing(parts, tokens, state):  # every image also sees the batch's average grid
        values = np.asarray(state["values"])
        return right(parts, tokens, {**state, "values": values + values.mean(0)})

    case = nb07._Case(mixing, seed=5)
    with pytest.raises(AssertionError, match="decoded alone"):
        nb07._check_invariants(mixing, case, seed=6)


def test_the_default_beam_step_passes_the_checks_of_exercise_6_3():
    results = run_public_checks("6.3", beam_step)
    assert results and all(r.passed for r in results), [r.message for r in results]


def _flat_step(order="best first", divisor="vocab", total="with beam scores"):
    """A beam step for exercise 6.3 through the flat (B * V) table, with one named mistake."""

    def step(beam_scores, log_probs, k):
        totals = (beam_scores[:, None] + log_probs).ravel()
        ranked = log_probs.ravel() if total == "log_probs alone" else totals
        flat = {"best first": np.argsort(-ranked, kind="stable")[:k],
                "worst first": np.argsort(ranked, kind="stable")[-k:],
                "the worst": np.argsort(ranked, kind="stable")[:k]}[order]  # fmt: skip
        n = log_probs.shape[1] if divisor == "vocab" else log_probs.shape[0]
        return totals[flat], flat // n, flat % n

    return step


@pytest.mark.parametrize(
    ("mistake", "words"),
    [
        ({"order": "worst first"}, "worst first: sort them from best to worst"),
        ({"order": "the worst"}, "the k worst extensions"),
        ({"divisor": "beams"}, "parent i // V and token i % V"),
        ({"total": "log_probs alone"}, "by log_probs alone"),
    ],
)
def test_beam_step_mistakes_are_diagnosed(mistake, words):
    results = run_public_checks("6.3", _flat_step(**mistake))
    assert results[0].passed and not results[1].passed and words in results[1].message
    with pytest.raises(AssertionError):
        nb06.assert_beam_step(_flat_step(**mistake), seed=7, beams=3, vocab=11, k=4)


def test_the_hidden_beam_judge_accepts_the_brute_force_answer_and_an_equivalent_step():
    nb06.assert_beam_step(beam_step, seed=7, beams=3, vocab=11, k=4)
    nb06.assert_beam_step(_flat_step(), seed=8)
