"""Public checks of notebook 04 (character language model). Oracles: Keras' sparse categorical
cross-entropy (4.1), keras.ops.softmax (4.2), and the language model re-run on the whole
prefix at every step (4.3)."""

from __future__ import annotations

import functools

import numpy as np

from seqcourse.grading.probes import call_offsets, generation_probe, language_model, sampler_probe
from seqcourse.grading.public_checks import (
    CheckFailed,
    assert_close,
    fresh_rng,
    probe_with,
    public_check,
    replaces,
)

# the course's references (seqcourse.metrics, seqcourse.sampling): the notebook's fallbacks
replaces("4.1", "bits_per_character")
replaces("4.2", "sample_with_temperature")
replaces("4.3", "generate_ids")

VOCAB = 6  # logits per draw
DRAWS = 10_000  # per temperature: a frequency's standard error is at most 0.005


def _softmax(logits, temperature=1.0):
    import keras

    return np.asarray(keras.ops.softmax(np.asarray(logits, "float64") / temperature))


# ---------------------------------------------------------------- 4.2 sample_with_temperature
#
# Probe (in the student's kernel): thousands of calls of the sampler with one generator seeded
# from the run's fresh seed, on logits drawn from it too; the draws come back as int arrays.
# Judge (here): indices in range (a gate), frequencies against its own softmax.


def draws(sample, logits, temperature: float, n: int, rng) -> np.ndarray:
    """``n`` draws of the student's ``sample(logits, temperature, rng)`` from ``rng``, checked
    to be indices into ``logits`` (CheckFailed if not)."""
    logits = np.asarray(logits, dtype="float64")
    reply = probe_with(sample, sampler_probe, [(logits, float(temperature), int(n))], rng)
    if type(reply) is dict and type(reply.get("bad")) is str:
        raise CheckFailed(f"expected an int index in [0, {len(logits)}), got {reply['bad']}")
    got = reply.get("draws") if type(reply) is dict else None
    if (
        type(got) is not list
        or len(got) != 1
        or type(got[0]) is not np.ndarray
        or got[0].dtype.kind not in "iu"
        or got[0].shape != (n,)
        or not np.all((got[0] >= 0) & (got[0] < len(logits)))
    ):
        raise CheckFailed(
            f"the sampler could not be probed: expected {n} int indices in [0, {len(logits)}) "
            "back from its probe, got something else"
        )
    return got[0]


def _logits(seed: int):
    """Fresh logits and the generator that drew them (which then seeds the sampler): spread
    over about 3, in a random order, with a random offset. The most likely index then has p
    of 0.4-0.55 at temperature 1 and 0.5-0.85 at 0.5: always picking it, or ignoring the
    temperature, is off by 0.14 or more."""
    rng = fresh_rng(seed)
    spread = np.linspace(0.0, 3.0, VOCAB) + rng.uniform(-0.2, 0.2, size=VOCAB)
    return rng.permutation(spread) + rng.normal() * 5, rng


def _frequencies_match(sample, temperature: float, seed: int) -> None:
    logits, rng = _logits(seed)
    got = draws(sample, logits, temperature, DRAWS, rng)
    assert_close(
        np.bincount(got, minlength=VOCAB) / DRAWS,
        _softmax(logits, temperature),
        "sampling frequencies",
        atol=0.03,
    )


@public_check("4.2", "returns an int index in [0, len(logits))", gate=True)
def _sample_type(sample_with_temperature):
    logits, rng = _logits(1)
    draws(sample_with_temperature, logits, 1.0, 100, rng)


@public_check("4.2", "temperature 1 samples from softmax(logits) (10,000 draws, ±0.03)")
def _sample_t1(sample_with_temperature):
    _frequencies_match(sample_with_temperature, 1.0, seed=2)


@public_check("4.2", "temperature 0.5 samples from softmax(logits / 0.5)")
def _sample_t05(sample_with_temperature):
    _frequencies_match(sample_with_temperature, 0.5, seed=3)


