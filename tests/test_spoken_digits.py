"""Notebook 08 data: the embedded digit bank, the packed real speakers and their checksums, the
utterance composer and its augmentation, the WAV reader (rates, channels, widths) and its
errors, the TFDS path under mock data, SpecAugment, and CTC decoding."""

import shutil
import struct
import wave
from pathlib import Path

import keras
import numpy as np
import pytest

from seqcourse import audio_augment
from seqcourse.audio_augment import Augmentation
from seqcourse.datasets.errors import DataError
from seqcourse.datasets.spoken_digits import (
    DIGIT_WORDS,
    REAL_FILE,
    REAL_SPEAKERS,
    SAMPLE_RATE,
    TTS_FILE,
    DigitClips,
    _bank_path,
    compose_utterances,
    load_digit_bank,
    load_real_digits,
    load_tfds_spoken_digit,
    load_tts_bank,
    load_wav_folder,
    mu_law_decode,
    mu_law_encode,
    read_wav,
)
from seqcourse.speech import (
    MEL_BANDS,
    SpecAugment,
    build_acoustic_model,
    concat,
    normalise,
    split_voices,
)


@pytest.fixture(scope="module")
def bank():
    return load_digit_bank()


def write_wav(path, audio, rate=SAMPLE_RATE, channels=1, width=2):
    """``audio`` (samples,) or (samples, channels) as integer PCM of ``width`` bytes."""
    audio = np.asarray(audio, np.float64)
    if audio.ndim == 1:
        audio = np.repeat(audio[:, None], channels, axis=1)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(audio.shape[1])
        f.setsampwidth(width)
        f.setframerate(rate)
        if width == 1:
            data = np.round(audio * 127 + 128).astype(np.uint8).tobytes()
        else:
            ints = np.round(audio * (2 ** (8 * width - 1) - 1)).astype("<i4").reshape(-1)
            data = ints.view(np.uint8).reshape(-1, 4)[:, :width].tobytes()  # little-endian
        f.writeframes(data)


# ---------------------------------------------------------------- the bank


def test_bank_holds_every_digit_for_every_speaker(bank):
    assert len(bank) == 960 and len(set(bank.speakers)) == 96
    for speaker in set(bank.speakers):
        digits = bank.digits[np.array(bank.speakers) == speaker]
        assert sorted(digits.tolist()) == list(range(10))
    lengths = np.array([len(c) for c in bank.clips]) / SAMPLE_RATE
    assert 0.15 < lengths.min() and lengths.max() < 1.5
    assert all(c.dtype == np.float32 and np.abs(c).max() <= 1.0 for c in bank.clips)


