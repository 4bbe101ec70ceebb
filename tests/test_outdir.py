"""Output folders are ntkcheck's or refused (run, reproduce, sweep): nothing of a user's is touched."""

from __future__ import annotations

import json
import os

import pytest

from ntkcheck._outdir import MARKER, claim_output_dir
from ntkcheck.cli import main

RUN = ["run", "sphere:n=10,d=3,seed=0", "--width", "16", "--steps", "3", "--identity-samples", "0",
       "--no-plots", "--quiet", "--no-predict"]


def test_a_folder_with_user_files_is_refused_and_untouched(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "report.json").write_text("my own notes")
    (out / "thesis.tex").write_text("\\section{}")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main([*RUN, "--out", str(out)]) == 2
    assert "holds files that ntkcheck did not write" in capsys.readouterr().err
    assert main([*RUN, "--out", str(out), "--force"]) == 2  # --force never removes what is not ours
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert main(["reproduce", "liao2022", "--quick", "--quiet", "--out", str(out)]) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_an_earlier_run_needs_force_and_leaves_nothing_stale(tmp_path, capsys):
    out = tmp_path / "r"
    assert main([*RUN, "--seeds", "7,", "--out", str(out)]) == 0
    assert (out / "seeds" / "seed_7").is_dir() and json.loads((out / MARKER).read_text())["kind"] == "run"
    assert main([*RUN, "--seeds", "1", "--out", str(out)]) == 2
    assert "pass --force to replace it" in capsys.readouterr().err
    assert main([*RUN, "--seeds", "1", "--out", str(out), "--force"]) == 0
    assert sorted(p.name for p in (out / "seeds").iterdir()) == ["seed_0"]  # seed_7 of the earlier run is gone


def test_other_kinds_files_and_special_markers(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ValueError, match="exists and is not a directory"):
        claim_output_dir(f, kind="run")
    r = claim_output_dir(tmp_path / "a", kind="reproduce")
    with pytest.raises(ValueError, match="holds the output of `ntkcheck reproduce`"):
        claim_output_dir(r, kind="run", force=True)
    assert claim_output_dir(tmp_path / "a", kind="reproduce", resume=True) == r
    fifo_dir = tmp_path / "b"
    fifo_dir.mkdir()
    os.mkfifo(fifo_dir / MARKER)  # a FIFO named like our marker is never opened (no hang)
    with pytest.raises(ValueError, match="did not write"):
        claim_output_dir(fifo_dir, kind="run")
    empty = tmp_path / "c"
    empty.mkdir()
    assert claim_output_dir(empty, kind="run") == empty and (empty / MARKER).is_file()


def test_a_sweep_refuses_a_folder_that_is_not_a_store(tmp_path, capsys):
    out = tmp_path / "s"
    out.mkdir()
    (out / "data.csv").write_text("1,2\n")
    spec = tmp_path / "spec.toml"
    spec.write_text("[sweep]\nseed = 1\n[fixed]\ndata = 'sphere:n=8,d=3'\nm = 8\nsteps = 2\nrecord = 'loss'\n"
                    "identity_samples = 0\npredict = false\n")
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "0", "--quiet"]) == 2
    assert "holds files that are not a sweep store (data.csv)" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["data.csv"]
