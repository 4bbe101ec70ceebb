"""`ntkcheck selftest`: runs the shipped properties; a clear message without hypothesis."""

from __future__ import annotations

import sys

from ntkcheck.cli import main


def test_selftest_passes(capsys):
    assert main(["selftest", "--max-examples", "3"]) == 0
    out = capsys.readouterr().out
    assert "7 passed, 0 failed" in out


def test_selftest_select_and_unknown(capsys):
    assert main(["selftest", "--max-examples", "2", "-k", "infinite"]) == 0
    assert "1 passed" in capsys.readouterr().out
    assert main(["selftest", "-k", "no_such_property"]) == 2


def test_selftest_without_hypothesis(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "hypothesis", None)
    assert main(["selftest"]) == 2
    assert "pip install ntkcheck[test]" in capsys.readouterr().err
