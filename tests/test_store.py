"""Results store of sweeps: atomic checksummed records, corruption detection, tables."""

from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest

from ntkcheck.store import (
    RECORD_FORMAT,
    CorruptRecord,
    Store,
    canonical_json,
    record_checksum,
    verify_record,
)


def _record(run_id="r1", *, x=0.5, status="ok", loss=1.25, replicate=0):
    return dict(run_id=run_id, params={"xi": x, "scheme": "bernoulli"}, replicate=replicate, seed=123,
                status=status, result=None if status != "ok" else {"final_loss": loss, "loss": [2.0, loss]},
                error=None if status == "ok" else {"type": "ValueError", "message": "boom", "traceback": "tb"},
                attempts=1, elapsed=0.1)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "sweep")
    s.create_dirs()
    return s


def test_write_read_roundtrip_exact(store):
    rec = _record(loss=0.1 + 0.2)  # a float whose decimal repr needs 17 digits
    sealed = store.write(rec)
    assert sealed["format"] == RECORD_FORMAT
    assert sealed["checksum"] == record_checksum(sealed)
    back = store.read("r1")
    assert back == sealed
    assert back["result"]["final_loss"] == 0.1 + 0.2
    assert store.read("missing") is None
    assert not [p for p in store.runs.iterdir() if p.name.startswith(".tmp-")]


def test_checksum_is_of_canonical_json_without_checksum():
    rec = {"b": 1, "a": [1.5, None], "checksum": "x"}
    import hashlib

    assert record_checksum(rec) == hashlib.sha256(b'{"a":[1.5,null],"b":1}').hexdigest()
    assert canonical_json({"z": 1, "a": {"d": 2, "c": 3}}) == '{"a":{"c":3,"d":2},"z":1}'


@pytest.mark.parametrize("damage", ["truncate", "flip_value", "garbage", "empty", "drop_key", "other_run"])
def test_damaged_record_is_detected_never_read(store, damage):
    store.write(_record())
    path = store.record_path("r1")
    text = path.read_text()
    if damage == "truncate":
        path.write_text(text[: len(text) // 2])
    elif damage == "flip_value":
        path.write_text(text.replace('"final_loss":1.25', '"final_loss":1.35'))
    elif damage == "garbage":
        path.write_bytes(b"\x00\xff\x13 not json")
    elif damage == "empty":
        path.write_text("")
    elif damage == "drop_key":
        rec = json.loads(text)
        del rec["status"]
        path.write_text(json.dumps(rec))
    else:  # a valid record of another run copied under this name
        rec = store.write(_record("r2"))
        path.write_text(canonical_json(rec))
    assert path.read_bytes() != text.encode()
    with pytest.raises(CorruptRecord, match="r1.json"):
        store.read("r1")
    scan = store.scan()
    assert "r1" not in scan.records and [n for n, _ in scan.corrupt] == ["r1.json"]
    with pytest.warns(RuntimeWarning, match="corrupt record"):
        assert [r["run_id"] for r in store.table()] == (["r2"] if damage == "other_run" else [])
    scan = store.scan(quarantine=True)
    assert not store.record_path("r1").exists()
    assert len(list(store.quarantine.iterdir())) == 1
    assert store.scan().corrupt == []


def test_verify_record_rejects_wrong_format():
    rec = _record()
    rec["format"] = "something/0"
    rec["checksum"] = record_checksum(rec)
    with pytest.raises(CorruptRecord, match="format"):
        verify_record(rec)


def test_write_refuses_non_json_before_touching_disk(store):
    with pytest.raises(TypeError):
        store.write({**_record(), "result": {"x": object()}})
    assert list(store.runs.iterdir()) == []


def test_temporary_files_are_ignored_and_cleaned(store):
    store.write(_record())
    (store.runs / ".tmp-r9.json-abc").write_text('{"run_id": "r9"')  # a writer killed mid-write
    assert set(store.scan().records) == {"r1"}
    assert store.clean_temporary() == 1
    assert [p.name for p in store.runs.iterdir()] == ["r1.json"]


def test_rewrite_replaces_atomically(store):
    store.write(_record(status="failed"))
    store.write(_record(loss=3.0))
    assert store.read("r1")["status"] == "ok"
    assert len(list(store.runs.iterdir())) == 1


def test_table_structured_and_csv(store, tmp_path):
    for i, (x, st) in enumerate([(0.5, "ok"), (0.25, "ok"), (1.0, "failed")]):
        store.write(_record(f"r{i}", x=x, status=st, loss=1.0 + i))
    rows = store.table()
    assert [r["xi"] for r in rows] == [0.25, 0.5, 1.0]  # sorted by parameters
    assert rows[2]["error"] == "ValueError: boom" and rows[2]["status"] == "failed"
    assert rows[0]["loss"] == [2.0, 2.0] and rows[0]["final_loss"] == 2.0
    assert [r["run_id"] for r in store.table(status="ok")] == ["r1", "r0"]
    assert [r["run_id"] for r in store.table(where={"xi": 0.5})] == ["r0"]

    arr = store.to_structured()
    assert arr.dtype["xi"] == np.float64 and arr.dtype["replicate"] == np.int64
    assert arr.dtype["scheme"].kind == "U" and "loss" not in arr.dtype.names
    np.testing.assert_array_equal(arr["final_loss"], [2.0, 1.0, np.nan])

    path = store.to_csv()
    with open(path) as fh:
        got = list(csv.DictReader(fh))
    assert [float(g["xi"]) for g in got] == [0.25, 0.5, 1.0]
    assert got[0]["final_loss"] == "2.0" and got[2]["final_loss"] == ""


def test_params_named_like_record_columns_are_prefixed(store):
    rec = _record()
    rec["params"] = {"status": "x", "xi": 0.5}
    store.write(rec)
    row = store.table()[0]
    assert row["status"] == "ok" and row["param.status"] == "x"


def test_meta_and_spec_files(store):
    assert not store.exists()
    with pytest.raises(FileNotFoundError, match="holds no sweep"):
        store.read_meta()
    store.write_meta({"sweep_seed": 1})
    store.write_spec("[sweep]\nseed = 1\n")
    assert store.exists() and store.read_meta() == {"sweep_seed": 1}
    assert store.spec_path.read_text() == "[sweep]\nseed = 1\n"
    assert not any(p.name.startswith(".tmp-") for p in os.scandir(store.root))
