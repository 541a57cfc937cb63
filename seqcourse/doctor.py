"""``seqcourse doctor``: what is installed, whether a GPU is visible, whether the embedded data
is intact and the full datasets are reachable — and what to do about anything that is not."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import os
import socket
import sys

REQUIRED = ("tensorflow", "keras", "tensorflow-datasets", "numpy", "matplotlib", "nltk",
            "statsmodels", "scipy")  # fmt: skip
_TOOLS = 'seqcourse run/grade/release (headless execution): pip install "seqcourse[tools]"'
OPTIONAL = {
    "nbformat": _TOOLS,
    "nbclient": _TOOLS,
    "ipykernel": _TOOLS,
    "jupyter_client": _TOOLS,
    "imageio": 'notebook 09 full mode (real video): pip install "seqcourse[video]"',
    "av": 'notebook 09 full mode (real video): pip install "seqcourse[video]"',
    "pytest": 'running the test suite: pip install -e ".[dev]"',
    "pytest-xdist": 'running the test suite: pip install -e ".[dev]"',
}
FULL_DATA_HOST = ("storage.googleapis.com", 443)  # TFDS downloads and the Jena climate file


@dataclasses.dataclass
class Finding:
    """One line of the report: status is "ok", "note" (works, but read the advice) or "FAIL"."""

    status: str
    topic: str
    detail: str
    advice: str = ""

    def line(self) -> str:
        text = f"[{self.status:4s}] {self.topic}: {self.detail}"
        return text + (f"\n         -> {self.advice}" if self.advice else "")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_packages() -> list[Finding]:
    findings = [Finding("ok" if sys.version_info >= (3, 11) else "FAIL", "python",
                        sys.version.split()[0], "" if sys.version_info >= (3, 11)
                        else "the course needs Python 3.11 or newer")]  # fmt: skip
    missing = [p for p in REQUIRED if _version(p) is None]
    present = ", ".join(f"{p} {_version(p)}" for p in REQUIRED if p not in missing)
    findings.append(Finding("ok", "packages", present))
    if missing:
        findings.append(Finding("FAIL", "missing packages", ", ".join(missing),
                                'reinstall the course: pip install -e . (or "seqcourse @ git+...")'))  # fmt: skip
    for package, why in OPTIONAL.items():
        if _version(package) is None:
            findings.append(
                Finding("note", f"optional {package}", "not installed", f"needed for {why}")
            )
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend != "tensorflow":
        findings.append(Finding("FAIL", "keras backend", backend,
                                "the course runs on TensorFlow: unset KERAS_BACKEND"))  # fmt: skip
    return findings


def check_gpu() -> list[Finding]:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return [Finding("ok", "GPU", ", ".join(g.name for g in gpus))]
    return [Finding("note", "GPU", "none visible: notebooks run on the CPU",
                    "fine for default mode (each notebook <= 5 min on 2 cores); for full data use "
                    "Colab (Runtime > Change runtime type > GPU)")]  # fmt: skip


def check_embedded_data() -> list[Finding]:
    """Every data file the package ships, loaded and checked as the notebooks load it; a
    missing or corrupted one is a FAIL with the loader's own problem and fix."""
    from seqcourse.datasets.cmudict_g2p import pronunciation_dictionary
    from seqcourse.datasets.errors import DataError
    from seqcourse.datasets.review_sentences import load_review_sentences
    from seqcourse.datasets.spoken_digits import load_digit_bank, load_real_digits, load_tts_bank

    shipped = {  # name -> what loading it found
        "spoken-digit bank": lambda: f"{len(load_digit_bank())} clips, checksum verified",
        "Flite/Festival digit bank": lambda: f"{len(load_tts_bank())} clips, checksum verified",
        "real FSDD speakers": lambda: f"{len(load_real_digits())} clips, checksum verified",
        "CMU dictionary": lambda: f"{len(pronunciation_dictionary())} words, checksum verified",
        "review sentences": lambda: (
            f"{len(load_review_sentences()[0])} sentences, checksum verified"
        ),
    }
    findings = []
    for name, load in shipped.items():
        try:
            findings.append(Finding("ok", name, load()))
        except DataError as error:  # "<problem>; <fix>"
            problem, _, fix = str(error).rpartition(";")
            findings.append(Finding("FAIL", name, problem or fix, fix.strip()))
    try:
        from seqcourse.datasets.series import load_co2

        findings.append(Finding("ok", "CO2 series", f"{len(load_co2()[1])} weeks"))
    except (ImportError, ValueError) as error:
        findings.append(
            Finding("FAIL", "CO2 series", str(error), "pip install --force-reinstall statsmodels")
        )
    return findings


def can_reach(host: str, port: int, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def check_full_data() -> list[Finding]:
    from seqcourse.datasets.tfds_data import DATA_DIR

    cached = sorted(p.name for p in DATA_DIR.iterdir()) if DATA_DIR.is_dir() else []
    findings = [Finding("ok", "full-data cache", f"{DATA_DIR} ({', '.join(cached) or 'empty'})")]
    if can_reach(*FULL_DATA_HOST):
        findings.append(
            Finding("ok", "full data", f"{FULL_DATA_HOST[0]} is reachable (downloads will work)")
        )
    else:
        findings.append(Finding(
            "note", "full data", f"{FULL_DATA_HOST[0]} is not reachable (offline or blocked)",
            "default mode needs no network; for full data, work online or copy a TFDS data folder "
            f"to {DATA_DIR} (or set SEQCOURSE_DATA)",
        ))  # fmt: skip
    return findings


def run_doctor(out=print) -> int:
    """Print the report; return 1 if anything the default course needs is broken, else 0."""
    findings = []
    for check in (check_packages, check_gpu, check_embedded_data, check_full_data):
        try:
            found = check()
        except Exception as error:  # a broken install must still produce a report
            found = [Finding("FAIL", check.__name__.removeprefix("check_"), f"{type(error).__name__}: {error}",
                             'reinstall the course: pip install -e ".[dev]"')]  # fmt: skip
        findings += found
        for finding in found:
            out(finding.line())
    failed = [f for f in findings if f.status == "FAIL"]
    out(
        f"\n{len(failed)} problem(s)"
        if failed
        else "\nall set: python3 course.py run, or open notebooks/"
    )
    return 1 if failed else 0