@public_check("4.2", "a tiny temperature picks the argmax, even for huge logits")
def _sample_cold(sample_with_temperature):
    logits, rng = _logits(4)
    best = int(rng.integers(VOCAB))
    logits[best] = logits.max() + 2.0
    # huge values, gaps of 0.02 or more: only the temperature separates them (by 20 or more)
    got = draws(sample_with_temperature, 1000.0 + logits * 0.01, 1e-3, 20, rng)
    if np.any(got != best):
        raise CheckFailed(
            f"with temperature 1e-3 the argmax ({best}) should win, got {int(got[got != best][0])}"
        )


# ---------------------------------------------------------------- 4.1 bits_per_character


def _compare_with_keras(bits_per_character, seed: int, shape: tuple, scale: float, atol: float):
    """Random logits of ``shape`` (batch, time, vocab) times ``scale``: the student's bits per
    character against Keras' sparse cross-entropy / ln 2."""
    import keras

    rng = fresh_rng(seed)
    logits, targets = rng.normal(size=shape) * scale, rng.integers(0, shape[-1], size=shape[:2])
    ce = keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)
    expected = float(np.mean(np.asarray(ce))) / np.log(2)
    assert_close(bits_per_character(logits, targets), expected, "bits per character", atol=atol)


@public_check("4.1", "matches Keras' cross-entropy divided by ln 2")
def _bpc_value(bits_per_character):
    _compare_with_keras(bits_per_character, seed=2, shape=(3, 7, 11), scale=2.0, atol=1e-6)


@public_check("4.1", "is numerically stable for large logits")
def _bpc_stable(bits_per_character):
    _compare_with_keras(bits_per_character, seed=3, shape=(2, 5, 4), scale=1000.0, atol=1e-4)


# ---------------------------------------------------------------- 4.3 generate_ids
#
# Probe (in the student's kernel): a small language model built from sizes and weights the
# grader chose, stepped by RecurrentStepper; its step adds to the logits of its n-th call an
# offset drawn n-th from a generator the grader seeds (as if the model were a little noisy).
# The student's loop runs with the course's sampler and a generator seeded by the grader.
# Judge (here): the same model rebuilt, run *statelessly* on the whole prefix at every step,
# with the offset of the call a stateful loop makes there: greedy decoding, and sampling
# replayed with the same generator, must give the same ids. A loop that re-reads the prefix
# calls step more often, so its logits carry other offsets: its ids differ, whatever step
# count the kernel reports (the count is only used to name that mistake).

LM_SIZES = (7, 4, 6)  # vocabulary, embedding, GRU units
PROMPT, LENGTH = 4, 12
COLD = 1e-3  # the temperature whose samples should be greedy's
NEAR_TIE = 20 * COLD  # a logit this close to the largest is drawn at COLD with p > e^-20


