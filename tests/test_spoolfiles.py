"""Payload files kept for reuse in a spool directory: which are kept, which are taken, what is left in them."""

from __future__ import annotations

import threading

from jupyter_fairshare import spoolfiles


def write(path, data: bytes) -> None:
    with spoolfiles.new_file(path, len(data)) as handle:
        handle.write(data)


def kept(spool):
    return sorted(p.stat().st_size for p in (spool / spoolfiles.FREE).iterdir())


def test_a_retired_file_is_reused_and_cut_to_the_new_payload(tmp_path):
    write(tmp_path / "a.payload", b"x" * 5000)
    spoolfiles.retire(tmp_path / "a.payload")
    assert not (tmp_path / "a.payload").exists() and kept(tmp_path) == [5000]
    inode = next((tmp_path / spoolfiles.FREE).iterdir()).stat().st_ino
    write(tmp_path / "b.part", b"y" * 100)
    assert (tmp_path / "b.part").read_bytes() == b"y" * 100  # nothing of the earlier payload is left
    assert (tmp_path / "b.part").stat().st_ino == inode and kept(tmp_path) == []


def test_only_the_largest_files_are_kept(tmp_path):
    for name, size in [("a", 300), ("b", 100), ("c", 200), ("d", 50)]:
        (tmp_path / name).write_bytes(b"z" * size)
        spoolfiles.retire(tmp_path / name)
        assert not (tmp_path / name).exists()
    assert kept(tmp_path) == [200, 300][-spoolfiles.KEEP:]


def test_the_smallest_file_that_holds_the_payload_is_taken_else_the_largest(tmp_path):
    for name, size in [("a", 1000), ("b", 300)]:
        (tmp_path / name).write_bytes(b"z" * size)
        spoolfiles.retire(tmp_path / name)
    write(tmp_path / "p", b"1" * 200)
    assert kept(tmp_path) == [1000]
    write(tmp_path / "q", b"2" * 5000)
    assert kept(tmp_path) == [] and (tmp_path / "q").read_bytes() == b"2" * 5000


def test_two_writers_never_share_a_free_file(tmp_path):
    write(tmp_path / "a", b"z" * 1000)
    spoolfiles.retire(tmp_path / "a")
    barrier = threading.Barrier(8)

    def writer(i: int) -> None:
        barrier.wait()
        write(tmp_path / f"w{i}", bytes([65 + i]) * (500 + i))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(8):
        assert (tmp_path / f"w{i}").read_bytes() == bytes([65 + i]) * (500 + i)
    inodes = {(tmp_path / f"w{i}").stat().st_ino for i in range(8)}
    assert len(inodes) == 8


def test_retiring_a_file_already_gone_does_nothing_and_empty_clears_the_kept(tmp_path):
    spoolfiles.retire(tmp_path / "never")
    assert not (tmp_path / spoolfiles.FREE).exists()
    write(tmp_path / "a", b"z" * 10)
    spoolfiles.retire(tmp_path / "a")
    spoolfiles.empty(tmp_path)
    assert kept(tmp_path) == []
