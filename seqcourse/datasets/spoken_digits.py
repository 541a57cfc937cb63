"""Spoken digit strings for speech recognition (notebook 08).

Embedded: a bank of single spoken digits ("zero" ... "nine") synthesised with espeak-ng in
many voices (``seqcourse/data/digit_bank.npz``, built by ``data/build_digit_bank.py``), and
2,000 real recordings of four speakers of the Free Spoken Digit Dataset
(``seqcourse/data/fsdd_dev.npz``, CC BY-SA 4.0, built by ``data/build_fsdd_bank.py``), both
guarded by SHA-256 checksums. Full: TFDS ``spoken_digit`` (real speakers), or a folder of WAV
files named ``{digit}_{speaker}_{index}.wav``. All give the same thing — clips grouped by
speaker — and :func:`compose_utterances` turns clips into utterances like phone numbers:
random digit strings with random gaps, gain, speed perturbation and background noise at a
random signal-to-noise ratio (plus, for training, the perturbations of
:mod:`seqcourse.audio_augment`). Everything is 8 kHz mono float32 in [-1, 1].
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path

import numpy as np

from seqcourse.datasets.errors import DataError

SAMPLE_RATE = 8000
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
BANK_FILE = "digit_bank.npz"
BANK_SHA256 = "6cce5e6989f50c1da9cf1babd5c3be0ba0cfb689ebfbe05c98e96e908ee9e812"
REAL_FILE = "fsdd_dev.npz"
REAL_SHA256 = "0eac39f87e3ddf532064c15dbb8b918d41010736b1c3a76d743870140fd6a85b"
TTS_FILE = "tts_bank.npz"
TTS_SHA256 = "5f1aa0704628556fef2374494c52981bcc1f614faa19cc964cb8298682e2addf"
REAL_SPEAKERS = ("george", "jackson", "lucas", "nicolas")
WAV_NAME = re.compile(r"^(\d)_([A-Za-z0-9-]+)_(\d+)\.wav$")


@dataclasses.dataclass(frozen=True)
class DigitClips:
    """Single-digit recordings: ``clips[i]`` (float32 waveform at 8 kHz) says digit
    ``digits[i]`` in the voice of ``speakers[i]``."""

    clips: tuple[np.ndarray, ...]
    digits: np.ndarray
    speakers: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.clips)

    def select(self, keep: np.ndarray) -> DigitClips:
        keep = np.flatnonzero(keep)
        return DigitClips(
            tuple(self.clips[i] for i in keep),
            self.digits[keep],
            tuple(self.speakers[i] for i in keep),
        )

    def split_by_speaker(self, test_speakers) -> tuple[DigitClips, DigitClips]:
        """(clips of the other speakers, clips of ``test_speakers``)."""
        test = np.isin(np.array(self.speakers), list(test_speakers))
        return self.select(~test), self.select(test)


MU = 255


def mu_law_encode(audio: np.ndarray) -> np.ndarray:
    """Waveform in [-1, 1] -> uint8 mu-law codes (the companding of G.711 telephone audio)."""
    compressed = np.sign(audio) * np.log1p(MU * np.abs(audio)) / np.log1p(MU)
    return np.round((compressed + 1) / 2 * MU).astype(np.uint8)


def mu_law_decode(codes: np.ndarray) -> np.ndarray:
    """uint8 mu-law codes -> float32 waveform in [-1, 1]."""
    compressed = codes.astype(np.float32) / MU * 2 - 1
    return (np.sign(compressed) * np.expm1(np.abs(compressed) * np.log1p(MU)) / MU).astype(
        np.float32
    )


def _bank_path(name: str = BANK_FILE) -> Path:
    from importlib.resources import files

    return Path(str(files("seqcourse") / "data" / name))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _load_packed(path, file: str, expected: str, what: str, rebuild: str) -> DigitClips:
    """Clips packed as mu-law ``audio`` + ``offsets``, ``digits``, ``speakers`` in ``path``
    (None: the package's ``file``), checked against the SHA-256 ``expected``; DataError
    (saying to reinstall, or ``rebuild``) when missing, corrupted or unreadable."""
    path = Path(path) if path is not None else _bank_path(file)
    rebuild = f"reinstall the package (pip install --force-reinstall seqcourse) or {rebuild}"
    if not path.is_file():
        raise DataError(f"the {what} {path} is missing; {rebuild}")
    actual = sha256(path)
    if actual != expected:
        raise DataError(
            f"the {what} {path} is corrupted: SHA-256 {actual[:16]}… does not match "
            f"the expected {expected[:16]}…; {rebuild}"
        )
    try:
        with np.load(path) as bank:
            audio, offsets = bank["audio"], bank["offsets"]
            digits, speakers = bank["digits"], bank["speakers"]
    except (OSError, KeyError, ValueError) as error:
        raise DataError(f"cannot read the {what} {path} ({error}); {rebuild}") from error
    audio = mu_law_decode(audio)
    clips = tuple(audio[a:b] for a, b in zip(offsets[:-1], offsets[1:], strict=True))
    return DigitClips(clips, digits.astype(int), tuple(str(s) for s in speakers))


def load_digit_bank(
    path: str | Path | None = None, expected_sha256: str | None = None
) -> DigitClips:
    """The embedded espeak-ng digit bank (or the file at ``path``), checked against its checksum.

    Raises DataError if the file is missing, its checksum differs (corrupted or edited) or it
    cannot be read.
    """
    return _load_packed(
        path, BANK_FILE, expected_sha256 or BANK_SHA256, "spoken-digit bank",
        "rebuild the bank with `python data/build_digit_bank.py` (needs espeak-ng)",
    )  # fmt: skip


def load_tts_bank(path: str | Path | None = None, expected_sha256: str | None = None) -> DigitClips:
    """The embedded Flite/Festival digit bank: 540 clips, 54 variants (duration, pitch) of 8
    voices built from recordings of real people (see ``data/build_tts_bank.py``), or the file
    at ``path``, checked against its checksum. Raises DataError if the file is missing,
    corrupted or unreadable."""
    return _load_packed(
        path, TTS_FILE, expected_sha256 or TTS_SHA256, "Flite/Festival digit bank",
        "rebuild it with `python data/build_tts_bank.py` (needs flite and festival)",
    )  # fmt: skip


def load_real_digits(
    path: str | Path | None = None, expected_sha256: str | None = None
) -> DigitClips:
    """The embedded real recordings: 2,000 clips of the Free Spoken Digit Dataset's speakers
    george, jackson, lucas and nicolas (50 takes of each digit each; CC BY-SA 4.0, by the FSDD
    contributors — see ``data/README.md``), or the file at ``path``, checked against its
    checksum. Raises DataError if the file is missing, corrupted or unreadable."""
    return _load_packed(
        path, REAL_FILE, expected_sha256 or REAL_SHA256, "real spoken-digit recordings file",
        "rebuild it with `python data/build_fsdd_bank.py FOLDER` from the FSDD WAV files",
    )  # fmt: skip


_INTEGER_SCALE = {"uint8": 128.0, "int16": 2.0**15, "int32": 2.0**31}  # scipy's PCM dtypes


def read_wav(path: str | Path) -> np.ndarray:
    """A WAV file -> float32 mono waveform in [-1, 1] at 8 kHz.

    Read with ``scipy.io.wavfile``: integer PCM of 8 (unsigned), 16, 24 or 32 bits and 32- or
    64-bit floating point (what DAWs and phones write), any number of channels (averaged to
    mono), any sample rate of at least 8 kHz (resampled to 8 kHz by ``scipy.signal.
    resample_poly``, whose filter removes what lies above 4 kHz instead of folding it down).
    Raises DataError naming the file for anything else — not a WAV file, a compressed WAV, a
    rate below 8 kHz, no audio — with the command that converts it.
    """
    import math
    import warnings

    from scipy.io import wavfile
    from scipy.signal import resample_poly

    path = Path(path)
    fix = f"convert it with: sox {path.name} -r 8000 -c 1 -b 16 out.wav"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", wavfile.WavFileWarning)  # chunks it skips (LIST…)
            rate, data = wavfile.read(path)
    except ValueError as error:  # scipy's reason: "Unknown wave file format: MPEG…", …
        if "format" in str(error) and "not understood" not in str(error):
            raise DataError(
                f"{path}: not a PCM or floating-point WAV file ({error}); compressed WAV files "
                f"are not read; {fix}"
            ) from error
        raise DataError(f"{path}: not a readable WAV file ({error})") from error
    except (EOFError, OSError) as error:
        raise DataError(f"{path}: not a readable WAV file ({error})") from error
    if rate < SAMPLE_RATE:
        raise DataError(
            f"{path}: sample rate {rate} Hz is below {SAMPLE_RATE} Hz (too little bandwidth "
            f"for the recogniser); record at {SAMPLE_RATE} Hz or more"
        )
    if data.size == 0:
        raise DataError(f"{path}: the file holds no audio")
    if data.dtype.kind == "f":
        samples = data.astype(np.float32)
    elif data.dtype.name in _INTEGER_SCALE:
        offset = 128.0 if data.dtype.name == "uint8" else 0.0
        samples = ((data.astype(np.float64) - offset) / _INTEGER_SCALE[data.dtype.name]).astype(
            np.float32
        )
    else:
        raise DataError(f"{path}: {data.dtype} samples are not supported; {fix}")
    audio = samples.reshape(len(samples), -1).mean(axis=1)
    if rate != SAMPLE_RATE:
        step = math.gcd(SAMPLE_RATE, int(rate))
        audio = resample_poly(audio, SAMPLE_RATE // step, int(rate) // step)
    return np.clip(audio, -1, 1).astype(np.float32)


def load_wav_folder(folder: str | Path) -> DigitClips:
    """Every ``{digit}_{speaker}_{index}.wav`` in ``folder`` (the layout of the Free Spoken
    Digit Dataset). Other files are reported, not silently skipped: a ``.wav`` with another
    name raises DataError; an empty folder too."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder")
    files = sorted(folder.glob("*.wav"))
    bad = [f.name for f in files if not WAV_NAME.match(f.name)]
    if bad:
        raise DataError(
            f"{len(bad)} WAV file(s) in {folder} are not named {{digit}}_{{speaker}}_{{index}}.wav, "
            f"e.g. {bad[:3]}; rename or remove them"
        )
    if not files:
        raise DataError(f"no WAV files in {folder}; expected names like 7_alice_0.wav")
    clips, digits, speakers = [], [], []
    for f in files:
        digit, speaker, _ = WAV_NAME.match(f.name).groups()
        clips.append(read_wav(f))
        digits.append(int(digit))
        speakers.append(speaker)
    return DigitClips(tuple(clips), np.array(digits), tuple(speakers))


