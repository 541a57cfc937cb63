"""Evaluation metrics for sequence outputs: per-class precision/recall/F1 and confusion
matrices with masks (padding excluded), entity-level F1 for BIO tags (CoNLL style), and edit
distance based error rates (phoneme/character/word error rate) with several references.

Edit distances come from ``tf.edit_distance`` (Levenshtein, batched, in TensorFlow already).

Entity F1 is implemented here (tested against hand-worked cases) rather than taken from
``seqeval``: that package is unmaintained since 2020 and pulls in scikit-learn and SciPy for
a 30-line computation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _flatten(y_true, y_pred, mask):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}")
    keep = np.ones(y_true.shape, bool) if mask is None else np.asarray(mask, bool)
    if keep.shape != y_true.shape:
        raise ValueError(f"mask has shape {keep.shape}, expected {y_true.shape}")
    return y_true[keep], y_pred[keep]


def confusion_matrix(y_true, y_pred, n_classes: int, mask=None) -> np.ndarray:
    """Counts ``[true class, predicted class]`` over the positions where ``mask`` is true.

    y_true, y_pred: integer arrays of the same shape (e.g. (batch, time)); mask: same shape,
    bool (None = all). Returns an (n_classes, n_classes) int array.
    """
    t, p = _flatten(y_true, y_pred, mask)
    matrix = np.zeros((n_classes, n_classes), int)
    np.add.at(matrix, (t, p), 1)
    return matrix


def per_class_prf(y_true, y_pred, n_classes: int, mask=None) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support per class (0 where undefined), masked positions excluded.

    Returns ``{"precision", "recall", "f1", "support"}``, each of shape (n_classes,).
    """
    matrix = confusion_matrix(y_true, y_pred, n_classes, mask)
    tp = np.diag(matrix).astype(float)
    predicted, support = matrix.sum(axis=0), matrix.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denominator = precision + recall
    f1 = np.divide(
        2 * precision * recall, denominator, out=np.zeros_like(tp), where=denominator > 0
    )
    return {"precision": precision, "recall": recall, "f1": f1, "support": support}


def bio_spans(tags: list[str]) -> set[tuple[str, int, int]]:
    """Entities of one BIO-tagged sentence as ``(type, start, end)`` (end exclusive).

    An ``I-X`` that does not continue an ``X`` entity starts a new one (CoNLL evaluation rule).
    """
    spans, kind, start = set(), None, 0
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, label = tag.partition("-")
        continues = prefix == "I" and label == kind
        if kind is not None and not continues:
            spans.add((kind, start, i))
            kind = None
        if prefix in ("B", "I") and not continues:
            kind, start = label, i
    return spans


def entity_f1(true_sentences: list[list[str]], pred_sentences: list[list[str]]) -> dict[str, float]:
    """Entity-level micro precision, recall and F1: an entity counts only if type and both
    boundaries are right."""
    if len(true_sentences) != len(pred_sentences):
        raise ValueError(
            f"{len(true_sentences)} true sentences but {len(pred_sentences)} predicted"
        )
    tp = n_true = n_pred = 0
    for i, (t, p) in enumerate(zip(true_sentences, pred_sentences, strict=True)):
        if len(t) != len(p):
            raise ValueError(f"sentence {i}: {len(t)} true tags but {len(p)} predicted")
        true_spans, pred_spans = bio_spans(t), bio_spans(p)
        tp += len(true_spans & pred_spans)
        n_true += len(true_spans)
        n_pred += len(pred_spans)
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def edit_distances(hypotheses: Sequence[Sequence], references: Sequence[Sequence]) -> np.ndarray:
    """Levenshtein distance (insertions + deletions + substitutions) between each hypothesis and
    its reference. Tokens may be any hashable values (phoneme strings, characters, words, ids).

    hypotheses, references: two equally long lists of token sequences. Returns an int array
    of shape (len(hypotheses),).
    """
    import tensorflow as tf

    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    if not hypotheses:
        return np.zeros(0, int)
    ids: dict = {}

    def as_sparse(sequences):  # (n, 1, time): tf.edit_distance compares along the last axis
        rows = [[ids.setdefault(token, len(ids)) for token in seq] for seq in sequences]
        ragged = tf.ragged.constant(rows, dtype=tf.int64, ragged_rank=1)
        return tf.sparse.expand_dims(ragged.to_sparse(), 1)

    n = len(hypotheses)
    hyp, ref = as_sparse(hypotheses), as_sparse(references)
    return tf.edit_distance(hyp, ref, normalize=False).numpy().reshape(n).astype(int)


def closest_reference_distances(hypotheses, alternatives) -> tuple[np.ndarray, np.ndarray]:
    """Per item, the edit distance to its closest reference and that reference's length.

    hypotheses: n token sequences; alternatives: n lists of one or more reference sequences.
    Returns two int arrays of shape (n,). Ties go to the longer reference.
    """
    if len(hypotheses) != len(alternatives):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(alternatives)} reference lists")
    flat_hyp, flat_ref, owner = [], [], []
    for i, (hyp, refs) in enumerate(zip(hypotheses, alternatives, strict=True)):
        if not refs:
            raise ValueError(f"item {i} has no reference")
        for ref in refs:
            flat_hyp.append(hyp)
            flat_ref.append(ref)
            owner.append(i)
    distances = edit_distances(flat_hyp, flat_ref)
    lengths = np.array([len(r) for r in flat_ref])
    best_distance = np.full(len(hypotheses), np.iinfo(int).max)
    best_length = np.zeros(len(hypotheses), int)
    for d, length, i in zip(distances, lengths, owner, strict=True):
        if d < best_distance[i] or (d == best_distance[i] and length > best_length[i]):
            best_distance[i], best_length[i] = d, length
    return best_distance, best_length


