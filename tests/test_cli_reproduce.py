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
    assert main(["reproduce", "liao2022", "--quick", "--out", str(tmp_path / "o")]) == 0
    assert "[reproduce]" in capsys.readouterr().err


def test_reproduce_unknown_paper():
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "smith2030"])
    assert exc.value.code == 2
