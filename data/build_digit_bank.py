"""Build the spoken-digit bank shipped in seqcourse/data/digit_bank.npz (notebook 08).

Needs the Debian package espeak-ng (apt-get install espeak-ng) and SciPy (resampling); run
from the repository root:

    python data/build_digit_bank.py            # writes the bank and prints its SHA-256
    python data/build_digit_bank.py --check    # rebuilds in memory and compares with the file

For every speaker (an espeak-ng English voice combined with a voice variant, at a speaking
rate and pitch drawn per speaker from a fixed seed) it synthesises the ten digit words,
resamples 22,050 Hz -> 8,000 Hz, trims leading/trailing silence (frames more than 40 dB below
the clip's peak), peak-normalises to 0.9 and stores 8-bit mu-law samples (telephone
quality, half the size of 16-bit PCM). Paste the printed checksum into
seqcourse/datasets/spoken_digits.py (BANK_SHA256).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from seqcourse.datasets.spoken_digits import (  # noqa: E402
    BANK_FILE,
    DIGIT_WORDS,
    SAMPLE_RATE,
    mu_law_encode,
)

VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
          "en-029", "en-us-nyc")  # fmt: skip
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5")
OUTPUT = ROOT / "seqcourse" / "data" / BANK_FILE


def synthesise(word: str, voice: str, variant: str, rate: int, pitch: int) -> bytes:
    """espeak-ng's WAV bytes for ``word``."""
    command = ["espeak-ng", "-v", f"{voice}+{variant}", "-s", str(rate), "-p", str(pitch)]
    return subprocess.run([*command, "--stdout", word], check=True, capture_output=True).stdout


def from_wav_bytes(wav: bytes) -> np.ndarray:
    """A synthesiser's 16-bit WAV -> the bank's clip: resampled to 8 kHz, leading and trailing
    silence trimmed (10 ms frames more than 40 dB below the loudest, two frames kept before and
    three after), peak-normalised to 0.9, uint8 mu-law codes."""
    with wave.open(io.BytesIO(wav)) as f:
        source_rate = f.getframerate()
        audio = np.frombuffer(f.readframes(f.getnframes()), "<i2").astype(np.float64) / 32768
    audio = resample_poly(audio, SAMPLE_RATE, source_rate)
    frame = SAMPLE_RATE // 100  # 10 ms
    energy = np.array([np.sqrt(np.mean(audio[i : i + frame] ** 2) + 1e-12)
                       for i in range(0, len(audio), frame)])  # fmt: skip
    loud = np.flatnonzero(20 * np.log10(energy / energy.max()) > -40)
    start, end = max(loud[0] - 2, 0) * frame, min((loud[-1] + 3) * frame, len(audio))
    audio = audio[start:end]
    return mu_law_encode(audio / np.abs(audio).max() * 0.9)


def pack(clips, digits, speakers) -> bytes:
    """The bank file's bytes: every clip's codes end to end, their offsets, digits, speakers."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        audio=np.concatenate(clips),
        offsets=np.cumsum([0, *map(len, clips)]),
        digits=np.array(digits, np.int8),
        speakers=np.array(speakers),
    )
    seconds = sum(map(len, clips)) / SAMPLE_RATE
    print(f"{len(clips)} clips, {len(set(speakers))} speakers, {seconds:.0f} s of audio")
    return buffer.getvalue()


def write_or_check(build, output: Path, doc: str) -> None:
    """The command line of a bank builder: ``build()`` -> bytes written to ``output`` with its
    SHA-256 printed, or (``--check``) compared with the file."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare a rebuild with the file")
    args = parser.parse_args()
    data = build()
    digest = hashlib.sha256(data).hexdigest()
    if args.check:
        same = output.is_file() and output.read_bytes() == data
        print("identical to" if same else "DIFFERS from", output)
        raise SystemExit(0 if same else 1)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(data)
    print(f"wrote {output} ({len(data) / 1e6:.2f} MB), SHA-256 {digest}")


def available_voices() -> set[str]:
    listing = subprocess.run(
        ["espeak-ng", "--voices=en"], check=True, capture_output=True, text=True
    )
    return {line.split()[1] for line in listing.stdout.splitlines()[1:]}


def build() -> bytes:
    known = available_voices()
    missing = [v for v in VOICES if v not in known]
    if missing:
        raise SystemExit(f"espeak-ng lacks the voice(s) {missing}; installed: {sorted(known)}")
    rng = np.random.default_rng(0)
    clips, digits, speakers = [], [], []
    for voice in VOICES:
        for variant in VARIANTS:
            rate, pitch = int(rng.integers(130, 191)), int(rng.integers(30, 71))
            speaker = f"{voice}+{variant}"
            print(f"{speaker:24s} rate {rate} pitch {pitch}", flush=True)
            for digit, word in enumerate(DIGIT_WORDS):
                clips.append(from_wav_bytes(synthesise(word, voice, variant, rate, pitch)))
                digits.append(digit)
                speakers.append(speaker)
    return pack(clips, digits, speakers)


if __name__ == "__main__":
    write_or_check(build, OUTPUT, __doc__)