class _Generations:
    """The student's loop run by the probe on the grader's model, and the judge's own copy."""

    def __init__(self, generate, seed: int, sizes=LM_SIZES, recurrent="GRU", length=LENGTH):
        rng = fresh_rng(seed)
        self.model = language_model(sizes, recurrent)
        weights = [
            (rng.normal(size=w.shape) * 0.8).astype("float32") for w in self.model.get_weights()
        ]
        self.model.set_weights(weights)
        self.vocab, self.length = sizes[0], length
        self.prompt = [int(i) for i in rng.integers(0, self.vocab, PROMPT)]
        self.seeds = [int(s) for s in rng.integers(0, 2**31, 3)]
        self.offset_seed = int(rng.integers(0, 2**31))
        self.offsets = call_offsets(self.offset_seed, self.vocab, PROMPT + length + 1)
        temperatures = [None, COLD, 1.0]
        requests = [
            (self.prompt, length, t, s, self.offset_seed)
            for t, s in zip(temperatures, self.seeds, strict=True)
        ]
        replies = probe_with(generate, generation_probe, sizes, recurrent, weights, requests)
        ok = type(replies) is list and len(replies) == 3
        ok = ok and all(
            type(r) is dict and type(r.get("ids")) is np.ndarray and type(r.get("steps")) is int
            for r in replies
        )
        if not ok:
            raise CheckFailed("the loop could not be probed: its probe sent back malformed data")
        self.greedy, self.cold, self.warm = replies

    def next_logits(self, history, call: int | None = None) -> np.ndarray:
        """The logits step call ``call`` returns (by default the call a stateful loop makes
        there, ``len(history) - 1``) after ``history``, recomputed on the whole prefix."""
        if not hasattr(self, "_run"):
            import tensorflow as tf

            spec = tf.TensorSpec([1, None], tf.int64)
            self._run = tf.function(self.model, input_signature=[spec])
        logits = np.asarray(self._run(np.array([history], "int64")), "float64")[0, -1]
        call = len(history) - 1 if call is None else call
        return logits + self.offsets[call]

    @functools.cached_property
    def greedy_ids(self) -> list[int]:
        """Greedy decoding, stateless."""
        return self.expected(lambda logits, k: np.argmax(logits))

    def expected(self, pick) -> list[int]:
        """Decoding with ``pick(logits, k)`` for the k-th new id, stateless."""
        ids = list(self.prompt)
        for k in range(self.length):
            ids.append(int(pick(self.next_logits(ids), k)))
        return ids

    def mistakes(self) -> dict[str, list[int]]:
        """Greedy decoding as the classic wrong loops do it."""
        reset, dropped = list(self.prompt), list(self.prompt)
        for k in range(self.length):  # the state thrown away after the prompt (or always)
            before = reset if k == 0 else reset[-1:]
            reset.append(int(np.argmax(self.next_logits(before, len(reset) - 1))))
            dropped.append(int(np.argmax(self.next_logits(dropped[-1:], len(dropped) - 1))))
        twice, fed = list(self.prompt), [*self.prompt, self.prompt[-1]]
        for _ in range(self.length):  # the prompt's last id fed again before generating
            twice.append(int(np.argmax(self.next_logits(fed))))
            fed.append(twice[-1])
        empty = (
            "starts every step from an empty state: carry the states step returns into the "
            "next call"
        )
        return {
            empty: reset,
            f"{empty} (the prompt's steps too)": dropped,
            "feeds the prompt's last id twice: the logits after the prompt already predict "
            "the first new id": twice,
        }


def _form(seen: _Generations) -> None:
    want = len(seen.prompt) + seen.length
    for reply in (seen.greedy, seen.cold, seen.warm):
        ids = reply["ids"]
        if ids.shape != (want,):
            raise CheckFailed(
                f"with a prompt of {len(seen.prompt)} ids and length={seen.length}, expected "
                f"{want} ids (the prompt, then the new ones), got {ids.shape[0] if ids.ndim == 1 else ids.shape}"
            )
        if not np.all((ids >= 0) & (ids < seen.vocab)):
            raise CheckFailed(f"ids should be in [0, {seen.vocab}), got {ids.tolist()}")


def _prompt_first(seen: _Generations) -> None:
    _form(seen)
    got = seen.greedy["ids"][: len(seen.prompt)].tolist()
    if got != seen.prompt:
        raise CheckFailed(f"the result should start with the prompt {seen.prompt}, got {got}")


def _compare(got, expected: list[int], what: str, mistakes=dict) -> None:
    """CheckFailed unless ``got`` equals ``expected``, naming the mistake of ``mistakes()``
    (``{what the loop did: the ids it then gives}``) that ``got`` matches, if any."""
    got = got.tolist()
    if got == expected:
        return
    for mistake, ids in mistakes().items():
        if got == ids:
            raise CheckFailed(f"{what}: the loop {mistake}")
    first = next(k for k, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b)
    raise CheckFailed(
        f"{what}: expected {expected}, got {got} (first difference at position {first})"
    )


