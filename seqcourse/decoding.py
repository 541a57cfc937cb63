"""Step-by-step decoding: run a trained recurrent model one token at a time, carrying its state.

``RecurrentStepper`` samples text from a language model (notebook 04). ``greedy_search`` and
``beam_search`` decode from any model given as a *step function* (notebooks 06-07):

    step(tokens, state) -> (log_probs, new_state)

``tokens`` has shape (n,), ``log_probs`` (n, vocab) and ``state`` is a dict of arrays whose
first axis is n (decoder states, and anything constant per sequence such as encoder outputs
and their mask). The searches reorder and repeat the state rows themselves, so a step
function never needs to know about beams. :func:`attention_decoder_step` is the step of an
encoder-decoder whose trained layers are given as :class:`DecoderLayers`; ``beam_search``
also takes the rule that prunes each input's beams (:func:`beam_step` by default).
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np


class RecurrentStepper:
    """One-token-at-a-time view of a ``Sequential([Embedding, RNN..., Dense])`` model.

    The model is trained on whole windows (``return_sequences=True``); :meth:`step` feeds one
    token per sequence and returns next-token logits plus the new states, so generating *n*
    tokens costs *n* steps instead of re-running the growing prefix. Because it uses the
    trained layers' own cells, stepping through a sequence gives the same logits as calling
    the model on the whole sequence.

    Raises:
        TypeError: if the model is not Embedding, then recurrent layers, then one Dense layer.
    """

    def __init__(self, model: keras.Model):
        layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
        if len(layers) < 3 or not isinstance(layers[0], keras.layers.Embedding):
            raise TypeError("expected a Sequential model [Embedding, RNN layer(s), Dense]")
        bad = [
            type(layer).__name__
            for layer in layers[1:-1]
            if not isinstance(layer, keras.layers.RNN)
        ]
        if bad or not isinstance(layers[-1], keras.layers.Dense):
            raise TypeError(
                "RecurrentStepper supports Embedding -> recurrent layers -> Dense only; found "
                f"{[type(layer).__name__ for layer in layers]}"
            )
        self.embedding, self.recurrent, self.head = layers[0], layers[1:-1], layers[-1]

    def initial_states(self, batch_size: int) -> list[list]:
        """Zero states for every recurrent layer: a list (per layer) of (batch, units) arrays."""
        states = []
        for layer in self.recurrent:
            sizes = layer.cell.state_size
            sizes = sizes if isinstance(sizes, (list, tuple)) else [sizes]
            states.append([np.zeros((batch_size, size), "float32") for size in sizes])
        return states

    def step(self, token_ids, states):
        """Advance one step. ``token_ids`` (batch,) ints -> (logits (batch, vocab), new states)."""
        x = self.embedding(np.asarray(token_ids))
        new_states = []
        for layer, state in zip(self.recurrent, states, strict=True):
            x, state = layer.cell(x, list(state))
            new_states.append(state if isinstance(state, (list, tuple)) else [state])
        return self.head(x), new_states


def _take(state: dict, rows) -> dict:
    """The state with only ``rows`` (an index array) of every entry, in that order."""
    return {key: np.asarray(value)[rows] for key, value in state.items()}


def greedy_search(step, state: dict, start_id: int, end_id: int, max_length: int):
    """Pick the most likely token at every step.

    Returns ``(sequences, scores)``: for each of the n inputs, its tokens (without start and end
    tokens) and their total log-probability (end token included).
    """
    n = len(next(iter(state.values())))
    tokens = np.full(n, start_id)
    sequences, scores = [[] for _ in range(n)], np.zeros(n)
    done = np.zeros(n, bool)
    for _ in range(max_length):
        log_probs, state = step(tokens, state)
        log_probs = np.asarray(log_probs)
        tokens = log_probs.argmax(-1)
        scores += np.where(done, 0.0, log_probs[np.arange(n), tokens])
        for i in np.flatnonzero(~done & (tokens != end_id)):
            sequences[i].append(int(tokens[i]))
        done |= tokens == end_id
        if done.all():
            break
    return sequences, scores


def beam_step(beam_scores, log_probs, k: int):
    """One beam-search step for one input: the ``k`` best of all B x V extensions.

    Args:
        beam_scores: ``(B,)`` total log-probabilities of the B open hypotheses (``-inf``
            marks an empty slot).
        log_probs: ``(B, V)`` next-token log-probabilities of each hypothesis.
        k: how many extensions to keep.

    Returns:
        ``(scores, parents, tokens)``, each ``(k,)``, best first: the extension's total
        log-probability, the hypothesis it extends, and the token it adds. Equal scores keep
        the order of ``(parent, token)``.

    Example:
        >>> beam_step(np.log([0.5, 0.5]), np.log([[0.9, 0.1], [0.2, 0.8]]), 2)[1:]
        (array([0, 1]), array([0, 1]))
    """
    total = (np.asarray(beam_scores, float)[:, None] + np.asarray(log_probs, float)).ravel()
    best = np.argsort(-total, kind="stable")[:k]
    vocab = np.shape(log_probs)[1]
    return total[best], best // vocab, best % vocab


def _extend(beam_step, beam_scores, log_probs, k: int):
    """``beam_step`` on each input's beams: ``beam_scores`` (n, k), ``log_probs`` (n, k, V) ->
    scores, parents (0..k-1) and tokens, each (n, k)."""
    rows = []
    for scores, log_p in zip(beam_scores, log_probs, strict=True):
        row = tuple(np.asarray(x) for x in beam_step(scores, log_p, k))
        if len(row) != 3 or any(x.shape != (k,) for x in row):
            raise ValueError(
                f"beam_step should return (scores, parents, tokens) of shape ({k},) each; got "
                f"shapes {[x.shape for x in row]}"
            )
        _, parents, tokens = row
        if not (
            np.all((parents >= 0) & (parents < k))
            and np.all((tokens >= 0) & (tokens < log_p.shape[1]))
        ):
            raise ValueError(
                f"beam_step returned parents {parents} and tokens {tokens}: parents index the "
                f"{k} hypotheses, tokens the {log_p.shape[1]} vocabulary entries"
            )
        rows.append(row)
    scores, parents, tokens = (np.stack(x) for x in zip(*rows, strict=True))
    return scores.astype(float), parents.astype(int), tokens.astype(int)


def beam_search(
    step,
    state: dict,
    start_id: int,
    end_id: int,
    max_length: int,
    beam_width: int = 5,
    length_penalty: float = 1.0,
    beam_step=beam_step,
):
    """Keep the ``beam_width`` most likely partial sequences per input at every step.

    At each step every open hypothesis is extended by every token and the ``beam_width`` best
    extensions (by total log-probability) are kept. An extension that is ``end_id`` is a
    finished hypothesis and leaves the beam, which then has one slot less; the search for an
    input ends when its beam is empty or no open hypothesis can still beat its best finished
    one. Finished hypotheses are ranked by ``log P / length ** length_penalty`` (length counts
    the end token), so longer outputs are not penalised just for having more factors below
    one; ``length_penalty=0`` ranks by raw log-probability. Hypotheses still open after
    ``max_length`` steps compete with their current score.

    With ``beam_width=1`` this is exactly :func:`greedy_search`.

    ``beam_step(beam_scores, log_probs, k) -> (scores, parents, tokens)`` picks the ``k`` best
    extensions of one input's beams (default: this module's :func:`beam_step`; notebook 06
    passes exercise 6.3's).

    Returns ``(sequences, scores)`` like :func:`greedy_search`, with the normalised scores.
    """
    if beam_width < 1:
        raise ValueError(f"beam_width must be >= 1, got {beam_width}")
    n, k = len(next(iter(state.values()))), beam_width
    state = _take(state, np.repeat(np.arange(n), k))  # row i * k + j = beam j of input i
    tokens = np.full(n * k, start_id)
    history = np.zeros((n * k, 0), int)
    beam_scores = np.tile(np.r_[0.0, np.full(k - 1, -np.inf)], n)  # one live beam to start
    best_score = np.full(n, -np.inf)
    best_tokens: list[list[int]] = [[] for _ in range(n)]
    for length in range(1, max_length + 1):
        log_probs, state = step(tokens, state)
        log_probs = np.asarray(log_probs, float)
        scores, parents, new_tokens = _extend(
            beam_step, beam_scores.reshape(n, k), log_probs.reshape(n, k, -1), k
        )
        parents = np.arange(n)[:, None] * k + parents  # rows of the stacked beams
        for i, j in zip(*np.nonzero((new_tokens == end_id) & (scores > -np.inf)), strict=True):
            normalised = scores[i, j] / length**length_penalty
            if normalised > best_score[i]:
                best_score[i], best_tokens[i] = normalised, history[parents[i, j]].tolist()
        scores[new_tokens == end_id] = -np.inf  # finished: the slot stays empty
        rows = parents.ravel()
        state = _take(state, rows)
        tokens, beam_scores = new_tokens.ravel(), scores.ravel()
        history = np.c_[history[rows], tokens]
        # log-probabilities only fall, so an open hypothesis can at best keep its score, spread
        # over the longest allowed length
        bound = beam_scores.reshape(n, k).max(axis=1) / max_length**length_penalty
        if np.all(best_score >= bound):
            break
    else:
        open_scores = beam_scores.reshape(n, k)
        for i in range(n):
            j = int(np.argmax(open_scores[i]))
            normalised = open_scores[i, j] / max_length**length_penalty
            if normalised > best_score[i]:
                best_score[i], best_tokens[i] = normalised, history[i * k + j].tolist()
    return best_tokens, best_score


@dataclass(frozen=True)
class DecoderLayers:
    """The trained layers one step of a recurrent decoder uses (notebooks 06 and 07).

    Attributes:
        embedding: Embedding of the previous token: ids ``(n,)`` -> ``(n, embed)``.
        cell: the decoder's recurrent cell with one state (``gru_layer.cell``):
            ``cell(x (n, embed), [h (n, units)]) -> (output (n, units), [new h])``.
        logits: Dense over the vocabulary: ``(n, features) -> (n, vocab)``.
        attention: an :class:`~seqcourse.layers.AdditiveAttention` called as
            ``attention(output (n, 1, units), values (n, steps, features))``, or None for a
            decoder without attention.
        combine: Dense on ``[output, context]`` ``(n, units + features)``, with attention only.

    Raises:
        ValueError: if only one of ``attention`` and ``combine`` is given.
    """

    embedding: keras.layers.Layer
    cell: keras.layers.Layer
    logits: keras.layers.Layer
    attention: keras.layers.Layer | None = None
    combine: keras.layers.Layer | None = None

    def __post_init__(self):
        if (self.attention is None) != (self.combine is None):
            raise ValueError("attention and combine go together: give both or neither")


def attention_decoder_step(layers: DecoderLayers, tokens, state: dict):
    """One decoder step: the previous tokens -> next-token log-probabilities and the new state.

    The cell reads the embedded previous token; its new output is the attention query (Luong
    style) over ``state["values"]``, and ``combine`` mixes output and context before the
    logits. Bind the layers, ``functools.partial(attention_decoder_step, layers)``, to get the
    ``step(tokens, state)`` of :func:`greedy_search` and :func:`beam_search`.

    Args:
        layers: the trained decoder's :class:`DecoderLayers`.
        tokens: ``(n,)`` int, the previous token of each sequence.
        state: ``"h"`` (the decoder state, ``(n, units)``), ``"values"`` (encoder outputs
            ``(n, steps, features)``, used only with attention) and optionally ``"mask"``
            (``(n, steps)`` bool, False on padding).

    Returns:
        ``(log_probs, new_state)``: ``(n, vocab)`` NumPy log-probabilities, and ``state`` with
        ``"h"`` replaced by the new decoder state.
    """
    h, _ = layers.cell(layers.embedding(np.asarray(tokens)), [state["h"]])
    output = h
    if layers.attention is not None:
        context, _ = layers.attention(h[:, None], state["values"], values_mask=state.get("mask"))
        output = layers.combine(keras.ops.concatenate([h, context[:, 0]], axis=-1))
    log_probs = keras.ops.log_softmax(layers.logits(output))
    return np.asarray(log_probs), {**state, "h": np.asarray(h)}