@pytest.mark.parametrize(
    "load, file, builder",
    [
        (load_digit_bank, "digit_bank.npz", "build_digit_bank"),
        (load_real_digits, REAL_FILE, "build_fsdd_bank"),
        (load_tts_bank, TTS_FILE, "build_tts_bank"),
    ],
)
def test_corrupted_or_missing_packed_clips_are_refused_with_the_fix(tmp_path, load, file, builder):
    copy = tmp_path / file
    shutil.copy(_bank_path(file), copy)
    data = bytearray(copy.read_bytes())
    data[len(data) // 3] ^= 0x01
    copy.write_bytes(bytes(data))
    with pytest.raises(DataError, match=f"corrupted.*reinstall.*{builder}"):
        load(copy)
    with pytest.raises(DataError, match="missing.*reinstall"):
        load(tmp_path / "nothing.npz")


def test_mu_law_round_trip_keeps_a_small_relative_error():
    x = np.linspace(-1, 1, 1001)
    error = np.abs(mu_law_decode(mu_law_encode(x)) - x)
    assert np.all(error <= 0.025 * np.abs(x) + 0.001)  # ~2% of the level: quiet sounds survive


# ---------------------------------------------------------------- the packed real speakers


def test_packed_real_speakers_hold_50_takes_of_every_digit(real):
    assert len(real) == 2000 and set(real.speakers) == set(REAL_SPEAKERS)
    for speaker in REAL_SPEAKERS:
        digits = real.digits[np.array(real.speakers) == speaker]
        assert np.bincount(digits, minlength=10).tolist() == [50] * 10
    assert all(c.dtype == np.float32 and 0 < len(c) < 1.5 * SAMPLE_RATE for c in real.clips)


def test_packed_real_speakers_match_the_wav_files():
    folder = Path("/work/shared/data/fsdd-dev")  # the maintainers' copy, where it exists
    if not folder.is_dir():
        pytest.skip("the FSDD development WAV files are not on this machine")
    clip = read_wav(folder / "7_lucas_3.wav")
    real = load_real_digits()
    index = [
        i for i, (s, d) in enumerate(zip(real.speakers, real.digits, strict=True))
        if s == "lucas" and d == 7
    ][3]  # sorted by take: take 3  # fmt: skip
    assert len(real.clips[index]) == len(clip)
    assert np.all(np.abs(real.clips[index] - clip) <= 0.025 * np.abs(clip) + 0.002)  # mu-law


def test_flite_festival_bank_holds_every_digit_for_54_voice_variants():
    tts = load_tts_bank()
    assert len(tts) == 540 and len(set(tts.speakers)) == 54
    assert {s.split("-")[1] for s in tts.speakers} == {
        "kal", "kal16", "awb", "rms", "slt", "ked_diphone", "kal_diphone", "cmu_us_slt_arctic_hts"
    }  # fmt: skip
    for speaker in set(tts.speakers):
        assert sorted(tts.digits[np.array(tts.speakers) == speaker].tolist()) == list(range(10))
    lengths = np.array([len(c) for c in tts.clips]) / SAMPLE_RATE
    assert 0.15 < lengths.min() and lengths.max() < 1.5
    assert not set(tts.speakers) & set(load_digit_bank().speakers)


def test_flite_festival_voices_only_ever_train(bank):
    tts = load_tts_bank()
    real = load_real_digits()
    train, synthetic_test, real_test = split_voices(bank, real, "lucas", more_voices=tts)
    assert set(tts.speakers) <= set(train.speakers)
    assert not set(tts.speakers) & set(synthetic_test.speakers)
    assert set(real_test.speakers) == {"lucas"} and "lucas" not in train.speakers
    without, same_test, _ = split_voices(bank, real, "lucas")
    assert len(train) == len(without) + len(tts) and same_test.speakers == synthetic_test.speakers


# ---------------------------------------------------------------- the composer


def test_composer_is_deterministic_and_transcripts_match_the_clips(bank):
    a = compose_utterances(bank, 20, seed=5)
    b = compose_utterances(bank, 20, seed=5)
    c = compose_utterances(bank, 20, seed=6)
    assert a[1] == b[1] and all(np.array_equal(x, y) for x, y in zip(a[0], b[0], strict=True))
    assert a[1] != c[1]
    for waveform, text, parts in zip(*a, strict=True):
        words = text.split()
        assert 3 <= len(words) <= 8
        assert words == [DIGIT_WORDS[bank.digits[i]] for i in parts]
        clip_seconds = sum(len(bank.clips[i]) for i in parts) / SAMPLE_RATE
        assert (
            0.85 * clip_seconds
            < len(waveform) / SAMPLE_RATE
            < clip_seconds + 0.3 * len(parts) + 0.6
        )
        assert waveform.dtype == np.float32 and np.abs(waveform).max() <= 0.99 + 1e-6


def test_held_out_speakers_never_reach_training_utterances(bank):
    train, test = bank.split_by_speaker({"en-us+m1", "en-gb+f2"})
    assert set(test.speakers) == {"en-us+m1", "en-gb+f2"} and len(test) == 20
    _, _, parts = compose_utterances(train, 50, seed=0)
    used = {train.speakers[i] for p in parts for i in p}
    assert not used & {"en-us+m1", "en-gb+f2"}


def test_one_speaker_utterances_keep_to_one_voice(bank, real):
    """Every utterance in one voice; voices drawn in proportion to their clips (the real
    speakers have 50 takes per digit, a synthetic voice one); a digit a voice lacks comes from
    another voice instead of failing."""
    clips = concat(bank, real)
    _, texts, parts = compose_utterances(clips, 300, seed=0, one_speaker=True)
    voices = [{clips.speakers[i] for i in p} for p in parts]
    assert all(len(v) == 1 for v in voices)
    real_share = np.mean([next(iter(v)) in REAL_SPEAKERS for v in voices])
    assert abs(real_share - len(real) / len(clips)) < 0.1  # 2000 / 2960 = 0.68
    _, _, mixed = compose_utterances(clips, 300, seed=0)
    assert sum(len({clips.speakers[i] for i in p}) > 1 for p in mixed) > 250
    no_george_seven = clips.select(~((np.array(clips.speakers) == "george") & (clips.digits == 7)))
    _, texts, parts = compose_utterances(no_george_seven, 300, seed=0, one_speaker=True)
    borrowed = 0
    for text, p in zip(texts, parts, strict=True):
        used = [no_george_seven.speakers[i] for i in p]
        if "george" in used:
            assert all(
                s == "george" or w == "seven" for s, w in zip(used, text.split(), strict=True)
            )
            borrowed += "seven" in text.split()
    assert borrowed > 0


def test_composer_needs_every_digit(bank):
    without_seven = bank.select(bank.digits != 7)
    with pytest.raises(ValueError, match=r"digit\(s\) \[7\]"):
        compose_utterances(without_seven, 3, seed=0)


def test_augmented_composition_keeps_the_strings_and_is_deterministic(bank):
    plain = compose_utterances(bank, 8, seed=4)
    a = compose_utterances(bank, 8, seed=4, augment=Augmentation())
    b = compose_utterances(bank, 8, seed=4, augment=Augmentation())
    assert a[1] == plain[1] and a[2] == plain[2]  # same digits and clips, other sound
    assert all(np.array_equal(x, y) for x, y in zip(a[0], b[0], strict=True))
    assert not all(
        len(x) == len(y) and np.allclose(x, y) for x, y in zip(a[0], plain[0], strict=True)
    )
    assert all(x.dtype == np.float32 and np.abs(x).max() <= 0.99 + 1e-6 for x in a[0])


@pytest.mark.parametrize(
    "perturb",
    [
        lambda x, rng: audio_augment.warp_formants(x, rng.uniform(0.88, 1.12)),
        audio_augment.random_eq,
        audio_augment.add_reverb,
        lambda x, rng: audio_augment.add_noise(x, rng, 10.0),
    ],
    ids=["warp_formants", "random_eq", "add_reverb", "add_noise"],
)
def test_perturbations_keep_the_length_and_are_deterministic(perturb):
    x = tone(400, 0.7).astype(np.float32) * np.hanning(5600).astype(np.float32)
    a = perturb(x, np.random.default_rng(3))
    b = perturb(x, np.random.default_rng(3))
    c = perturb(x, np.random.default_rng(4))
    assert a.shape == x.shape and a.dtype == np.float32 and np.all(np.isfinite(a))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_speed_change_shortens_and_raises_the_pitch():
    y = audio_augment.change_speed(tone(400, 1.0).astype(np.float32), 1.25)
    assert len(y) == 6400 and peak_hz(y) == pytest.approx(500, abs=3)


def test_formant_warp_moves_a_tone_and_noise_reaches_its_snr():
    x = tone(1000, 1.0).astype(np.float32)
    assert peak_hz(audio_augment.warp_formants(x, 0.9)) == pytest.approx(900, abs=32)
    noisy = audio_augment.add_noise(x, np.random.default_rng(0), 10.0)
    snr = 10 * np.log10(np.mean(x**2) / np.mean((noisy - x) ** 2))
    assert snr == pytest.approx(10.0, abs=0.2)


# ---------------------------------------------------------------- features and SpecAugment


def test_per_utterance_normalisation_removes_a_constant_channel_colouring():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, MEL_BANDS)).astype(np.float32)
    coloured = x * 2 + rng.normal(size=MEL_BANDS).astype(np.float32) * 10  # EQ: dB offsets
    np.testing.assert_allclose(normalise([x])[0], normalise([coloured])[0], atol=5e-3)


