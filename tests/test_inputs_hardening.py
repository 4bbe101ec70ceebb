"""Issue 11 findings on the input side: data loaders, `ntkcheck check`, the CLI's error handler
and the Numba cache fallback.  Each test reproduces one probe with small files in tmp_path.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import ntkcheck.data as data_mod
from ntkcheck import cli
from ntkcheck._config import numba_cache_usable
from ntkcheck.data import load_dataset, load_file, normalize_rows

ROOT = Path(__file__).resolve().parents[1]




@pytest.fixture
def main(monkeypatch):
    # only the commands under test, so the tests do not depend on the other sub-commands
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("bounds", "check"))
    return cli.main


@pytest.fixture
def small_memory(monkeypatch):
    """Pretend 1 GiB of memory is available, whatever the machine has."""
    monkeypatch.setattr(data_mod, "available_memory", lambda: 1 << 30)


def _unit_data(n=10, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True), rng.uniform(-1, 1, n)


def _npy_bytes(header_shape, dtype="<f8", payload=b""):
    """A .npy file whose header declares `header_shape` but holds only `payload`."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": dtype, "fortran_order": False, "shape": header_shape})
    return buf.getvalue() + payload


# -- special files and sizes --------------------------------------------------------------
def test_fifo_input_is_refused_without_reading(tmp_path, no_hang):
    os.mkfifo(tmp_path / "data.csv")
    with pytest.raises(ValueError, match=r"data\.csv' is a FIFO \(named pipe\), not a regular"):
        load_dataset(str(tmp_path / "data.csv"))
    X, y = _unit_data()
    np.save(tmp_path / "X.npy", X)
    os.mkfifo(tmp_path / "y.npy")
    with pytest.raises(ValueError, match=r"label file .*y\.npy' is a FIFO"):
        load_dataset(f"{tmp_path / 'X.npy'},{tmp_path / 'y.npy'}")


def test_directory_where_a_file_is_expected(tmp_path):
    (tmp_path / "d.npz").mkdir()
    with pytest.raises(ValueError, match=r"d\.npz' is a directory, not a regular file"):
        load_file(tmp_path / "d.npz")


def test_sparse_file_above_the_cap_is_refused_by_its_size(tmp_path, monkeypatch):
    monkeypatch.delenv("NTKCHECK_MAX_INPUT_BYTES", raising=False)
    with open(tmp_path / "big.csv", "wb") as fh:
        fh.truncate(2 << 30)  # 2 GiB, no blocks on disk, nothing read
    with pytest.raises(ValueError, match="more than the limit of 1073741824 bytes; set the "
                                         "environment variable NTKCHECK_MAX_INPUT_BYTES"):
        load_file(tmp_path / "big.csv")


def test_npz_members_that_unpack_above_the_cap(tmp_path, monkeypatch):
    X, y = _unit_data(200, 50)
    np.savez_compressed(tmp_path / "bomb.npz", X=np.zeros_like(X), y=y)
    monkeypatch.setenv("NTKCHECK_MAX_INPUT_BYTES", str(os.path.getsize(tmp_path / "bomb.npz") + 10))
    with pytest.raises(ValueError, match=r"bomb\.npz: the \.npz members unpack to \d+ bytes, more "
                                         r"than the input limit"):
        load_file(tmp_path / "bomb.npz")


