"""Notebook 08's speech recogniser, shared with ``benchmarks/speech_loso.py``.

The pieces, in the order the notebook uses them: :func:`split_voices` (who trains, who tests),
:func:`compose_sets` (utterances), :func:`log_mel` and :func:`normalise` (features),
:class:`SpecAugment` and :func:`build_acoustic_model` (the model), :func:`make_dataset`,
:func:`ctc_loss` and :func:`fit` (training), :func:`transcribe` and :func:`error_rates`
(evaluation). :class:`Recipe` names the choices the benchmark's ablation switches on one by
one; ``Recipe()`` is what the notebook runs in default mode.
"""

from __future__ import annotations

import dataclasses
import time

import keras
import numpy as np
from keras import layers

from seqcourse.audio_augment import Augmentation
from seqcourse.ctc import LexiconDecoder, collapse_path
from seqcourse.datasets.spoken_digits import (
    DIGIT_WORDS,
    SAMPLE_RATE,
    DigitClips,
    compose_utterances,
    load_tts_bank,
)
from seqcourse.metrics import edit_distances, token_error_rate

HOP = 80  # samples between frames: 10 ms at 8 kHz
FRAME_RATE = SAMPLE_RATE // HOP  # 100 feature frames per second
MEL_BANDS = 40  # numbers per frame
DOWNSAMPLE = 4  # the acoustic model's two stride-2 convolutions: 25 output frames per second
ALPHABET = " abcdefghijklmnopqrstuvwxyz"
CHAR_ID = {c: i + 1 for i, c in enumerate(ALPHABET)}  # 0 = blank
ID_CHAR = {i: c for c, i in CHAR_ID.items()}
N_CLASSES = len(CHAR_ID) + 1


@dataclasses.dataclass(frozen=True)
class Recipe:
    """What goes into training. Defaults: the notebook's default mode — the choices that
    measured best on unseen real speakers (``docs/speech_loso.md``): every voice available,
    none of the robustness options, which did not help there.

    ``tts_voices``: train on the Flite/Festival voices too (not only espeak-ng's);
    ``real``: train on the real speakers too (not only the synthetic voices); ``cmvn``:
    per-utterance mean/variance normalisation of the features (else the training set's global
    statistics); ``spec_augment``: time and frequency masking while training; ``augment``:
    the waveform perturbations applied to training utterances (None: none); ``one_speaker``:
    each training and validation utterance in one voice, as a test utterance is (else every
    digit from any voice)."""

    n_train: int = 2000
    n_val: int = 200
    n_test: int = 400
    epochs: int = 6
    learning_rate: float = 2e-3
    tts_voices: bool = True
    real: bool = True
    cmvn: bool = False
    spec_augment: bool = False
    augment: Augmentation | None = None
    one_speaker: bool = False


# ---------------------------------------------------------------- data