def test_spec_augment_masks_only_while_training_and_round_trips(tmp_path):
    layer = SpecAugment(freq_masks=2, max_bands=6, time_masks=2, max_frames=10, seed=3)
    x = np.random.default_rng(0).normal(size=(4, 60, MEL_BANDS)).astype("float32") + 5
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    masked = np.asarray(layer(x, training=True))
    zero = masked == 0
    assert zero.any() and np.array_equal(masked[~zero], x[~zero])
    assert zero.mean() <= (2 * 6 / MEL_BANDS + 2 * 10 / 60)  # at most the masks' widths
    clone = SpecAugment.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    model = build_acoustic_model(units=8)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", compile=False)
    features = x[:2] - 5
    np.testing.assert_allclose(
        np.asarray(loaded(features)), np.asarray(model(features)), rtol=1e-5, atol=1e-5
    )


# ---------------------------------------------------------------- WAV folders


def test_wav_folder_loader_reads_the_fsdd_layout(tmp_path):
    tone = 0.5 * np.sin(np.arange(800) / 5)
    write_wav(tmp_path / "3_alice_0.wav", tone)
    write_wav(tmp_path / "7_bob_12.wav", tone[:400])
    clips = load_wav_folder(tmp_path)
    assert clips.digits.tolist() == [3, 7] and clips.speakers == ("alice", "bob")
    np.testing.assert_allclose(clips.clips[0], tone, atol=1e-4)


