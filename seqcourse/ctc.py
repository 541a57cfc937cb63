"""CTC helpers of notebook 08: the references the lesson falls back on while its exercises are
stubs — Keras' CTC loss for one utterance, and the collapse rule."""

from __future__ import annotations

import itertools

import numpy as np


def keras_ctc_log_likelihood(log_probs, labels, blank: int = 0) -> float:
    """log p(labels | frames) from ``keras.ops.ctc_loss``: ``log_probs`` (frames, classes)
    per-frame log-probabilities, ``labels`` a sequence of class ids without blanks.

    Example:
        >>> round(keras_ctc_log_likelihood(np.log(np.full((2, 2), 0.5)), [1]), 4)  # 3 of 4 paths
        -0.2877
    """
    import keras

    log_probs = np.asarray(log_probs, "float32")[None]
    labels = np.asarray(labels, "int32").reshape(1, -1)
    loss = keras.ops.ctc_loss(
        labels, log_probs, np.array([labels.shape[1]]), np.array([log_probs.shape[1]]), blank
    )
    return -float(np.asarray(loss)[0])


def collapse_path(frame_ids, blank: int = 0) -> list[int]:
    """The CTC collapse rule: merge runs of the same id, then drop the blanks.

    Example:
        >>> collapse_path([1, 1, 0, 2, 2, 0, 0, 2])
        [1, 2, 2]
    """
    return [int(key) for key, _ in itertools.groupby(frame_ids) if key != blank]


class LexiconDecoder:
    """Viterbi CTC decoding constrained to a lexicon: the single most likely frame path whose
    collapsed labels are words of ``words`` (each a sequence of label ids) separated by one
    ``separator`` label — any number of words, in any order, as a word-loop grammar allows.

    Greedy decoding may spell "sevn" or "fi"; here every output is a string of real words, and
    the acoustic evidence decides which (the "L" of a decoding graph; no language model: every
    word is equally likely after every other). The graph has one state per label of every
    word, a blank state between two letters of a word, and four shared states: a leading blank,
    a blank after a word, the separator and a blank after it. A frame may stay in its state or
    move along the graph; the blank between two letters may be skipped when they differ (CTC's
    rule).

    Example:
        >>> decode = LexiconDecoder([[1, 2], [3]], separator=4)
        >>> frames = np.log(np.array([
        ...     [0.1, 0.6, 0.1, 0.1, 0.1], [0.1, 0.1, 0.3, 0.4, 0.1],  # "1", then "3" >"2"
        ...     [0.6, 0.1, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.1, 0.6],  # blank, separator
        ...     [0.1, 0.1, 0.1, 0.6, 0.1]]))                           # "3"
        >>> decode(frames)  # greedy would give [1, 3, 4, 3]: not a word before the separator
        [1, 2, 4, 3]
    """

    def __init__(self, words, separator: int, blank: int = 0):
        lead, after_word, sep, after_sep = 0, 1, 2, 3  # the shared states
        labels = [blank, blank, separator, blank]
        incoming = [[lead], [after_word], [sep], [after_sep, sep]]
        word_starts, word_ends = [], []
        for word in words:
            if len(word) == 0:
                raise ValueError("the lexicon has an empty word; every word needs a label")
            first = len(labels)
            for k, label in enumerate(word):
                if k:  # the blank between two letters, then the letter
                    labels.append(blank)
                    incoming.append([len(labels) - 1, len(labels) - 2])
                    skip = [len(labels) - 2] if word[k - 1] != label else []
                    labels.append(int(label))
                    incoming.append([len(labels) - 1, len(labels) - 2, *skip])
                else:
                    labels.append(int(label))
                    incoming.append([first, lead, sep, after_sep])
            word_starts.append(first)
            word_ends.append(len(labels) - 1)
        incoming[after_word] += word_ends
        incoming[sep] += [after_word, *word_ends]
        width = max(map(len, incoming))
        self.labels = np.array(labels)
        self.is_blank = self.labels == blank
        # incoming[s]: the states a frame in state s may come from (itself first); padded
        # with the index one past the last state, whose score is always -inf.
        self.incoming = np.array([s + [len(labels)] * (width - len(s)) for s in incoming])
        self.starts = np.array([lead, *word_starts])
        self.finals = np.array([after_word, *word_ends])

    def __call__(self, log_probs) -> list[int]:
        """(frames, classes) per-frame log-probabilities -> the label ids of the best path
        through the lexicon, collapsed (words and separators, no blanks); [] when no word fits
        in the frames (e.g. 0 frames)."""
        log_probs = np.asarray(log_probs, np.float64)
        if len(log_probs) == 0:
            return []
        n = len(self.labels)
        emit = log_probs[:, self.labels]  # (frames, states)
        score = np.full(n + 1, -np.inf)
        score[self.starts] = emit[0, self.starts]
        back = np.zeros((len(log_probs), n), int)
        for t in range(1, len(log_probs)):
            candidates = score[self.incoming]  # (states, width)
            best = candidates.argmax(axis=1)
            back[t] = self.incoming[np.arange(n), best]
            score[:n] = candidates[np.arange(n), best] + emit[t]
        state = self.finals[np.argmax(score[self.finals])]
        if score[state] == -np.inf:
            return []
        path = [state]
        for t in range(len(log_probs) - 1, 0, -1):
            state = back[t, state]
            path.append(state)
        states = [s for s, _ in itertools.groupby(path[::-1])]
        return [int(self.labels[s]) for s in states if not self.is_blank[s]]
