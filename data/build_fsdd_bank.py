"""Pack the four FSDD development speakers into ``seqcourse/data/fsdd_dev.npz`` (notebook 08).

The Free Spoken Digit Dataset (github.com/Jakobovski/free-spoken-digit-dataset, commit 26eb9aaf,
Zenodo DOI 10.5281/zenodo.1342401) is by the FSDD contributors, licensed CC BY-SA 4.0; the packed
file is a derivative and carries the same licence and attribution (see data/README.md).

Usage::

    python data/build_fsdd_bank.py FOLDER            # FOLDER: {digit}_{speaker}_{index}.wav files
    python data/build_fsdd_bank.py FOLDER --check    # rebuild in memory, compare with the package

Only the speakers george, jackson, lucas and nicolas are packed (the dataset's two other
speakers are the course's unseen-speaker test). Clips are sorted by (speaker, digit, index),
stored as 8 kHz mu-law uint8 like the synthetic bank, with ``offsets``, ``digits``,
``speakers`` and ``takes``. The output is deterministic: the same WAV files give the same bytes.
Prints the SHA-256 to put in ``REAL_SHA256`` in ``seqcourse/datasets/spoken_digits.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

from seqcourse.datasets.spoken_digits import (
    REAL_FILE,
    REAL_SPEAKERS,
    WAV_NAME,
    mu_law_encode,
    read_wav,
)

OUT = Path(__file__).resolve().parent.parent / "seqcourse" / "data" / REAL_FILE


def build(folder: Path) -> bytes:
    entries = []
    for path in sorted(folder.glob("*.wav")):
        match = WAV_NAME.match(path.name)
        if match and match.group(2) in REAL_SPEAKERS:
            digit, speaker, take = match.groups()
            entries.append((REAL_SPEAKERS.index(speaker), int(digit), int(take), path))
    entries.sort(key=lambda e: e[:3])
    if len(entries) != 2000:
        sys.exit(f"expected 2,000 recordings of {REAL_SPEAKERS} in {folder}, found {len(entries)}")
    clips = [read_wav(path) for *_, path in entries]
    arrays = {
        "audio": mu_law_encode(np.concatenate(clips)),
        "offsets": np.cumsum([0, *map(len, clips)]).astype(np.int64),
        "digits": np.array([e[1] for e in entries], np.int8),
        "speakers": np.array([REAL_SPEAKERS[e[0]] for e in entries]),
        "takes": np.array([e[2] for e in entries], np.int16),
    }
    # A zip with fixed timestamps, so that the same input gives the same bytes.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.getvalue(), compresslevel=9)
    seconds = sum(map(len, clips)) / 8000
    print(f"{len(clips)} clips, {len(REAL_SPEAKERS)} speakers, {seconds:.0f} s of audio")
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--check", action="store_true", help="compare with the packaged file")
    args = parser.parse_args()
    data = build(args.folder)
    digest = hashlib.sha256(data).hexdigest()
    if args.check:
        same = OUT.is_file() and OUT.read_bytes() == data
        print(f"{OUT}: {'identical' if same else 'DIFFERENT'} (rebuilt SHA-256 {digest})")
        sys.exit(0 if same else 1)
    OUT.write_bytes(data)
    print(f"wrote {OUT} ({len(data) / 1e6:.1f} MB), SHA-256 {digest}")


if __name__ == "__main__":
    main()