def split_voices(bank: DigitClips, real: DigitClips, heldout_speaker, more_voices=None):
    """``(train_clips, synthetic_test_clips, real_test_clips)``: one espeak-ng voice of
    ``bank`` in eight held out (chosen by a fixed seed, as the notebook always did), and the
    real speaker ``heldout_speaker`` (a name or a list of names; None: every real speaker
    trains, and the real test set is empty). ``more_voices`` (clips, e.g. the Flite/Festival
    bank) only ever train: their variants share voices, so none of them is a new voice."""
    if isinstance(heldout_speaker, str):
        heldout_speaker = [heldout_speaker]
    voices = sorted(set(bank.speakers))
    rng = np.random.default_rng(0)
    test_voices = set(rng.choice(voices, max(len(voices) // 8, 1), replace=False))
    bank_train, bank_test = bank.split_by_speaker(test_voices)
    real_train, real_test = real.split_by_speaker(list(heldout_speaker or []))
    parts = [bank_train] + ([more_voices] if more_voices is not None else []) + [real_train]
    return concat(*parts), bank_test, real_test


def concat(*parts: DigitClips) -> DigitClips:
    """The clips of all ``parts``, in order."""
    return DigitClips(
        tuple(c for p in parts for c in p.clips),
        np.concatenate([p.digits for p in parts]).astype(int),
        tuple(s for p in parts for s in p.speakers),
    )


def compose_sets(train_clips: DigitClips, test_clips: dict, recipe: Recipe):
    """``{name: (waveforms, transcripts)}`` for "train" (augmented as the recipe says; seed 1),
    "val" (seed 2) and each test set of ``test_clips`` ({name: clips}, seed 3, so every test
    set — the notebook's, the benchmark's, one from ``TEST_WAVS`` — is composed alike)."""
    sets = {
        "train": compose_utterances(
            train_clips,
            recipe.n_train,
            seed=1,
            augment=recipe.augment,
            one_speaker=recipe.one_speaker,
        ),
        "val": compose_utterances(
            train_clips, recipe.n_val, seed=2, one_speaker=recipe.one_speaker
        ),
    }
    for name, clips in test_clips.items():
        sets[name] = compose_utterances(clips, recipe.n_test, seed=3)
    return {name: (audio, text) for name, (audio, text, _) in sets.items()}


# ---------------------------------------------------------------- features

_MEL = None


def mel_layer() -> layers.MelSpectrogram:
    """The power mel spectrogram in dB: 32 ms windows every 10 ms, 40 bands from 60 Hz to
    3.8 kHz. ``top_db=200`` keeps the layer's relative floor (200 dB below the loudest value in
    the *batch*) below its absolute floor (-100 dB), so no utterance's features depend on the
    others in its batch."""
    global _MEL
    if _MEL is None:
        _MEL = layers.MelSpectrogram(
            fft_length=256, sequence_stride=HOP, sampling_rate=SAMPLE_RATE,
            num_mel_bins=MEL_BANDS, min_freq=60.0, max_freq=3800.0, top_db=200.0,
        )  # fmt: skip
    return _MEL


def log_mel(waveforms, batch_size: int = 256) -> list[np.ndarray]:
    """List of waveforms -> list of (frames, MEL_BANDS) float32 log-mel arrays in dB, one frame
    per ``HOP`` samples, computed in padded batches."""
    mel, features = mel_layer(), []
    for i in range(0, len(waveforms), batch_size):
        chunk = waveforms[i : i + batch_size]
        padded = keras.utils.pad_sequences(chunk, dtype="float32", padding="post")
        spectra = np.asarray(mel(padded)).transpose(0, 2, 1)  # (batch, frames, mels)
        features += [s[: len(w) // HOP + 1] for s, w in zip(spectra, chunk, strict=True)]
    return features


def normalise(features, stats=None) -> list[np.ndarray]:
    """Per-utterance mean/variance normalisation (``stats`` None): every mel band of every
    utterance shifted and scaled to mean 0, variance 1 over its frames — a microphone's or
    a voice's constant colouring is a constant offset per band in dB, and this removes it.
    With ``stats=(mean, std)`` (the training set's, per band) every utterance is normalised
    alike instead, and keeps its colouring.

    Example:
        >>> x = normalise([np.array([[0.0, 10.0], [2.0, 30.0]], np.float32)])[0]
        >>> x.round(2).tolist()  # (the 1e-3 added to the std keeps silence finite)
        [[-1.0, -1.0], [1.0, 1.0]]
    """
    if stats is not None:
        mean, std = stats
        return [((x - mean) / std).astype(np.float32) for x in features]
    return [((x - x.mean(axis=0)) / (x.std(axis=0) + 1e-3)).astype(np.float32) for x in features]


def global_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Per-band mean and standard deviation over every frame of ``features``."""
    stacked = np.concatenate(features)
    return stacked.mean(axis=0), stacked.std(axis=0) + 1e-6


# ---------------------------------------------------------------- model


@keras.saving.register_keras_serializable(package="seqcourse")
class SpecAugment(layers.Layer):
    """SpecAugment-style masking (Park et al., 2019) of (batch, frames, bands) features, only
    while training: per utterance, ``freq_masks`` runs of up to ``max_bands`` bands and
    ``time_masks`` runs of up to ``max_frames`` frames are set to ``value`` (0: the average
    frame after normalisation). At inference the layer is the identity.

    Example:
        >>> layer = SpecAugment(seed=1)
        >>> x = np.ones((2, 50, 40), "float32")
        >>> bool(np.all(np.asarray(layer(x)) == 1))  # inference: unchanged
        True
        >>> float(np.asarray(layer(x, training=True)).mean()) < 1  # training: some zeros
        True
    """

    def __init__(
        self,
        freq_masks: int = 2,
        max_bands: int = 6,
        time_masks: int = 2,
        max_frames: int = 10,
        value: float = 0.0,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.freq_masks, self.max_bands = freq_masks, max_bands
        self.time_masks, self.max_frames = time_masks, max_frames
        self.value, self.seed = value, seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def _masked(self, x, axis: int, count: int, widest: int):
        ops = keras.ops
        size = ops.shape(x)[axis]
        batch = ops.shape(x)[0]
        position = ops.cast(ops.arange(size), "float32")
        position = ops.reshape(position, (1, -1, 1) if axis == 1 else (1, 1, -1))
        keep = ops.ones_like(x, dtype="bool")
        for _ in range(count):
            draw = keras.random.uniform((batch, 1, 1), seed=self.seed_generator)
            width = ops.floor(draw * (widest + 1))
            draw = keras.random.uniform((batch, 1, 1), seed=self.seed_generator)
            start = ops.floor(draw * ops.maximum(ops.cast(size, "float32") - width, 1.0))
            inside = ops.logical_and(position >= start, position < start + width)
            keep = ops.logical_and(keep, ops.logical_not(inside))
        return ops.where(keep, x, ops.cast(self.value, x.dtype))

    def call(self, inputs, training=None):
        if not training:
            return inputs
        x = self._masked(inputs, 2, self.freq_masks, self.max_bands)
        return self._masked(x, 1, self.time_masks, self.max_frames)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "freq_masks": self.freq_masks,
            "max_bands": self.max_bands,
            "time_masks": self.time_masks,
            "max_frames": self.max_frames,
            "value": self.value,
            "seed": self.seed,
        }


def build_acoustic_model(
    spec_augment: bool = True, units: int = 96, dropout: float = 0.0, seed: int = 0
) -> keras.Model:
    """(batch, frames, MEL_BANDS) normalised log-mel features -> (batch, frames / DOWNSAMPLE,
    N_CLASSES) logits: [SpecAugment while training], two stride-2 convolutions (context around
    each frame; 100 -> 25 frames per second), two bidirectional GRUs, a dense layer."""
    features = keras.Input((None, MEL_BANDS), name="log_mel")
    x = SpecAugment(seed=seed, name="spec_augment")(features) if spec_augment else features
    x = layers.Conv1D(units, 5, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv1D(units, 5, strides=2, padding="same", activation="relu")(x)
    for _ in range(2):
        x = layers.Dropout(dropout, seed=seed)(x) if dropout else x
        x = layers.Bidirectional(layers.GRU(units, return_sequences=True))(x)
    x = layers.Dropout(dropout, seed=seed)(x) if dropout else x
    return keras.Model(features, layers.Dense(N_CLASSES, name="logits")(x))


# ---------------------------------------------------------------- training


def output_frames(features) -> int:
    """The model's number of output frames for ``features``: ceil(frames / DOWNSAMPLE)."""
    return -(-len(features) // DOWNSAMPLE)


def make_dataset(features, texts, shuffle: bool, batch_size: int = 32):
    """Padded batches of (features (batch, frames, MEL_BANDS), targets (batch, 1 + chars)):
    targets[:, 0] is the number of real model output frames; targets[:, 1:] the character
    ids, padded with 0 ('no label': 0 is the blank). Features padded with 0 frames. With
    ``shuffle``, reshuffled every epoch and batched by similar length."""
    import tensorflow as tf

    targets = [
        [output_frames(x)] + [CHAR_ID[c] for c in t] for x, t in zip(features, texts, strict=True)
    ]
    ds = tf.data.Dataset.from_generator(
        lambda: zip(features, targets, strict=True),
        output_signature=(
            tf.TensorSpec((None, MEL_BANDS), tf.float32),
            tf.TensorSpec((None,), tf.int32),
        ),
    ).cache()
    if not shuffle:
        return ds.padded_batch(batch_size).prefetch(tf.data.AUTOTUNE)
    # Training: shuffled, then batched with utterances of similar length (less padding to
    # compute on: about a third less work per epoch than batches of random lengths).
    ds = ds.shuffle(len(targets), seed=0)
    ds = ds.bucket_by_sequence_length(
        lambda x, y: tf.shape(x)[0],
        bucket_boundaries=[200, 275, 350, 425],  # frames: 2-4.25 s
        bucket_batch_sizes=[batch_size] * 5,
    )
    return ds.prefetch(tf.data.AUTOTUNE)


def ctc_loss(targets, logits):
    """CTC loss per utterance over its real frames. targets (batch, 1 + chars) as
    :func:`make_dataset` packs them; logits (batch, frames, classes)."""
    logit_length = keras.ops.cast(targets[:, 0], "int32")
    labels = keras.ops.cast(targets[:, 1:], "int32")
    label_length = keras.ops.sum(keras.ops.cast(labels > 0, "int32"), axis=1)
    return keras.ops.ctc_loss(labels, logits, label_length, logit_length, mask_index=0)


def fit(model, train_ds, val_ds, epochs: int, learning_rate: float, verbose=2):
    """Adam with a 10% linear warm-up to ``learning_rate`` then cosine decay to 0, gradient
    norm clipped at 5; the trained model keeps the exponential moving average of the weights
    over the last ~50 steps (momentum 0.98; the history's losses are those of the raw
    weights). Returns ``(history, loss_before, seconds)``: the validation loss of the
    untrained model, and the training time."""
    steps = epochs * sum(1 for _ in train_ds)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, steps, warmup_target=float(learning_rate), warmup_steps=max(steps // 10, 1)
    )
    optimizer = keras.optimizers.Adam(schedule, clipnorm=5.0, use_ema=True, ema_momentum=0.98)
    model.compile(optimizer, loss=ctc_loss)
    # the optimizer's variables now: fit then traces its training step once, not twice
    model.optimizer.build(model.trainable_variables)
    loss_before = model.evaluate(val_ds, verbose=0)
    start = time.perf_counter()
    history = model.fit(train_ds, validation_data=val_ds, epochs=epochs, verbose=verbose)
    return history, loss_before, time.perf_counter() - start


# ---------------------------------------------------------------- evaluation


def transcribe(
    model, features, strategy: str = "greedy", collapse=collapse_path, beam_width: int = 16
) -> list[str]:
    """List of normalised (frames, MEL_BANDS) features -> list of strings. "greedy": the best
    class per frame, then ``collapse`` (the CTC collapse rule); "beam_search":
    ``keras.ops.ctc_decode`` with ``beam_width``; "lexicon": the best frame path that spells
    digit words separated by spaces (:func:`digit_lexicon`). All stop at each utterance's last
    real output frame."""
    texts = []
    for i in range(0, len(features), 64):
        batch = features[i : i + 64]
        padded = keras.utils.pad_sequences(batch, dtype="float32", padding="post")
        log_probs = np.asarray(keras.ops.log_softmax(model.predict(padded, verbose=0)))
        lengths = np.array([output_frames(x) for x in batch])
        if strategy == "greedy":
            best = log_probs.argmax(-1)  # (batch, frames): the best class per frame
            paths = [collapse(b[:n]) for b, n in zip(best, lengths, strict=True)]
        elif strategy == "lexicon":
            paths = [digit_lexicon()(p[:n]) for p, n in zip(log_probs, lengths, strict=True)]
        else:
            decoded, _ = keras.ops.ctc_decode(
                log_probs, lengths, strategy=strategy, beam_width=beam_width
            )
            paths = [[i for i in ids if i > 0] for ids in np.asarray(decoded[0])]
        texts += ["".join(ID_CHAR[int(i)] for i in ids).strip() for ids in paths]
    return texts


_LEXICON = None


def digit_lexicon() -> LexiconDecoder:
    """The decoder that only spells the ten digit words, separated by spaces."""
    global _LEXICON
    if _LEXICON is None:
        _LEXICON = LexiconDecoder([[CHAR_ID[c] for c in w] for w in DIGIT_WORDS], CHAR_ID[" "])
    return _LEXICON


def error_rate(hypotheses, references) -> float:
    """Corpus-level error rate: total edit distance / total reference length (strings: CER)."""
    distances = edit_distances(hypotheses, references)
    return float(np.sum(distances) / sum(len(r) for r in references))


def error_rates(recognised, references) -> tuple[float, float]:
    """(CER, WER) at corpus level; WER counts word substitutions, insertions and deletions."""
    wer = token_error_rate([r.split() for r in recognised], [[t.split()] for t in references])
    return error_rate(recognised, references), wer


def per_speaker_rates(
    model, clips: DigitClips, stats, strategies=("greedy", "lexicon"), collapse=collapse_path
) -> dict[str, dict[str, tuple[float, float]]]:
    """Decode every recording of ``clips`` on its own and score it by speaker.

    Each clip (one spoken digit) gets 0.2 s of silence at both ends, as composed utterances
    have, and the features the model was trained on (:func:`log_mel`, :func:`normalise` with
    ``stats``; None: per utterance). -> ``{speaker: {strategy: (CER, WER)}}`` for every speaker
    in ``clips.speakers`` (sorted), then ``"all"`` over every recording: who the model fails,
    when a teacher records a class.
    """
    pad = np.zeros(int(0.2 * SAMPLE_RATE), np.float32)
    waveforms = [np.concatenate([pad, np.asarray(c, np.float32), pad]) for c in clips.clips]
    features = normalise(log_mel(waveforms), stats)
    truths = [DIGIT_WORDS[int(d)] for d in clips.digits]
    speakers = np.array(clips.speakers)
    heard = {s: transcribe(model, features, s, collapse=collapse) for s in strategies}
    report = {}
    for speaker in [*sorted(set(clips.speakers)), "all"]:
        keep = np.flatnonzero(
            np.ones(len(truths), bool) if speaker == "all" else speakers == speaker
        )
        report[speaker] = {
            s: error_rates([heard[s][i] for i in keep], [truths[i] for i in keep])
            for s in strategies
        }
    return report


def run_recipe(
    recipe: Recipe,
    bank: DigitClips,
    real: DigitClips,
    heldout_speaker: str | list[str],
    verbose=0,
    seed: int = 42,
) -> dict[str, dict[str, float]]:
    """Train ``recipe`` with the real speaker ``heldout_speaker`` out, as the notebook does;
    ``{speaker: metrics}`` with CER/WER on the held-out synthetic voices (``synthetic_cer``,
    ...) and on the held-out real speaker (``real_cer``, ...), greedy and (``_lexicon``)
    decoded with the digit lexicon, and timings. Where the recipe normalises features with the
    training set's statistics, each real speaker is also decoded with its features normalised
    with its own statistics over all its test utterances (per-speaker CMVN: no label looked at;
    ``real_cer_own``, ``real_cer_own_lexicon``, ...). ``heldout_speaker`` may name several real
    speakers (a list): none of them trains, each is tested on its own. A recipe without real
    speakers hears none of them, so one training run tests every real speaker: then the
    result has one entry per speaker. ``seed`` seeds the model's initial weights (the
    notebook's is 42); the utterances are composed with their own fixed seeds whatever it is."""
    start = time.perf_counter()
    tts = load_tts_bank() if recipe.tts_voices else None
    heldout = [heldout_speaker] if isinstance(heldout_speaker, str) else list(heldout_speaker)
    tested = heldout if recipe.real else sorted(set(real.speakers))
    train_clips, synthetic_test, _ = split_voices(bank, real, tested, more_voices=tts)
    test_clips = {"synthetic": synthetic_test}
    test_clips.update({s: real.split_by_speaker([s])[1] for s in tested})
    sets = compose_sets(train_clips, test_clips, recipe)
    raw = {name: log_mel(audio) for name, (audio, _) in sets.items()}
    stats = None if recipe.cmvn else global_stats(raw["train"])
    features = {name: normalise(x, stats) for name, x in raw.items()}
    tests = [(name, "", features[name]) for name in test_clips]  # (set, metric suffix, features)
    if stats is not None:  # each real speaker also normalised with its own statistics
        tests += [(s, "_own", normalise(raw[s], global_stats(raw[s]))) for s in tested]
    data_seconds = time.perf_counter() - start
    keras.utils.set_random_seed(seed)
    model = build_acoustic_model(spec_augment=recipe.spec_augment)
    train_ds = make_dataset(features["train"], sets["train"][1], shuffle=True)
    val_ds = make_dataset(features["val"], sets["val"][1], shuffle=False)
    history, _, train_seconds = fit(
        model, train_ds, val_ds, recipe.epochs, recipe.learning_rate, verbose
    )
    common = {"data_seconds": data_seconds, "train_seconds": train_seconds}
    common["val_loss"] = history.history["val_loss"][-1]
    measured = {name: {} for name in test_clips}
    for name, variant, normalised in tests:
        for strategy, suffix in (("greedy", ""), ("lexicon", "_lexicon")):
            cer, wer = error_rates(transcribe(model, normalised, strategy), sets[name][1])
            measured[name] |= {f"cer{variant}{suffix}": cer, f"wer{variant}{suffix}": wer}
    common |= {f"synthetic_{key}": value for key, value in measured["synthetic"].items()}
    return {s: {**common, **{f"real_{k}": v for k, v in measured[s].items()}} for s in tested}
