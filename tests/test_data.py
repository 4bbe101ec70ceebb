"""Datasets: built-in generators, user files (.npz, .npy pairs, .csv) and their error messages."""

from __future__ import annotations

import sys

import numpy as np
import numpy.testing as npt
import pytest

from ntkcheck.data import digits, load_dataset, load_file, normalize_rows, sphere

from .conftest import RTOL_EXACT


def test_sphere_satisfies_assumption_1_and_is_reproducible():
    ds = sphere(30, 5, rng=3)
    npt.assert_allclose(np.linalg.norm(ds.X, axis=1), 1.0, rtol=RTOL_EXACT)
    assert np.abs(ds.y).max() == 1.0 and ds.y.min() < 0 < ds.y.max()
    again = sphere(30, 5, rng=3)
    assert np.array_equal(ds.X, again.X) and np.array_equal(ds.y, again.y)
    assert not np.array_equal(ds.X, sphere(30, 5, rng=4).X)
    rnd = sphere(30, 5, labels="random", rng=3)
    assert set(np.unique(rnd.y)) <= {-1.0, 1.0}
    assert not ds.X.flags.writeable


def test_load_dataset_specs():
    ds = load_dataset("sphere:n=12,d=3,seed=7,labels=random")
    assert (ds.n, ds.d) == (12, 3)
    assert np.array_equal(ds.X, sphere(12, 3, labels="random", rng=7).X)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['q'\]"):
        load_dataset("sphere:n=12,q=1")
    with pytest.raises(ValueError, match="option n must be an integer"):
        load_dataset("sphere:n=abc")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_dataset("no_such_file.npz")


def test_npz_roundtrip_and_normalize(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((10, 4)) * 3, rng.uniform(-1, 1, 10)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    ds = load_file(tmp_path / "d.npz")
    npt.assert_array_equal(ds.X, X)
    npt.assert_array_equal(ds.y, y)
    assert not ds.normalized
    nd = load_dataset(str(tmp_path / "d.npz"), normalize=True)
    assert nd.normalized and "unit sphere" in nd.notes[0]
    npt.assert_allclose(nd.X, X / np.linalg.norm(X, axis=1, keepdims=True), rtol=RTOL_EXACT)


def test_npz_missing_array_and_pickled_objects(tmp_path):
    np.savez(tmp_path / "noy.npz", X=np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"noy.npz: missing array\(s\) \['y'\]"):
        load_file(tmp_path / "noy.npz")
    np.savez(tmp_path / "obj.npz", X=np.array([{"a": 1}] * 3, dtype=object), y=np.ones(3))
    with pytest.raises(ValueError, match="obj.npz: cannot read the .npz file without unpickling"):
        load_file(tmp_path / "obj.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="junk.npz"):
        load_file(tmp_path / "junk.npz")
    np.savez(tmp_path / "shape.npz", X=np.ones((3, 2)), y=np.ones(4))
    with pytest.raises(ValueError, match="`X` has 3 rows but `y` has 4 entries"):
        load_file(tmp_path / "shape.npz")
    np.savez(tmp_path / "nan.npz", X=np.array([[1.0, np.nan], [0.0, 1.0]]), y=np.ones(2))
    with pytest.raises(ValueError, match=r"nan.npz: array `X` has a non-finite entry at index \(0, 1\)"):
        load_file(tmp_path / "nan.npz")


def test_npy_pair(tmp_path):
    X, y = np.eye(3) + 0.1, np.array([1.0, -1.0, 0.5])
    np.save(tmp_path / "train_X.npy", X)
    np.save(tmp_path / "train_y.npy", y)
    ds = load_dataset(str(tmp_path / "train_X.npy"))  # sibling found by replacing X -> y
    npt.assert_array_equal(ds.y, y)
    ds2 = load_dataset(f"{tmp_path / 'train_X.npy'},{tmp_path / 'train_y.npy'}")
    npt.assert_array_equal(ds2.X, X)
    np.save(tmp_path / "alone.npy", X)
    with pytest.raises(ValueError, match="alone.npy: a .npy input needs its labels"):
        load_file(tmp_path / "alone.npy")


def test_csv_header_target_and_default_last(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a,b,label,c\n1,2,0.5,3\n4,5,-0.5,6\n7,8,1,9\n")
    ds = load_file(p)  # default: last column
    npt.assert_array_equal(ds.y, [3, 6, 9])
    npt.assert_array_equal(ds.X, [[1, 2, 0.5], [4, 5, -0.5], [7, 8, 1]])
    ds = load_dataset(str(p), target="label")
    npt.assert_array_equal(ds.y, [0.5, -0.5, 1])
    npt.assert_array_equal(ds.X[:, 2], [3, 6, 9])
    assert np.array_equal(load_file(p, target="2").y, ds.y)
    q = tmp_path / "nohead.csv"
    q.write_text("1,2,3\n4,5,6\n")
    npt.assert_array_equal(load_file(q, target=0).y, [1, 4])


def test_csv_errors_name_file_and_field(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a,b,label\n1,2,0.5\n4,x,1\n")
    with pytest.raises(ValueError, match=r"d.csv: line 3, column 'b': cannot parse 'x' as a number"):
        load_file(p)
    p.write_text("a,b,label\n1,2,0.5\n4,5\n")
    with pytest.raises(ValueError, match="d.csv: line 3 has 2 fields, expected 3"):
        load_file(p)
    p.write_text("a,b,label\n1,2,0.5\n4,5,1\n")
    with pytest.raises(ValueError, match=r"d.csv: no column named 'target' \(target\); columns: \['a', 'b', 'label'\]"):
        load_file(p, target="target")
    with pytest.raises(ValueError, match="index 7 is out of range for 3 columns"):
        load_file(p, target=7)
    q = tmp_path / "nohead.csv"
    q.write_text("1,2,3\n4,5,6\n")
    with pytest.raises(ValueError, match="given by name but the file has no header"):
        load_file(q, target="label")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty.csv: the CSV file is empty"):
        load_file(tmp_path / "empty.csv")
    (tmp_path / "x.txt").write_text("1")
    with pytest.raises(ValueError, match="unknown data file type '.txt'"):
        load_file(tmp_path / "x.txt")


def test_normalize_rejects_zero_rows():
    ds = sphere(4, 2, rng=0)
    from ntkcheck.data import _make

    bad = _make(np.vstack([ds.X, np.zeros((1, 2))]), np.ones(5), "bad", "test")
    with pytest.raises(ValueError, match="row 4 of `X` is all zeros"):
        normalize_rows(bad)


def test_digits_missing_scikit_learn_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install ntkcheck\[data\]"):
        digits()


def test_digits_unit_rows_scalar_labels():
    pytest.importorskip("sklearn")
    ds = load_dataset("digits:n=50,seed=1")
    assert (ds.n, ds.d) == (50, 64) and ds.normalized
    npt.assert_allclose(np.linalg.norm(ds.X, axis=1), 1.0, rtol=RTOL_EXACT)
    assert ds.y.min() >= -1 and ds.y.max() <= 1
