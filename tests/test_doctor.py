"""``seqcourse doctor``: a report with advice; failures only for what the default course needs."""

from seqcourse import doctor
from seqcourse.cli import main


def test_doctor_reports_and_passes_on_this_install(capsys, monkeypatch):
    monkeypatch.setattr(doctor, "can_reach", lambda host, port, timeout=3.0: False)
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "spoken-digit bank: 960 clips, checksum verified" in out
    assert "CMU dictionary" in out and "CO2 series: 2284 weeks" in out
    assert "not reachable" in out and "default mode needs no network" in out
    assert "[note] GPU" in out or "[ok  ] GPU" in out


def test_doctor_fails_with_advice_when_the_bank_is_corrupted(capsys, monkeypatch, tmp_path):
    from seqcourse.datasets import spoken_digits

    broken = tmp_path / "digit_bank.npz"
    broken.write_bytes(b"not the bank")
    packaged = spoken_digits._bank_path
    monkeypatch.setattr(
        spoken_digits,
        "_bank_path",
        lambda name=spoken_digits.BANK_FILE: (
            broken if name == spoken_digits.BANK_FILE else packaged(name)
        ),
    )
    monkeypatch.setattr(doctor, "can_reach", lambda host, port, timeout=3.0: True)
    assert doctor.run_doctor() == 1
    out = capsys.readouterr().out
    assert "[FAIL] spoken-digit bank" in out and "build_digit_bank.py" in out
    assert "1 problem(s)" in out


def test_missing_package_is_a_failure(monkeypatch):
    monkeypatch.setattr(doctor, "REQUIRED", (*doctor.REQUIRED, "no-such-package-xyz"))
    findings = doctor.check_packages()
    assert any(f.status == "FAIL" and "no-such-package-xyz" in f.detail for f in findings)
