"""Sampling from a language model one token at a time, carrying its state (notebook 04).

The reference answers notebook 04 falls back on while its exercises are not attempted (see
:func:`seqcourse.answer_or_reference`). A *stepper* is anything with the interface of
:class:`seqcourse.decoding.RecurrentStepper`: ``initial_states(batch)`` and
``step(ids (batch,), states) -> (logits (batch, vocab), new states)``.
"""

from __future__ import annotations

import numpy as np


def sample_with_temperature(logits, temperature: float, rng: np.random.Generator) -> int:
    """One index drawn from ``softmax(logits / temperature)``; ``logits`` (vocab,), ``rng`` a
    NumPy Generator.

    Example:
        >>> sample_with_temperature([0.0, 30.0, 0.0], 1.0, np.random.default_rng(0))
        1
    """
    z = np.asarray(logits, dtype="float64") / temperature
    p = np.exp(z - z.max())
    return int(rng.choice(len(p), p=p / p.sum()))


def generate_ids(stepper, prompt_ids, length: int, temperature, rng, sample) -> list[int]:
    """Continue ``prompt_ids`` by ``length`` ids, one step per id, carrying the state.

    The prompt is fed one id at a time from the stepper's initial state; then each new id is
    ``argmax(logits)`` when ``temperature`` is None (greedy), else ``sample(logits,
    temperature, rng)`` (logits of shape (vocab,)), and is fed back in.

    Returns:
        The prompt's ids followed by the ``length`` new ones, as a list of ints.

    Example:
        >>> class Echo:  # a stepper whose next id is always the last id + 1
        ...     def initial_states(self, batch):
        ...         return []
        ...     def step(self, ids, states):
        ...         return np.eye(10)[np.asarray(ids) + 1] * 50, states
        >>> generate_ids(Echo(), [3], 4, None, None, sample_with_temperature)
        [3, 4, 5, 6, 7]
    """
    ids = [int(i) for i in prompt_ids]
    states = stepper.initial_states(1)
    for token in ids:
        logits, states = stepper.step([token], states)
    for _ in range(length):
        row = np.asarray(logits[0], dtype="float64")
        token = int(np.argmax(row)) if temperature is None else sample(row, temperature, rng)
        ids.append(token)
        logits, states = stepper.step([token], states)
    return ids
