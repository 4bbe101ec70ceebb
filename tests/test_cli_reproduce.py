"""`ntkcheck reproduce liao2022` end to end (at a tiny size), with --quiet and --out."""

from __future__ import annotations

import json

import pytest

import ntkcheck.reproduce as reproduce
from ntkcheck.cli import main

from .test_reproduce import TINY


def test_reproduce_cli_quick(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(reproduce.SIZES, "quick", dict(reproduce.SIZES["quick"], **TINY))
    out = tmp_path / "lk22"
    assert main(["reproduce", "liao2022", "--quick", "--quiet", "--out", str(out)]) == 0
    cap = capsys.readouterr()
    assert cap.err == ""  # --quiet: no progress
    assert "(b)" in cap.out and "summary:" in cap.out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["size"] == "quick" and summary["sizes"]["n"] == TINY["n"]
    for c in summary["claims"]:
        assert c["verdict"].upper() in cap.out


def test_reproduce_progress_on_stderr(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(reproduce.SIZES, "quick", dict(reproduce.SIZES["quick"], **TINY))
    assert main(["reproduce", "liao2022", "--quick", "--workers", "0", "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert "[sweep]" in err and "ntkcheck reproduce: sweep reproduce liao2022" in err
    # the runs are a sweep store that sweep-status and sweep-report read
    assert main(["sweep-status", str(tmp_path / "o" / "store")]) == 0
    assert main(["sweep-report", str(tmp_path / "o" / "store"), "--formats", "png"]) == 0
    assert (tmp_path / "o" / "store" / "report" / "summary.csv").is_file()


def test_reproduce_unknown_paper():
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "smith2030"])
    assert exc.value.code == 2
