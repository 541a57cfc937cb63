"""Notebook 08 data: the embedded digit bank and its checksum, the utterance composer, the
WAV-folder loader and its errors, the TFDS path under mock data, and CTC decoding."""

import shutil
import wave

import keras
import numpy as np
import pytest

from seqcourse.datasets.errors import DataError
from seqcourse.datasets.spoken_digits import (
    DIGIT_WORDS,
    SAMPLE_RATE,
    DigitClips,
    _bank_path,
    compose_utterances,
    load_digit_bank,
    load_tfds_spoken_digit,
    load_wav_folder,
    mu_law_decode,
    mu_law_encode,
    read_wav,
)


@pytest.fixture(scope="module")
def bank():
    return load_digit_bank()


def write_wav(path, audio, rate=SAMPLE_RATE, channels=1, width=2):
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels)
        f.setsampwidth(width)
        f.setframerate(rate)
        samples = np.round(np.asarray(audio) * 32767).astype("<i2")
        if width == 1:
            samples = (samples // 256 + 128).astype(np.uint8)
        f.writeframes(np.repeat(samples, channels).tobytes())


# ---------------------------------------------------------------- the bank


def test_bank_holds_every_digit_for_every_speaker(bank):
    assert len(bank) == 960 and len(set(bank.speakers)) == 96
    for speaker in set(bank.speakers):
        digits = bank.digits[np.array(bank.speakers) == speaker]
        assert sorted(digits.tolist()) == list(range(10))
    lengths = np.array([len(c) for c in bank.clips]) / SAMPLE_RATE
    assert 0.15 < lengths.min() and lengths.max() < 1.5
    assert all(c.dtype == np.float32 and np.abs(c).max() <= 1.0 for c in bank.clips)


def test_corrupted_bank_is_refused_with_the_fix(tmp_path):
    copy = tmp_path / "digit_bank.npz"
    shutil.copy(_bank_path(), copy)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(DataError, match="corrupted.*build_digit_bank"):
        load_digit_bank(copy)


def test_missing_bank_is_refused_with_the_fix(tmp_path):
    with pytest.raises(DataError, match="missing.*reinstall"):
        load_digit_bank(tmp_path / "nothing.npz")


def test_mu_law_round_trip_keeps_a_small_relative_error():
    x = np.linspace(-1, 1, 1001)
    error = np.abs(mu_law_decode(mu_law_encode(x)) - x)
    assert np.all(error <= 0.025 * np.abs(x) + 0.001)  # ~2% of the level: quiet sounds survive


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


def test_composer_needs_every_digit(bank):
    without_seven = bank.select(bank.digits != 7)
    with pytest.raises(ValueError, match=r"digit\(s\) \[7\]"):
        compose_utterances(without_seven, 3, seed=0)


# ---------------------------------------------------------------- WAV folders


def test_wav_folder_loader_reads_the_fsdd_layout(tmp_path):
    tone = 0.5 * np.sin(np.arange(800) / 5)
    write_wav(tmp_path / "3_alice_0.wav", tone)
    write_wav(tmp_path / "7_bob_12.wav", tone[:400])
    clips = load_wav_folder(tmp_path)
    assert clips.digits.tolist() == [3, 7] and clips.speakers == ("alice", "bob")
    np.testing.assert_allclose(clips.clips[0], tone, atol=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"rate": 16000}, "16000 Hz, expected 8000"), ({"channels": 2}, "2 channels"),
     ({"width": 1}, "8-bit")],
)  # fmt: skip
def test_wrong_wav_formats_name_the_file_and_the_fix(tmp_path, kwargs, message):
    write_wav(tmp_path / "1_x_0.wav", np.zeros(100) + 0.1, **kwargs)
    with pytest.raises(DataError, match=message) as error:
        load_wav_folder(tmp_path)
    assert "1_x_0.wav" in str(error.value)


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
