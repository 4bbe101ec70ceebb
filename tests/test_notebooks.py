"""The notebooks execute top to bottom at a small size, without a Jupyter kernel.

Each notebook's code cells are exec'd in order in one namespace; the cell tagged
``parameters`` is replaced by small sizes.  Notebooks define no functions the tests rely on.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

TINY_REPRODUCE = dict(n=16, d=6, m=64, seeds=2, a_local_iterations=16, b_steps=20, xis=(0.5, 1.0), ps=(1, 2),
                      kappas=(1.0, 0.01), k_xis=(0.25, 0.75), cd_steps=8, widths=(32, 64), cat_ps=(1, 2),
                      ntk_widths=(64, 128, 256), ntk_seeds=2)


def _execute(name: str, params: str) -> dict:
    nb = json.loads((NOTEBOOKS / name).read_text())
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    tagged = [i for i, c in enumerate(cells) if "parameters" in c["metadata"].get("tags", [])]
    assert tagged == [0], f"{name}: the first code cell must be the one tagged 'parameters'"
    ns: dict = {"__name__": "__notebook__"}
    exec(compile(cells[0]["source"] and "".join(cells[0]["source"]), f"{name}[params]", "exec"), ns)
    exec(compile(params, f"{name}[override]", "exec"), ns)
    for i, cell in enumerate(cells[1:], 1):
        exec(compile("".join(cell["source"]), f"{name}[cell {i}]", "exec"), ns)
    return ns


def test_notebooks_are_valid_and_define_no_functions():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = json.loads(path.read_text())
        assert nb["nbformat"] == 4
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                src = "".join(cell["source"])
                assert "\ndef " not in "\n" + src, f"{path.name} defines a function"
                assert not cell["outputs"], f"{path.name}: commit notebooks without outputs"
    assert len(list(NOTEBOOKS.glob("*.ipynb"))) == 4


def test_tour_notebook_runs():
    ns = _execute("01_tour.ipynb", "N = 24; D = 5; WIDTHS = [64, 256]; WIDTH = 64; STEPS = 6; "
                                   "SEEDS = (0, 1); DIGITS_N = 40")
    assert ns["lam0"] > 0
    assert ns["errors"].shape == (2, 3)
    assert ns["res"].status == "completed"
    assert ns["fig"].axes  # the last cell drew the loss figure


def test_fig2_notebook_runs(tmp_path):
    ns = _execute("02_liao2022_fig2.ipynb",
                  f"QUICK = True; OUT = {str(tmp_path)!r}; SIZES = {TINY_REPRODUCE!r}; WORKERS = 0")
    ids = [c["id"] for c in ns["claims"]]
    assert ids == ["a", "b_xi", "kappa", "c", "d", "ntk", "width", "lambda_min", "movement", "b_p"]
    assert (tmp_path / "summary.html").exists()


def test_plateau_model_notebook_runs():
    ns = _execute("03_plateau_model.ipynb", "DATA = 'sphere:n=20,d=5,seed=0'; WIDTH = 128; STEPS = 30; "
                                            "XIS = (0.25, 0.75); KAPPAS = (1.0, 0.01); SEEDS = (0,)")
    assert ns["measured"].shape == (2, 2) and np.all(ns["predicted"] > 0)
    assert len(ns["slope"]) == 2 and ns["fig"].axes


def test_shifted_relu_notebook_runs():
    ns = _execute("04_shifted_relu_gauss_newton.ipynb", "DATA = 'sphere:n=20,d=5,seed=0'; SHIFTS = (0.5, 2.0); "
                                                          "WIDTH = 2048; STEPS = 3; WIDTHS = (1024, 4096)")
    assert ns["fired"].shape == (2,) and np.all(ns["fired"] <= ns["bound"])
    assert ns["res"].status == "completed" and ns["tr"].steps == 3
    assert set(ns["slopes"]) == {"sparse", "dense"} and ns["fig"].axes
