"""Package-level rules for `bounds` (style.md §1, §8): purity, symbols declared once, doctests."""

from __future__ import annotations

import doctest
import importlib
import pathlib
import re
import subprocess
import sys

import pytest

import bounds

ROOT = pathlib.Path(bounds.__file__).parent
SOURCES = sorted(ROOT.rglob("*.py"))


def test_bounds_does_not_import_ntkcheck():
    code = ("import sys, bounds; bounds.names(); bounds.get('liao2022.thm3'); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'ntkcheck'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT.parent, check=True).stdout.strip()
    assert out == "[]"
    for path in SOURCES:
        assert not re.search(r"^\s*(from|import)\s+ntkcheck", path.read_text(), re.M), path


def test_theorem_modules_never_declare_symbols():
    for path in sorted((ROOT / "theorems").glob("*.py")):
        text = path.read_text()
        assert not re.search(r"\b(Symbol|symbols|Dummy|var)\(", text), path


def test_no_eval_in_the_parser():
    text = (ROOT / "parse.py").read_text()
    for banned in ("eval(", "exec(", "sympify(", "parse_expr(", "S("):
        assert banned not in text.replace("literal_eval", ""), banned


def test_modules_are_small():
    for path in SOURCES:
        assert len(path.read_text().splitlines()) < 600, path


@pytest.mark.parametrize("module", ["bounds", "bounds.theorem", "bounds.parse"])
def test_doctests(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_float_values_are_read_as_exact_decimals():
    import sympy as sp

    t = bounds.get("du2019.thm4_1")
    assert t.evaluate("step_size", n=10, lambda_0=sp.Float(0.5)) == 0.005
    cor = t.subs("t", delta=0.1)
    assert not any(e.atoms(sp.Float) for e in cor.expressions.values())