def token_error_rate(hypotheses, alternatives) -> float:
    """Total edit distance over total reference length — phoneme error rate (PER), character
    error rate (CER) or, on word tokens, the speech-recognition word error rate.

    ``alternatives[i]`` lists one or more correct outputs for item i; each item is scored
    against its closest one.
    """
    distances, lengths = closest_reference_distances(hypotheses, alternatives)
    return float(distances.sum() / max(lengths.sum(), 1))


def sequence_error_rate(hypotheses, alternatives) -> float:
    """Share of items whose output matches none of its references exactly (in G2P, the "word
    error rate": the share of words pronounced wrongly)."""
    distances, _ = closest_reference_distances(hypotheses, alternatives)
    return float(np.mean(distances > 0)) if len(distances) else 0.0


def masked_loss_and_accuracy(y_true, logits, mask):
    """Per-step cross-entropy and accuracy of a tagger, averaged over the real tokens only.

    Written with ``keras.ops``: it takes NumPy arrays (evaluation) and tensors (as the loss
    of a training step, where it is differentiable in ``logits``).

    Args:
        y_true: true tags, ints of shape (batch, time).
        logits: unnormalised scores, floats of shape (batch, time, n_tags).
        mask: bool (batch, time), true at real tokens, false at padding.

    Returns:
        ``(loss, accuracy)``: two scalars, the sums over the real tokens divided by their
        number. Padded steps change neither.

    Example:
        >>> logits = np.log([[[0.5, 0.5], [0.9, 0.1], [0.1, 0.9]]])
        >>> loss, accuracy = masked_loss_and_accuracy([[0, 0, 0]], logits, [[True, True, False]])
        >>> round(float(loss), 4), float(accuracy)  # (-ln 0.5 - ln 0.9) / 2; padding ignored
        (0.3993, 1.0)
    """
    import keras

    ops = keras.ops
    logits = ops.convert_to_tensor(logits, dtype="float32")
    y_true = ops.convert_to_tensor(y_true, dtype="int32")
    weights = ops.cast(ops.convert_to_tensor(mask), "float32")
    per_step = ops.sparse_categorical_crossentropy(y_true, logits, from_logits=True)
    right = ops.cast(ops.equal(ops.cast(ops.argmax(logits, axis=-1), "int32"), y_true), "float32")
    real = ops.sum(weights)
    return ops.sum(per_step * weights) / real, ops.sum(right * weights) / real


def bits_per_character(logits, targets) -> float:
    """Average ``-log2 p(target)`` over all positions: logits (batch, time, vocab) floats,
    targets (batch, time) ints. A stable log-softmax in float64.

    Example:
        >>> bits_per_character(np.zeros((1, 3, 8)), np.array([[0, 5, 7]]))  # uniform over 8
        3.0
    """
    logits = np.asarray(logits, dtype="float64")
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_probs, np.asarray(targets)[..., None], axis=-1)
    return float(-picked.mean() / np.log(2))


def clipped_precision(candidate, references, n: int) -> tuple[int, int]:
    """BLEU's clipped n-gram counts of one candidate: (matches, candidate n-grams).

    ``candidate``: a list of tokens; ``references``: a list of token lists. Each n-gram of the
    candidate counts at most as often as it occurs in any single reference. The course's
    reference for exercise 7.2 (``nltk.translate.bleu_score.modified_precision`` gives the same
    fraction, unreduced).
    """
    from collections import Counter

    def ngrams(words):
        return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))

    counts, most = ngrams(candidate), Counter()
    for reference in references:
        for gram, count in ngrams(reference).items():
            most[gram] = max(most[gram], count)
    return sum(min(c, most[g]) for g, c in counts.items()), sum(counts.values())


def corpus_bleu(references, hypotheses, precision=clipped_precision, max_n: int = 4) -> float:
    """Corpus BLEU-``max_n`` with uniform weights, computed from ``precision(candidate,
    references, n) -> (matches, total)`` — pass your own clipped precision to score with it.

    ``references``: per hypothesis, a list of token lists; ``hypotheses``: token lists. The
    same definition as NLTK's ``corpus_bleu`` with ``SmoothingFunction().method1`` (an n whose
    matches are 0 counts 0.1 of a match): clipped counts summed over the corpus per n, their
    geometric mean (a sentence with no n-gram of some n adds one to that n's total, as in
    NLTK), times the brevity penalty exp(1 - r / c) when the hypotheses' total length
    c is below r, the sum of each hypothesis's closest reference length (the shorter on ties).

    Raises:
        ValueError: if the two lists differ in length.
    """
    if len(references) != len(hypotheses):
        raise ValueError(
            f"{len(references)} reference lists for {len(hypotheses)} hypotheses: one list each"
        )
    matches, totals = np.zeros(max_n), np.zeros(max_n)
    hyp_length = ref_length = 0
    for refs, hyp in zip(references, hypotheses, strict=True):
        for n in range(1, max_n + 1):
            m, t = precision(hyp, refs, n)
            matches[n - 1] += m
            totals[n - 1] += max(t, 1)  # as NLTK: a sentence without n-grams counts one
        hyp_length += len(hyp)
        ref_length += min((abs(len(r) - len(hyp)), len(r)) for r in refs)[1]
    if matches[0] == 0 or hyp_length == 0:
        return 0.0
    precisions = np.where(matches > 0, matches, 0.1) / totals
    penalty = 1.0 if hyp_length > ref_length else float(np.exp(1 - ref_length / hyp_length))
    return penalty * float(np.exp(np.mean(np.log(precisions))))
