"""ntkcheck._io: atomic writes of regular files only, and the checks on input files and TOML.

Special files are made in tmp_path (a FIFO with os.mkfifo, a Unix socket); the device case
replaces os.stat's answer instead of touching a real device.  Every test that could block
on a FIFO if the code regressed runs under ``no_hang`` (an alarm that turns a hang into an
error).
"""

from __future__ import annotations

import os
import socket
import stat

import pytest

import ntkcheck._io as io_mod
from bounds import _toml as bounds_toml
from ntkcheck._io import (DEFAULT_MAX_INPUT_BYTES, MAX_INPUT_ENV, UnsafeOutputError, atomic_write,
                          bracket_depth, check_input_file, max_input_bytes, parse_toml, read_text,
                          read_toml)





@pytest.fixture
def umask():
    """Set the process umask for one test and restore it."""
    saved = []

    def set_(mask):
        saved.append(os.umask(mask))

    yield set_
    if saved:
        os.umask(saved[0])


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _leftovers(directory) -> list:
    return [p.name for p in directory.iterdir() if p.name.startswith(".tmp-")]


# -- atomic_write: regular files ---------------------------------------------------------
def test_writes_new_file_and_creates_parents(tmp_path):
    target = tmp_path / "a" / "b" / "out.json"
    atomic_write(target, "hello\n")
    assert target.read_text() == "hello\n"
    atomic_write(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert _leftovers(target.parent) == []


def test_new_file_follows_the_umask(tmp_path, umask):
    umask(0o027)
    atomic_write(tmp_path / "new.txt", "x")
    assert _mode(tmp_path / "new.txt") == 0o640
    umask(0o002)
    atomic_write(tmp_path / "new2.txt", "x")
    assert _mode(tmp_path / "new2.txt") == 0o664


@pytest.mark.parametrize("mode", [0o644, 0o600, 0o755, 0o444])
def test_existing_file_keeps_its_mode(tmp_path, mode):
    target = tmp_path / "keep.txt"
    target.write_text("old")
    os.chmod(target, mode)
    atomic_write(target, "new")
    assert target.read_text() == "new" and _mode(target) == mode


def test_content_must_be_text_or_bytes(tmp_path):
    with pytest.raises(TypeError, match="`content` must be str or bytes, got int"):
        atomic_write(tmp_path / "x", 5)
    assert not (tmp_path / "x").exists()


# -- atomic_write: special targets ------------------------------------------------------
def test_fifo_target_is_refused_and_left_alone(tmp_path, no_hang):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(UnsafeOutputError, match=r"refusing to write .*pipe.*a FIFO"):
        atomic_write(fifo, "data")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert _leftovers(tmp_path) == []


def test_directory_target_is_refused(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(UnsafeOutputError, match="it is a directory, not a regular file"):
        atomic_write(tmp_path / "d", "data")
    assert (tmp_path / "d").is_dir()


def test_socket_target_is_refused(tmp_path):
    path = tmp_path / "s"
    if len(os.fsencode(path)) >= 100:
        pytest.skip("tmp path too long for a Unix socket")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(os.fspath(path))
        with pytest.raises(UnsafeOutputError, match="a socket"):
            atomic_write(path, "data")
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
    finally:
        sock.close()


def test_device_target_is_refused_without_opening(tmp_path, monkeypatch):
    # stands in for `--json /dev/null` run as root: os.stat reports a character device
    fake = tmp_path / "null"
    fake.write_text("")
    real_stat = os.stat

    def fake_stat(p, *args, **kwargs):
        result = real_stat(p, *args, **kwargs)
        if os.fspath(p) == os.fspath(fake):
            fields = list(result)
            fields[0] = stat.S_IFCHR | 0o666
            return os.stat_result(fields)
        return result

    monkeypatch.setattr(os, "stat", fake_stat)
    with pytest.raises(UnsafeOutputError, match="a character device"):
        atomic_write(fake, "data")
    with pytest.raises(ValueError, match="is a character device, not a regular file"):
        check_input_file(fake, what="data file")
    monkeypatch.undo()
    assert fake.read_text() == "" and _leftovers(tmp_path) == []


def test_parent_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file.txt").write_text("mine")
    with pytest.raises(UnsafeOutputError, match=r"its parent .*file\.txt.* is a regular file, "
                                                 r"not a directory"):
        atomic_write(tmp_path / "file.txt" / "sub" / "out.json", "x")
    assert (tmp_path / "file.txt").read_text() == "mine"


# -- atomic_write: symbolic links -------------------------------------------------------
def test_symlink_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "data" / "real.json"
    real.parent.mkdir()
    real.write_text("old")
    os.chmod(real, 0o640)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    atomic_write(link, "new")
    assert link.is_symlink() and os.readlink(link) == os.fspath(real)
    assert real.read_text() == "new" and _mode(real) == 0o640
    assert _leftovers(tmp_path) == [] and _leftovers(real.parent) == []


def test_relative_and_chained_symlinks(tmp_path):
    (tmp_path / "real.txt").write_text("old")
    (tmp_path / "l1").symlink_to("real.txt")
    (tmp_path / "l2").symlink_to("l1")
    atomic_write(tmp_path / "l2", "new")
    assert (tmp_path / "real.txt").read_text() == "new"
    assert (tmp_path / "l1").is_symlink() and (tmp_path / "l2").is_symlink()


def test_dangling_symlink_creates_its_target(tmp_path):
    (tmp_path / "link").symlink_to(tmp_path / "target.txt")
    atomic_write(tmp_path / "link", "x")
    assert (tmp_path / "link").is_symlink() and (tmp_path / "target.txt").read_text() == "x"


def test_symlink_to_a_directory_or_a_loop_is_refused(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "to_dir").symlink_to(tmp_path / "d")
    with pytest.raises(UnsafeOutputError, match=r"a link to .*: it is a directory"):
        atomic_write(tmp_path / "to_dir", "x")
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(UnsafeOutputError, match="cannot write"):
        atomic_write(tmp_path / "a", "x")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_unwritable_directory_names_the_path(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o500)
    try:
        with pytest.raises(PermissionError, match=r"cannot write .*locked.*check the permissions"):
            atomic_write(locked / "out.json", "x")
    finally:
        os.chmod(locked, 0o700)


# -- reading ----------------------------------------------------------------------------
def test_check_input_file_accepts_a_regular_file(tmp_path):
    (tmp_path / "a.csv").write_text("1,2\n")
    info = check_input_file(tmp_path / "a.csv", what="data file")
    assert info.st_size == 4


def test_check_input_file_refuses_special_files(tmp_path, no_hang):
    os.mkfifo(tmp_path / "fifo.csv")
    with pytest.raises(ValueError, match=r"data file .*fifo\.csv' is a FIFO \(named pipe\), "
                                         r"not a regular file"):
        check_input_file(tmp_path / "fifo.csv", what="data file")
    (tmp_path / "dir.npz").mkdir()
    with pytest.raises(ValueError, match="is a directory, not a regular file; pass the path"):
        check_input_file(tmp_path / "dir.npz", what="data file")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        check_input_file(tmp_path / "missing.csv", what="data file")
    (tmp_path / "f").write_text("x")
    with pytest.raises(FileNotFoundError, match="a component of the path is a file"):
        check_input_file(tmp_path / "f" / "x.csv", what="data file")


def test_size_cap_and_its_override(tmp_path, monkeypatch):
    big = tmp_path / "big.csv"
    with open(big, "wb") as fh:  # sparse: 2 GiB of size, no disk blocks
        fh.truncate(2 * DEFAULT_MAX_INPUT_BYTES)
    monkeypatch.delenv(MAX_INPUT_ENV, raising=False)
    with pytest.raises(ValueError, match=rf"has {2 * DEFAULT_MAX_INPUT_BYTES} bytes, more than the "
                                         rf"limit of {DEFAULT_MAX_INPUT_BYTES} bytes; set the "
                                         rf"environment variable {MAX_INPUT_ENV}"):
        check_input_file(big, what="data file")
    monkeypatch.setenv(MAX_INPUT_ENV, str(4 * DEFAULT_MAX_INPUT_BYTES))
    assert check_input_file(big, what="data file").st_size == 2 * DEFAULT_MAX_INPUT_BYTES
    monkeypatch.setenv(MAX_INPUT_ENV, "10")
    (tmp_path / "small").write_text("0123456789AB")
    with pytest.raises(ValueError, match="more than the limit of 10 bytes"):
        check_input_file(tmp_path / "small", what="config file")
    monkeypatch.setenv(MAX_INPUT_ENV, "lots")
    with pytest.raises(ValueError, match=f"{MAX_INPUT_ENV} must be a positive number of bytes"):
        max_input_bytes()


def test_read_text_refuses_non_utf8(tmp_path):
    (tmp_path / "c.toml").write_bytes(b"a = 1\n\xff\xfe")
    with pytest.raises(ValueError, match=r"c\.toml' is not UTF-8 text .*offset 6"):
        read_text(tmp_path / "c.toml", what="config file")


# -- TOML -------------------------------------------------------------------------------
def test_read_toml(tmp_path):
    (tmp_path / "c.toml").write_text('m = 10\n[sweep]\nseed = [1, 2]\n')
    assert read_toml(tmp_path / "c.toml", what="config file") == {"m": 10, "sweep": {"seed": [1, 2]}}
    (tmp_path / "bad.toml").write_text("m = \n")
    with pytest.raises(ValueError, match=r"bad\.toml: invalid TOML"):
        read_toml(tmp_path / "bad.toml", what="config file")


@pytest.mark.parametrize("text,found", [
    ("a = " + "[" * 5000 + "]" * 5000, "5000 levels of brackets"),       # RecursionError in tomllib
    ("a = " + "{b = " * 40 + "1" + "}" * 40, "40 levels of brackets"),
    ("a." * 40 + "b = 1", "40 levels of tables and keys"),
    ("[" + ".".join("t" * 40) + "]\nx = 1", "40 levels of tables and keys"),
])
def test_deep_toml_is_refused_before_parsing(text, found):
    with pytest.raises(ValueError, match=rf"^deep\.toml: the TOML document is nested too deeply "
                                         rf"\({found}; at most 32"):
        parse_toml(text, source="deep.toml")


def test_brackets_in_strings_and_comments_do_not_count():
    text = 'a = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["  # [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n'
    text += "b = '''" + "{" * 40 + "'''\n" + 'c = """\\"' + "[" * 40 + '"""\n'
    assert bracket_depth(text) == 0
    assert set(parse_toml(text, source="s")) == {"a", "b", "c"}


TOML_SAMPLES = ['a = 1', 'a = [[1], [2, [3]]]', 'a = "[{"', "a = '''\n[[\n'''", '# [[[\nb = {c = [1]}',
                'x = """a\\"""[[["""', "[t.u]\nv = [{w = 1}]", "a = [\n[\n1]]", 'a = "unterminated [[',
                "a = [ # ]\n 1]"]


@pytest.mark.parametrize("text", TOML_SAMPLES)
def test_the_two_toml_scanners_agree(text):
    """ntkcheck._io keeps a copy of bounds._toml (the numeric core does not import SymPy)."""
    assert bracket_depth(text) == bounds_toml.bracket_depth(text)
    try:
        ours = parse_toml(text, source="s", max_depth=3)
    except ValueError as exc:
        with pytest.raises(ValueError) as theirs:
            bounds_toml.loads(text, source="s", max_depth=3)
        assert str(theirs.value) == str(exc)
    else:
        assert bounds_toml.loads(text, source="s", max_depth=3) == ours


def test_the_two_toml_copies_have_the_same_code():
    for name in ("_TOKENS",):
        assert getattr(io_mod, name).pattern == getattr(bounds_toml, name).pattern