def tone(frequency, seconds=0.5, rate=SAMPLE_RATE, level=0.5):
    return level * np.sin(2 * np.pi * frequency * np.arange(int(seconds * rate)) / rate)


def peak_hz(audio):
    spectrum = np.abs(np.fft.rfft(audio))
    return np.fft.rfftfreq(len(audio), 1 / SAMPLE_RATE)[spectrum.argmax()]


@pytest.mark.parametrize("rate", [11025, 16000, 44100, 48000])
def test_other_sample_rates_are_resampled_to_8_khz(tmp_path, rate):
    write_wav(tmp_path / "1_x_0.wav", tone(440, rate=rate) + tone(6000, rate=rate, level=0.3), rate)
    audio = read_wav(tmp_path / "1_x_0.wav")
    assert audio.dtype == np.float32 and len(audio) == SAMPLE_RATE // 2
    assert peak_hz(audio) == pytest.approx(440, abs=3)
    # 6 kHz lies above the new Nyquist frequency (4 kHz): removed, not folded down to 2 kHz
    spectrum = np.abs(np.fft.rfft(audio))
    freqs = np.fft.rfftfreq(len(audio), 1 / SAMPLE_RATE)
    assert spectrum[np.abs(freqs - 2000) < 50].max() < 0.01 * spectrum.max()


def test_stereo_is_mixed_down(tmp_path):
    both = np.stack([tone(300), tone(300, level=0.1)], axis=1)
    write_wav(tmp_path / "1_x_0.wav", both)
    np.testing.assert_allclose(read_wav(tmp_path / "1_x_0.wav"), tone(300, level=0.3), atol=1e-4)


@pytest.mark.parametrize(("width", "atol"), [(1, 1e-2), (2, 1e-4), (3, 1e-6), (4, 1e-6)])
def test_integer_sample_widths_are_read(tmp_path, width, atol):
    write_wav(tmp_path / "1_x_0.wav", tone(500), width=width)
    np.testing.assert_allclose(read_wav(tmp_path / "1_x_0.wav"), tone(500), atol=atol)


