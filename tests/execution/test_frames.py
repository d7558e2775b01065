"""The frames on the pipes between a worker and its job processes."""

from __future__ import annotations

import os

import pytest

from jupyter_fairshare.execution import frames


def test_a_frame_written_to_a_pipe_reads_back_with_its_meta_and_body():
    r, w = os.pipe()
    try:
        frames.write(w, frames.OUTCOME, {"ok": True, "cpu_seconds": 0.5}, b"\x00blob")
        assert frames.read(r) == (frames.OUTCOME, {"ok": True, "cpu_seconds": 0.5}, bytearray(b"\x00blob"))
    finally:
        os.close(r)
        os.close(w)


def test_the_parser_splits_frames_out_of_chunks_cut_anywhere():
    data = b"".join(bytes(p) for kind, meta, body in [(frames.PROGRESS, {"done": 1, "total": 2}, b""),
                                                       (frames.OUTCOME, {"ok": False}, b"result")]
                    for p in frames.encode(kind, meta, body))
    parser = frames.Parser()
    got = [frame for i in range(len(data)) for frame in parser.feed(data[i:i + 1])]
    assert got == [(frames.PROGRESS, {"done": 1, "total": 2}, b""), (frames.OUTCOME, {"ok": False}, b"result")]


def test_a_pipe_closed_mid_frame_is_an_eof_error():
    r, w = os.pipe()
    os.write(w, frames.encode(frames.READY, {"pid": 1})[0][:5])
    os.close(w)
    try:
        with pytest.raises(EOFError):
            frames.read(r)
    finally:
        os.close(r)
