"""The built wheel carries every licence and attribution its contents need (issue 39, item 1).

The code is MIT; the package ships three third-party data files, the UCI review sentences
(CC BY 4.0), four FSDD speakers (CC BY-SA 4.0) and the CMU Pronouncing Dictionary
(BSD-2-Clause). The wheel must hold the licence texts, the
notice that credits the data and says what was changed, and a licence expression that names
all four licences.
"""

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """The wheel of this checkout, built as ``pip wheel`` builds it (no dependencies)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(out), str(ROOT)],
        check=True,
    )  # fmt: skip
    (path,) = out.glob("seqcourse-*.whl")
    return zipfile.ZipFile(path)


def _dist_info(wheel: zipfile.ZipFile) -> str:
    return next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")).rsplit("/", 1)[0]


def test_the_wheel_holds_the_licence_texts_and_the_notice(wheel):
    names = set(wheel.namelist())
    licences = f"{_dist_info(wheel)}/licenses"
    for path in ("LICENSE", "LICENSES/CC-BY-4.0.txt", "LICENSES/CC-BY-SA-4.0.txt",
                 "LICENSES/CMUdict-BSD-2-Clause.txt", "seqcourse/data/NOTICE.md"):  # fmt: skip
        assert f"{licences}/{path}" in names, sorted(n for n in names if "dist-info" in n)
    mit = wheel.read(f"{licences}/LICENSE").decode()
    assert "MIT License" in mit and "Copyright (c) 2026" in mit
    assert (
        "Attribution 4.0 International" in wheel.read(f"{licences}/LICENSES/CC-BY-4.0.txt").decode()
    )
    assert (
        "Attribution-ShareAlike 4.0" in wheel.read(f"{licences}/LICENSES/CC-BY-SA-4.0.txt").decode()
    )


def test_every_third_party_data_file_in_the_wheel_is_credited(wheel):
    notice = wheel.read("seqcourse/data/NOTICE.md").decode()
    data = [n.split("/")[-1] for n in wheel.namelist() if n.startswith("seqcourse/data/")]
    assert {"review_sentences.csv", "fsdd_dev.npz", "cmudict.dict.gz", "NOTICE.md"} <= set(data)
    for name in data:
        if name != "NOTICE.md":
            assert f"## {name}" in notice or name in notice, f"{name} is not in NOTICE.md"
    assert "Kotzias" in notice and "CC BY 4.0" in notice
    assert "Zohar Jackson" in notice and "CC BY-SA 4.0" in notice and "mu-law" in notice
    assert "Carnegie Mellon" in notice and "BSD-2-Clause" in notice


def test_the_metadata_names_all_four_licences(wheel):
    metadata = Parser().parsestr(wheel.read(f"{_dist_info(wheel)}/METADATA").decode())
    assert metadata["License-Expression"] == "MIT AND CC-BY-4.0 AND CC-BY-SA-4.0 AND BSD-2-Clause"
    assert "LICENSES/CC-BY-SA-4.0.txt" in metadata.get_all("License-File")