def load_tfds_spoken_digit(data_dir: str | None = None) -> DigitClips:
    """TFDS ``spoken_digit`` (the Free Spoken Digit Dataset: 2,500 clips, 8 kHz, real
    speakers; about 11 MB download on first use)."""
    from seqcourse.datasets.tfds_data import tfds_load

    ds = tfds_load("spoken_digit", split="train", data_dir=data_dir)
    clips, digits, speakers = [], [], []
    for example in ds.as_numpy_iterator():
        clips.append(np.asarray(example["audio"], np.float32) / 32768.0)
        digits.append(int(example["label"]))
        name = example["audio/filename"].decode()
        match = WAV_NAME.match(Path(name).name)
        speakers.append(match.group(2) if match else "unknown")
    return DigitClips(tuple(clips), np.array(digits), tuple(speakers))


def _speed(clip: np.ndarray, factor: float) -> np.ndarray:
    """Play ``clip`` ``factor`` times faster (pitch shifts with it, like a tape)."""
    n = max(int(round(len(clip) / factor)), 1)
    return np.interp(np.arange(n) * factor, np.arange(len(clip)), clip).astype(np.float32)


def compose_utterances(
    clips: DigitClips,
    n: int,
    seed: int,
    min_digits: int = 3,
    max_digits: int = 8,
    snr_db: tuple[float, float] = (10.0, 30.0),
    augment=None,
    one_speaker: bool = False,
):
    """``n`` utterances of random digit strings: ``(waveforms, transcripts, parts)``.

    Each utterance: ``min_digits``-``max_digits`` digits drawn uniformly; for each, a random
    clip of that digit (any speaker in ``clips``), sped up or slowed by 0.9-1.1, with gain
    -6..+3 dB; 0.05-0.25 s of silence between digits and 0.1-0.3 s at both ends; then white
    noise at an SNR drawn from ``snr_db``, and a final rescale so the peak is at most 0.99.
    ``transcripts[i]`` is the words, e.g. ``"four one five"``; ``parts[i]`` the bank indices
    of the clips used, in order. Deterministic in ``seed``.

    ``augment`` (a :class:`seqcourse.audio_augment.Augmentation`, for training sets) further
    perturbs each clip (speed, vocal-tract length) and each utterance before the noise
    (equaliser, band limit, reverberation). Its random draws come from a second stream seeded
    by ``seed``, so the digit strings, clips and gaps are those of the unaugmented set.

    ``one_speaker``: every utterance in one voice, as a recording is (a voice drawn in
    proportion to its clips, then that voice's clips; a digit it never said comes from any
    voice). Otherwise each digit's clip comes from any voice.
    """
    if len(clips) == 0:
        raise ValueError("no clips to compose utterances from")
    rng = np.random.default_rng(seed)
    augment_rng = np.random.default_rng([seed, 1])
    by_digit = {d: np.flatnonzero(clips.digits == d) for d in range(10)}
    missing = [d for d, idx in by_digit.items() if len(idx) == 0]
    if missing:
        raise ValueError(f"the clips include no recording of digit(s) {missing}")
    speakers = np.array(clips.speakers)
    by_voice = {
        (s, d): idx[speakers[idx] == s] for d, idx in by_digit.items() for s in set(speakers)
    }
    waveforms, transcripts, parts = [], [], []
    for _ in range(n):
        digits = rng.integers(0, 10, rng.integers(min_digits, max_digits + 1))
        pools = by_digit
        if one_speaker:
            voice = speakers[rng.integers(len(clips))]
            pools = {
                d: by_voice[voice, d] if len(by_voice[voice, d]) else by_digit[d] for d in by_digit
            }
        chosen = [int(rng.choice(pools[int(d)])) for d in digits]
        pieces = [np.zeros(int(rng.uniform(0.1, 0.3) * SAMPLE_RATE), np.float32)]
        for k, index in enumerate(chosen):
            clip = _speed(clips.clips[index], rng.uniform(0.9, 1.1))
            if augment is not None:
                clip = augment.clip(clip, augment_rng)
            pieces.append(clip * 10 ** (rng.uniform(-6, 3) / 20))
            gap = rng.uniform(0.05, 0.25) if k < len(chosen) - 1 else rng.uniform(0.1, 0.3)
            pieces.append(np.zeros(int(gap * SAMPLE_RATE), np.float32))
        signal = np.concatenate(pieces)
        if augment is not None:
            signal = augment.channel(signal, augment_rng)
        power = np.mean(signal**2)
        noise_power = power / 10 ** (rng.uniform(*snr_db) / 10)
        noise = np.random.default_rng(rng.integers(2**63)).normal(0, 1, len(signal))
        signal = signal + (np.sqrt(noise_power) * noise).astype(np.float32)
        signal = signal / max(1.0, np.abs(signal).max() / 0.99)
        waveforms.append(signal.astype(np.float32))
        transcripts.append(" ".join(DIGIT_WORDS[d] for d in digits))
        parts.append(chosen)
    return waveforms, transcripts, parts