# -- malformed .npz / .npy --------------------------------------------------------------
@pytest.mark.parametrize("cut", [0, 10, 100, 300, -20])
def test_truncated_npz(tmp_path, cut):
    X, y = _unit_data()
    np.savez(tmp_path / "full.npz", X=X, y=y)
    data = (tmp_path / "full.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[:cut] if cut >= 0 else data[:cut])
    with pytest.raises(ValueError, match=r"cut\.npz: "):
        load_file(tmp_path / "cut.npz")


def test_npz_member_with_a_forged_header(tmp_path):
    X, y = _unit_data()
    with zipfile.ZipFile(tmp_path / "forged.npz", "w") as zf:
        zf.writestr("X.npy", _npy_bytes((10**12, 10), payload=b"\0" * 80))
        buf = io.BytesIO()
        np.save(buf, y)
        zf.writestr("y.npy", buf.getvalue())
    with pytest.raises(ValueError, match=r"forged\.npz: array `X`: the header declares shape "
                                         r"\(1000000000000, 10\) .* holds only \d+ bytes; the "
                                         r"file is truncated or corrupt"):
        load_file(tmp_path / "forged.npz")


def test_npy_with_a_forged_header_and_npy_named_npz(tmp_path):
    X, y = _unit_data()
    (tmp_path / "X.npy").write_bytes(_npy_bytes((10**9, 10**3)))
    np.save(tmp_path / "y.npy", y)
    with pytest.raises(ValueError, match=r"X\.npy: the header declares shape \(1000000000, 1000\)"):
        load_dataset(str(tmp_path / "X.npy"))
    with open(tmp_path / "plain.npz", "wb") as fh:
        np.save(fh, X)
    with pytest.raises(ValueError, match=r"plain\.npz: not a valid \.npz file"):
        load_file(tmp_path / "plain.npz")


def test_arrays_that_cannot_fit_in_memory(tmp_path, small_memory, monkeypatch):
    monkeypatch.setenv("NTKCHECK_MAX_INPUT_BYTES", str(8 << 30))
    n, d = 1 << 16, 1 << 12  # 2 GiB declared, the file holds it only sparsely
    header = _npy_bytes((n, d))
    with open(tmp_path / "X.npy", "wb") as fh:
        fh.write(header)
        fh.truncate(len(header) + 8 * n * d)
    np.save(tmp_path / "y.npy", np.zeros(n))
    with pytest.raises(MemoryError, match=r"X\.npy needs about 4 GiB of memory but about 1 GiB "
                                          r"is available; use a smaller dataset"):
        load_dataset(f"{tmp_path / 'X.npy'},{tmp_path / 'y.npy'}")


def test_absurd_builtin_sizes(small_memory):
    with pytest.raises(MemoryError, match=r"the sphere dataset with n=10000000000, d=10, "
                                          r"teacher_width=32 needs about 4.07 TiB of memory"):
        load_dataset("sphere:n=10000000000")
    with pytest.raises(ValueError, match=r"option n must be an integer, got '10\*\*10'"):
        load_dataset("sphere:n=10**10")


@pytest.mark.parametrize("text,message", [
    ("a,b\n" + "1," + "9" * 200_000 + "\n", "malformed CSV"),            # field above csv's limit
    ("a,b\n1,\x002\n", "malformed CSV|cannot parse"),
])
def test_csv_reader_errors(tmp_path, text, message):
    (tmp_path / "bad.csv").write_text(text)
    with pytest.raises(ValueError, match=rf"bad\.csv: .*({message})"):
        load_file(tmp_path / "bad.csv")


def test_complex_arrays_get_a_fix(tmp_path):
    X, y = _unit_data()
    np.savez(tmp_path / "c.npz", X=X + 1j, y=y)
    with pytest.raises(ValueError, match=r"array `X` must hold real numbers .*complex128 "
                                         r"\(complex\); convert it with \.astype\(float\)"):
        load_file(tmp_path / "c.npz")


# -- extreme magnitudes -----------------------------------------------------------------
@pytest.mark.parametrize("scale", [1e300, 1e-300])
def test_extreme_row_scales(tmp_path, scale):
    X, y = _unit_data()
    np.savez(tmp_path / "s.npz", X=X * scale, y=y)
    with pytest.raises(ValueError, match=r"s\.npz: rows of `X` have norms in .*overflow or "
                                         r"underflow float64\. Rescale the inputs, or pass "
                                         r"--normalize"):
        load_dataset(str(tmp_path / "s.npz"))
    ds = load_dataset(str(tmp_path / "s.npz"), normalize=True)
    np.testing.assert_allclose(ds.X, X, rtol=1e-14)
    assert ds.normalized and np.all(np.isfinite(ds.X))


def test_normalize_rows_at_any_magnitude():
    X, y = _unit_data()
    X[0] *= 1e307
    X[1] *= 1e-310  # subnormal entries
    ds = normalize_rows(data_mod._make(X, y, "m", "m"))
    np.testing.assert_allclose(np.linalg.norm(ds.X, axis=1), 1.0, rtol=1e-14)


def test_huge_labels(tmp_path):
    X, y = _unit_data()
    np.savez(tmp_path / "y.npz", X=X, y=y * 1e300)
    with pytest.raises(ValueError, match=r"y\.npz: labels `y` reach \|y\| = .*e\+299; above "
                                         r"1e\+150 the squared loss overflows"):
        load_dataset(str(tmp_path / "y.npz"))


def test_float16_and_float128_inputs(tmp_path):
    X, y = _unit_data()
    np.savez(tmp_path / "h.npz", X=X.astype(np.float16), y=y.astype(np.float16))
    ds = load_dataset(str(tmp_path / "h.npz"))
    assert ds.X.dtype == np.float64
    np.testing.assert_array_equal(ds.X, X.astype(np.float16).astype(np.float64))  # exact
    if np.finfo(np.longdouble).max > np.finfo(np.float64).max:
        big = X.astype(np.longdouble)
        big[2, 1] = np.longdouble(10) ** 400
        np.savez(tmp_path / "q.npz", X=big, y=y)
        with pytest.raises(ValueError, match=r"non-finite entry at index \(2, 1\) \(NaN, inf, or "
                                             r"beyond the float64 range\)"):
            load_file(tmp_path / "q.npz")


# -- ntkcheck check ---------------------------------------------------------------------
def test_duplicated_row_fails_naming_the_pair_and_writes_json(tmp_path, main, capsys):
    X, y = _unit_data()
    X[3] = X[1]
    np.savez(tmp_path / "dup.npz", X=X, y=y)
    out = tmp_path / "r.json"
    assert main(["check", str(tmp_path / "dup.npz"), "--width", "100", "--json", str(out)]) == 1
    text = capsys.readouterr().out
    assert "[FAIL] duplicated points: 1 pair(s) of identical rows, e.g. rows 1 and 3" in text
    assert "H_inf is singular on these data (e.g. rows 1 and 3)" in text
    assert "width              n/a (needs lambda_0 > 0" in text
    res = json.loads(out.read_text())
    assert res["passed"] is False and res["kernel"]["lambda_0"] == 0
    assert res["assumptions"]["duplicates"] == [[1, 3]]
    assert "singular" in res["kernel"]["notes"][0]
    assert "needs lambda_0 > 0" in res["theorems"][0]["unavailable"]["width"]


def test_antiparallel_rows_fail_with_exit_1(tmp_path, main, capsys):
    X, y = _unit_data()
    X[3] = -X[1]
    np.savez(tmp_path / "anti.npz", X=X, y=y)
    assert main(["check", str(tmp_path / "anti.npz")]) == 1
    assert "1 parallel pair(s), e.g. (1, 3)" in capsys.readouterr().out


@pytest.mark.parametrize("value,message", [("0", "`--epsilon` must be > 0.0"),
                                           ("nan", "`--epsilon` must be finite"),
                                           ("-1", "`--epsilon` must be > 0.0")])
def test_epsilon_is_validated(main, capsys, value, message):
    assert main(["check", "sphere:n=10,d=3", "--epsilon", value]) == 2
    assert message in capsys.readouterr().err


def test_check_json_targets(tmp_path, main, capsys, no_hang):
    os.mkfifo(tmp_path / "pipe.json")
    assert main(["check", "sphere:n=10,d=3", "--json", str(tmp_path / "pipe.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ntkcheck check: error: refusing to write") and "a FIFO" in err
    assert stat.S_ISFIFO(os.lstat(tmp_path / "pipe.json").st_mode)
    (tmp_path / "real.json").write_text("{}")
    (tmp_path / "link.json").symlink_to(tmp_path / "real.json")
    assert main(["check", "sphere:n=10,d=3", "--json", str(tmp_path / "link.json")]) == 0
    assert (tmp_path / "link.json").is_symlink()
    assert json.loads((tmp_path / "real.json").read_text())["passed"] is True
    (tmp_path / "file").write_text("x")
    assert main(["check", "sphere:n=10,d=3", "--json", str(tmp_path / "file" / "r.json")]) == 2
    assert "is a regular file, not a directory" in capsys.readouterr().err


def test_check_refuses_a_kernel_too_large_for_memory(main, capsys, monkeypatch):
    monkeypatch.setattr(data_mod, "available_memory", lambda: 1 << 20)  # 1 MiB
    assert main(["check", "sphere:n=2000,d=3"]) == 2
    assert ("ntkcheck check: error: the 2000 x 2000 kernel H_inf of sphere:n=2000,d=3,seed=0 "
            "needs about") in capsys.readouterr().err


# -- the CLI's error handler ------------------------------------------------------------
@pytest.mark.parametrize("exc,expected", [
    (ValueError("bad value"), "bad value"),
    (TypeError("bad type"), "bad type"),
    (KeyError("unknown key 'x'"), "unknown key 'x'"),
    (FileNotFoundError(2, "No such file or directory", "x.npz"), "No such file or directory"),
    (IsADirectoryError(21, "Is a directory", "d"), "Is a directory"),
    (NotADirectoryError(20, "Not a directory", "f/x"), "Not a directory"),
    (PermissionError(13, "Permission denied", "/root/x"), "Permission denied"),
    (OSError(28, "No space left on device"), "No space left on device"),
    (RecursionError("maximum recursion depth exceeded"), "nested too deeply"),
    (OverflowError("int too large to convert to float"), "a number is too large"),
    (ZeroDivisionError("division by zero"), "division by zero"),
    (MemoryError(), "out of memory"),
    (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), "invalid start byte"),
    (zipfile.BadZipFile("File is not a zip file"), "File is not a zip file"),
    (np.linalg.LinAlgError("Matrix is not positive definite"), "not positive definite"),
])
def test_user_errors_print_one_line_and_exit_2(main, capsys, monkeypatch, exc, expected):
    import ntkcheck.commands.bounds as cmd

    def fail(args):
        raise exc

    monkeypatch.setattr(cmd, "_list", fail)
    assert main(["bounds", "list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ntkcheck bounds: error: ") and expected in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_keyboard_interrupt_exits_130(main, capsys, monkeypatch):
    import ntkcheck.commands.bounds as cmd

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cmd, "_list", interrupted)
    assert main(["bounds", "list"]) == 130
    assert capsys.readouterr().err == "ntkcheck bounds: interrupted\n"


def test_broken_pipe_exits_quietly_in_process(main, capsys, monkeypatch):
    class ClosedPipe(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["bounds", "list"]) == cli.EXIT_BROKEN_PIPE == 141
    assert capsys.readouterr().err == ""


def test_broken_pipe_exits_quietly_like_head(tmp_path):
    """`ntkcheck bounds list | head -0`: the reader is gone before the first write."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "ntkcheck.cli", "bounds", "list"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait() == 141 and err == b""


# -- Numba cache without a writable place -------------------------------------------------
def test_cache_decision(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a directory would be needed")
    unwritable_pkg = str(blocker / "pkg")
    env_none = {"HOME": str(blocker)}
    assert numba_cache_usable(unwritable_pkg, env_none) is False
    assert numba_cache_usable(unwritable_pkg, {**env_none, "NUMBA_CACHE_DIR": str(tmp_path / "nc")})
    assert numba_cache_usable(unwritable_pkg, {"HOME": str(tmp_path / "home")})
    assert numba_cache_usable(unwritable_pkg, {**env_none, "XDG_CACHE_HOME": str(tmp_path / "x")})
    assert numba_cache_usable(str(tmp_path / "pkg"), env_none)


def test_import_without_any_writable_cache_place(tmp_path):
    """A read-only install (its __pycache__ unusable) with HOME unusable: cache=False, no crash."""
    for pkg in ("ntkcheck", "bounds"):
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "ntkcheck" / "__pycache__").write_text("not a directory")  # cannot be created
    (tmp_path / "home").write_text("not a directory")
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME", "PYTHONPATH")}
    env.update(HOME=str(tmp_path / "home"), PYTHONPATH=str(tmp_path), PYTHONDONTWRITEBYTECODE="1")
    code = ("import numpy as np, ntkcheck; from ntkcheck._config import NJIT_OPTS; "
            "assert ntkcheck.__file__.startswith(%r); "
            "print(NJIT_OPTS['cache'], ntkcheck.ntk_infinite(np.eye(2))[0, 0])" % str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "0.5"]


def test_inputs_without_columns(tmp_path):
    np.savez(tmp_path / "empty.npz", X=np.zeros((4, 0)), y=np.zeros(4))
    with pytest.raises(ValueError, match=r"empty\.npz: array `X` has no columns \(shape \(4, 0\)\)"):
        load_dataset(str(tmp_path / "empty.npz"), normalize=True)


def test_absurd_chunks_are_clamped_to_the_width_and_randomstate_is_refused():
    """`chunk=10**12` asked for 931 GiB; it is one chunk of all neurons (same result).  The legacy
    RandomState cannot be spawned, so it gets a message with the fix instead of a numpy error."""
    import ntkcheck

    rng = np.random.default_rng(0)
    X, W = rng.standard_normal((5, 3)), rng.standard_normal((8, 3))
    np.testing.assert_array_equal(ntkcheck.ntk_finite(X, W, chunk=10**12), ntkcheck.ntk_finite(X, W))
    np.testing.assert_array_equal(ntkcheck.ntk_at_init(X, 100, rng=1, chunk=10**12),
                                  ntkcheck.ntk_at_init(X, 100, rng=1, chunk=100))
    net = ntkcheck.init_network(3, 8, rng=0)
    big = ntkcheck.train(X, np.ones(5), net, scheme="gd", eta=0.1, global_steps=2, chunk_size=10**12)
    ref = ntkcheck.train(X, np.ones(5), net, scheme="gd", eta=0.1, global_steps=2, chunk_size=8)
    np.testing.assert_array_equal(big.trajectory.loss, ref.trajectory.loss)
    with pytest.raises(TypeError, match="legacy numpy.random.RandomState.*default_rng"):
        ntkcheck.init_network(3, 8, rng=np.random.RandomState(0))