def write_float_wav(path, audio, format_tag=3):
    """A WAVE_FORMAT_IEEE_FLOAT (format 3) file, which Python's wave module does not read (or,
    with another ``format_tag``, a file that claims a compressed format: 85 is MPEG layer 3)."""
    data = np.asarray(audio, "<f4").tobytes()
    fmt = struct.pack("<HHIIHH", format_tag, 1, SAMPLE_RATE, 4 * SAMPLE_RATE, 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def test_floating_point_wavs_are_read(tmp_path):
    """What DAWs and phones often write (issue 39: it used to be refused as "unknown format")."""
    write_float_wav(tmp_path / "1_x_0.wav", tone(300))
    np.testing.assert_allclose(read_wav(tmp_path / "1_x_0.wav"), tone(300), atol=1e-6)


def test_unsupported_wavs_name_the_file_and_the_fix(tmp_path):
    write_wav(tmp_path / "1_x_0.wav", tone(300, rate=4000), rate=4000)
    with pytest.raises(DataError, match="1_x_0.wav: sample rate 4000 Hz is below 8000"):
        load_wav_folder(tmp_path)
    write_float_wav(tmp_path / "1_x_0.wav", tone(300), format_tag=85)
    with pytest.raises(
        DataError, match="1_x_0.wav: not a PCM or floating-point WAV.*compressed.*sox"
    ):
        load_wav_folder(tmp_path)
    write_wav(tmp_path / "1_x_0.wav", np.zeros(0))
    with pytest.raises(DataError, match="1_x_0.wav: the file holds no audio"):
        load_wav_folder(tmp_path)


def test_unreadable_and_misnamed_files_are_reported(tmp_path):
    (tmp_path / "2_x_0.wav").write_bytes(b"not a wav file")
    with pytest.raises(DataError, match="not a readable WAV"):
        read_wav(tmp_path / "2_x_0.wav")
    (tmp_path / "recording.wav").write_bytes(b"")
    with pytest.raises(DataError, match="recording.wav"):
        load_wav_folder(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no WAV files"):
        load_wav_folder(tmp_path / "empty")
    with pytest.raises(DataError, match="not a folder"):
        load_wav_folder(tmp_path / "missing")


# ---------------------------------------------------------------- TFDS under mock data


def test_tfds_spoken_digit_under_mock_data():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=12):
        clips = load_tfds_spoken_digit()
    assert isinstance(clips, DigitClips) and len(clips) == 12
    assert all(c.dtype == np.float32 for c in clips.clips)
    assert set(clips.digits.tolist()) <= set(range(10))


# ---------------------------------------------------------------- CTC decoding


def test_ctc_greedy_and_beam_decode_a_hand_made_example():
    # Frames spell "a a" with a blank between the two a's; blank = 0, 'a' = 1, ' ' = 2.
    path = [0, 1, 1, 0, 2, 2, 1, 1, 0]
    probs = np.full((1, len(path), 3), 0.05, "float32")
    probs[0, np.arange(len(path)), path] = 0.9
    for strategy in ("greedy", "beam_search"):
        decoded, _ = keras.ops.ctc_decode(
            np.log(probs), np.array([len(path)]), strategy=strategy, beam_width=8
        )
        ids = [int(i) for i in np.asarray(decoded[0][0]) if i >= 0]
        assert ids == [1, 2, 1], strategy


def test_ctc_beam_search_sums_paths_that_greedy_cannot():
    # Two frames. Per frame: blank 0.4, 'a' 0.35, 'b' 0.25. Greedy: blank, blank -> "".
    # But P("a") = P(a_) + P(_a) + P(aa) = 0.35*0.4*2 + 0.35**2 = 0.4025 > P("") = 0.16.
    probs = np.array([[[0.4, 0.35, 0.25]] * 2], "float32")
    greedy, _ = keras.ops.ctc_decode(np.log(probs), np.array([2]), strategy="greedy")
    beam, _ = keras.ops.ctc_decode(
        np.log(probs), np.array([2]), strategy="beam_search", beam_width=8
    )
    assert [int(i) for i in np.asarray(greedy[0][0]) if i >= 0] == []
    assert [int(i) for i in np.asarray(beam[0][0]) if i >= 0] == [1]


# ---------------------------------------------------------------- notebook = benchmark recipe


def test_the_benchmark_quotes_the_recipe_the_notebook_runs():
    """benchmarks/speech_loso.py trains ``Recipe()``; the notebook's default-mode sizes must be
    the same, or docs/speech_loso.md would quote another recipe's numbers."""
    import ast

    import nbformat

    from seqcourse.parameters import parameters_cell
    from seqcourse.speech import Recipe

    path = Path(__file__).parents[1] / "notebooks" / "08_speech_recognition.ipynb"
    nb = nbformat.read(path, as_version=4)
    values = {}
    for node in ast.parse(nb.cells[parameters_cell(nb)].source).body:
        value = node.value
        if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "scale":
            value = value.args[0]  # the default-mode size
        values[node.targets[0].id] = ast.literal_eval(value)
    recipe = Recipe()
    assert (values["N_TRAIN"], values["N_VAL"], values["N_TEST"]) == (
        recipe.n_train,
        recipe.n_val,
        recipe.n_test,
    )
    assert (values["EPOCHS"], values["LEARNING_RATE"]) == (recipe.epochs, recipe.learning_rate)


def test_the_ablation_ladder_adds_one_piece_per_row_through_the_recipe():
    """Each row of benchmarks/speech_loso.py's ablation differs from the one before in exactly
    one of the recipe's pieces, and the row named as the notebook's recipe is ``Recipe()``: a
    table whose rows skipped or repeated a piece would measure something else than it says."""
    import dataclasses
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    from speech_loso import LOSO_NAME, ablation_rows

    from seqcourse.speech import Recipe

    rows = ablation_rows({})
    assert {name: (recipe, seed) for name, recipe, seed in rows}[LOSO_NAME] == (Recipe(), 42)
    assert {seed for *_, seed in rows} == {42}  # the notebook's seed: rows differ in recipe only
    recipes = [recipe for _, recipe, _ in rows]
    assert not recipes[0].tts_voices and not recipes[0].real and recipes[0].augment is None
    switched = []
    for before, after in zip(recipes, recipes[1:], strict=False):
        changed = [
            f.name
            for f in dataclasses.fields(Recipe)
            if getattr(before, f.name) != getattr(after, f.name)
        ]
        assert len(changed) == 1, changed
        switched += changed
    assert set(switched) == {
        "tts_voices", "real", "cmvn", "spec_augment", "augment", "one_speaker"
    }  # fmt: skip


def test_the_seed_report_averages_each_speaker_over_the_seeds(tmp_path, capsys):
    """``speech_loso.py report`` on runs of the notebook's recipe with several seeds adds a row
    of per-speaker means over the seeds, only for speakers every seed measured."""
    import json
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    from speech_loso import LOSO_NAME, report

    def row(config, speaker, cer):
        metrics = ("real_wer", "real_cer_lexicon", "real_wer_lexicon", "synthetic_cer")
        return {"config": config, "speaker": speaker, "real_cer": cer} | dict.fromkeys(metrics, 0.5)

    rows = [
        row(LOSO_NAME, "george", 0.20),
        row(LOSO_NAME, "lucas", 0.10),
        row(f"{LOSO_NAME}, seed 7", "george", 0.16),
        row(f"{LOSO_NAME}, seed 7", "lucas", 0.12),
        row(f"{LOSO_NAME}, seed 1234", "george", 0.18),  # lucas missing for this seed
    ]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report([path])
    mean_line = next(
        line for line in capsys.readouterr().out.splitlines() if "mean of 3 seeds" in line
    )
    cells = [c.strip() for c in mean_line.split("|")]
    assert cells[1] == "the notebook's recipe, mean of 3 seeds (1 speakers)"
    assert cells[2:4] == ["18.0%", "–"]  # george: (20 + 16 + 18) / 3; lucas: not every seed


def _always(char: str):
    """An acoustic model whose every frame says ``char`` ("" = the CTC blank)."""
    from seqcourse.speech import CHAR_ID, N_CLASSES

    model = build_acoustic_model(spec_augment=False, units=4)
    weights, bias = model.layers[-1].get_weights()
    bias[CHAR_ID.get(char, 0)] = 50.0
    model.layers[-1].set_weights([np.zeros_like(weights), bias])
    assert bias.shape == (N_CLASSES,)
    return model


def test_per_speaker_report_scores_each_speaker_and_all(real):
    """TEST_WAVS: every recording decoded alone, CER/WER per speaker named in the file names
    and over all (issue 34): a model that hears nothing deletes every character and word."""
    from seqcourse.speech import per_speaker_rates

    keep = np.flatnonzero(np.isin(real.speakers, ["george", "lucas"]))[::50]  # 20 recordings
    clips = real.select(np.isin(np.arange(len(real)), keep))
    report = per_speaker_rates(_always(""), clips, stats=None)
    assert list(report) == ["george", "lucas", "all"]
    for rates in report.values():
        assert rates["greedy"] == (1.0, 1.0)  # nothing heard: every character and word deleted
        cer, wer = rates["lexicon"]  # the lexicon always spells a digit word
        assert 0 <= cer and 0 < wer
    words = per_speaker_rates(_always(""), clips, stats=None, strategies=("greedy",))
    assert list(words["all"]) == ["greedy"]


@pytest.fixture(scope="module")
def real():
    return load_real_digits()


def test_the_nested_choice_never_looks_at_the_outer_speaker():
    """``speech_loso.py``'s nested protocol chooses the recipe and decoding for a held-out
    speaker from the other three speakers' inner results only. Rows where the outer speaker
    itself favours candidate "B" (and "A" is better on the others) must leave the choice at
    "A"; a decoding measured on only some of the others does not compete."""
    import itertools
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    from speech_loso import choose

    from seqcourse.datasets.spoken_digits import REAL_SPEAKERS

    def cer(candidate, speaker):
        if speaker == "george":  # the outer speaker: B looks far better on it
            return 0.05 if candidate == "B" else 0.50
        return 0.10 if candidate == "A" else 0.20

    rows = []
    for candidate, pair in itertools.product("AB", itertools.combinations(REAL_SPEAKERS, 2)):
        for speaker in pair:
            value = cer(candidate, speaker)
            rows.append({"stage": "inner", "candidate": candidate, "heldout": list(pair),
                         "speaker": speaker, "real_cer": value, "real_cer_lexicon": value + 0.01,
                         "real_cer_own": 0.0 if speaker != "jackson" else None})  # fmt: skip
    for r in rows:  # "own statistics" measured for jackson only in george's folds: incomplete
        if r["real_cer_own"] is None or "george" not in r["heldout"]:
            r.pop("real_cer_own")
    (candidate, decoding), scores = choose(rows, "george")
    assert (candidate, decoding) == ("A", "greedy"), scores
    assert scores[("A", "greedy")] == pytest.approx(0.10)
    assert scores[("B", "lexicon")] == pytest.approx(0.21)
    assert not any("own" in d for _, d in scores)
    (candidate, _), scores = choose(rows, "lucas")  # george now among the others: B's 0.05 counts
    assert candidate == "B", scores  # (0.05 + 0.20 + 0.20) / 3 against (0.50 + 0.10 + 0.10) / 3
