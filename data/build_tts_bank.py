"""Build the second synthetic digit bank, seqcourse/data/tts_bank.npz (notebook 08): the ten
digit words in the voices of two other speech synthesisers, Flite and Festival.

espeak-ng (``build_digit_bank.py``) makes every voice from one formant model; Flite's and
Festival's voices are built from recordings of real people (diphone concatenation and
statistical parametric voices trained on the CMU ARCTIC and CMU/CSTR diphone recordings), so
they sound more like speech and less like each other. Needs the Debian packages ``flite``,
``festival``, ``festvox-kallpc16k``, ``festvox-kdlpc16k`` and ``festvox-us-slt-hts`` and SciPy;
run from the repository root:

    python data/build_tts_bank.py            # writes the bank and prints its SHA-256
    python data/build_tts_bank.py --check    # rebuilds in memory and compares with the file

Voices: Flite's kal, kal16, awb, rms and slt, each at three durations (``duration_stretch``
0.85, 1.0, 1.2) and three pitch targets (the voice's default, 0.8x and 1.25x its typical mean
F0; rms ignores the pitch target); Festival's ked and kal diphone voices and the slt HTS voice,
each at the three durations. 54 "speakers" from 8 voices, 540 clips. Each clip is resampled to
8 kHz, trimmed and packed as ``build_digit_bank.py`` does. Paste the printed checksum into
seqcourse/datasets/spoken_digits.py (TTS_SHA256).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from build_digit_bank import ROOT, from_wav_bytes, pack, write_or_check

sys.path.insert(0, str(ROOT))
from seqcourse.datasets.spoken_digits import DIGIT_WORDS, TTS_FILE  # noqa: E402

FLITE_VOICES = {"kal": 105, "kal16": 105, "awb": 110, "rms": 100, "slt": 170}  # typical F0, Hz
FESTIVAL_VOICES = ("ked_diphone", "kal_diphone", "cmu_us_slt_arctic_hts")
STRETCHES = (0.85, 1.0, 1.2)
PITCHES = (None, 0.8, 1.25)  # None: the voice's own


def flite(word: str, voice: str, stretch: float, f0: int | None) -> bytes:
    """Flite's WAV bytes for ``word``."""
    with tempfile.NamedTemporaryFile(suffix=".wav") as out:
        command = ["flite", "-voice", voice, "--setf", f"duration_stretch={stretch}"]
        if f0 is not None:
            command += ["--setf", f"int_f0_target_mean={f0}"]
        subprocess.run([*command, "-t", word, "-o", out.name], check=True)
        return Path(out.name).read_bytes()


def festival(word: str, voice: str, stretch: float) -> bytes:
    """Festival's WAV bytes for ``word`` (text2wave)."""
    with tempfile.NamedTemporaryFile(suffix=".wav") as out:
        subprocess.run(
            ["text2wave", "-eval", f"(voice_{voice})",
             "-eval", f"(Parameter.set 'Duration_Stretch {stretch})", "-o", out.name],
            input=word.encode(), check=True, capture_output=True,
        )  # fmt: skip
        return Path(out.name).read_bytes()


def speakers():
    """(name, word -> WAV bytes) for every voice variant, in a fixed order."""
    for voice, f0 in FLITE_VOICES.items():
        for stretch in STRETCHES:
            for pitch in PITCHES:
                hz = None if pitch is None else int(f0 * pitch)
                name = f"flite-{voice}-d{stretch}-f{hz or 'default'}"
                yield name, lambda w, v=voice, s=stretch, h=hz: flite(w, v, s, h)
    for voice in FESTIVAL_VOICES:
        for stretch in STRETCHES:
            yield f"festival-{voice}-d{stretch}", lambda w, v=voice, s=stretch: festival(w, v, s)


def build() -> bytes:
    clips, digits, names = [], [], []
    for name, synthesise in speakers():
        print(name, flush=True)
        for digit, word in enumerate(DIGIT_WORDS):
            clips.append(from_wav_bytes(synthesise(word)))
            digits.append(digit)
            names.append(name)
    return pack(clips, digits, names)


if __name__ == "__main__":
    write_or_check(build, ROOT / "seqcourse" / "data" / TTS_FILE, __doc__)
