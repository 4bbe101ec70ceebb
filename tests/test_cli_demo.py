"""``ntkcheck demo`` end to end."""

from __future__ import annotations

import re

from ntkcheck.cli import main


def test_demo_prints_lambda0_and_a_rate_near_minus_half(capsys):
    assert main(["demo", "--n", "20", "--d", "4", "--max-width", "65536", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "lambda_0 = " in out
    slope = float(re.search(r"m\^(-?[0-9.]+)", out).group(1))
    assert abs(slope + 0.5) < 0.2


def test_demo_bad_argument_exits_2_with_named_message(capsys):
    assert main(["demo", "--n", "1"]) == 2
    assert "`--n` must be >= 2, got --n=1" in capsys.readouterr().err
