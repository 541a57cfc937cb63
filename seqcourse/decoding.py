"""Step-by-step decoding: run a trained recurrent model one token at a time, carrying its state.

Used for sampling text (notebook 04) and, later, greedy and beam search (notebooks 06-07).
"""

from __future__ import annotations

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