def _rereads(seen: _Generations, reply: dict, expected: list[int], what: str) -> None:
    """CheckFailed naming the re-read prefix if ``reply`` is wrong and stepped too often."""
    most, steps = len(seen.prompt) + seen.length, reply["steps"]
    got = reply["ids"].tolist()
    if got != expected and steps > most and got not in seen.mistakes().values():
        raise CheckFailed(
            f"{what}: {steps} calls of step for {most} ids (the checker's model, like a "
            "slightly noisy one, gives other logits at every call): feed each id once (the "
            "prompt one id at a time, then each new id) and carry the state; never re-read "
            "the prefix"
        )


def _greedy_is_stateful(seen: _Generations) -> None:
    _prompt_first(seen)
    what = "greedy decoding (temperature None) differs from the model re-run on the whole prefix"
    _rereads(seen, seen.greedy, seen.greedy_ids, what)
    _compare(seen.greedy["ids"], seen.greedy_ids, what, seen.mistakes)
    most = len(seen.prompt) + seen.length
    if seen.greedy["steps"] > most:
        raise CheckFailed(
            f"right ids, but {seen.greedy['steps']} calls of step for {most} ids: feed each id "
            "once (the prompt one id at a time, then each new id) and carry the state; never "
            "re-read the prefix"
        )


def near_greedy(seen, ids: list[int], tolerance: float = NEAR_TIE) -> bool:
    """Whether every new id of ``ids`` is, on ``ids``' own prefix, within ``tolerance`` of the
    largest of the judge's logits. At temperature :data:`COLD` an honest sampler draws an id
    ``g`` below the largest with probability about ``exp(-g / COLD)``: on a near-tie it may
    rightly leave the greedy path (then every later id follows its own prefix), while a loop
    that drops or re-reads its state is off by far more than a near-tie."""
    if ids[: len(seen.prompt)] != seen.prompt:
        return False
    for k in range(len(seen.prompt), len(ids)):
        logits = seen.next_logits(ids[:k])
        if logits[ids[k]] < logits.max() - tolerance:
            return False
    return True


def _temperature(seen: _Generations) -> None:
    from seqcourse.sampling import sample_with_temperature

    _prompt_first(seen)
    greedy = seen.greedy_ids
    cold = "with temperature 1e-3 the samples should be greedy's"
    if not near_greedy(seen, seen.cold["ids"].tolist()):
        _rereads(seen, seen.cold, greedy, cold)
        _compare(seen.cold["ids"], greedy, cold)
    rng = np.random.default_rng(seen.seeds[2])
    replay = seen.expected(lambda logits, k: sample_with_temperature(logits, 1.0, rng))
    ignores = (
        "ignores the temperature (draw with sample(logits, temperature, rng) when it is not None)"
    )
    warm = (
        "at temperature 1, drawing each id with sample(logits, temperature, rng) once per new "
        "id should give the ids recomputed here with the same generator"
    )
    _rereads(seen, seen.warm, replay, warm)
    _compare(seen.warm["ids"], replay, warm, lambda: {ignores: greedy} if replay != greedy else {})


def assert_generation(generate, seed: int = 0) -> None:
    """Hidden-test judge of 4.3 on another model (an LSTM, other sizes, longer output)."""
    seen = _Generations(generate, seed, sizes=(9, 3, 5), recurrent="LSTM", length=20)
    _greedy_is_stateful(seen)
    _temperature(seen)


@public_check("4.3", "returns the prompt's ids, then `length` new ids in [0, vocab)", gate=True)
def _generation_form(generate_ids):
    _form(_Generations(generate_ids, 1))


@public_check("4.3", "starts with the prompt")
def _generation_prompt(generate_ids):
    _prompt_first(_Generations(generate_ids, 2))


@public_check(
    "4.3",
    "greedy: equals argmax decoding by the model re-run on the whole prefix at every step, "
    "with one step call per id (the state is carried)",
)
def _generation_greedy(generate_ids):
    _greedy_is_stateful(_Generations(generate_ids, 3))


@public_check(
    "4.3",
    "temperature 1e-3 gives the greedy ids; temperature 1 draws with sample(logits, "
    "temperature, rng), one draw per new id",
)
def _generation_temperature(generate_ids):
    _temperature(_Generations(generate_ids, 4))
