"""The wire format both ends share: what a blob promises about its out-of-band buffers."""

import numpy as np
import pytest

from jupyter_fairshare import wire


@pytest.mark.parametrize("name", ["a", "an_array_with_a_longer_name", "x" * 37])
def test_every_out_of_band_buffer_starts_aligned_from_the_blobs_start(name):
    # A payload mapped from a spool file is page-aligned, so an aligned offset in the blob
    # makes an aligned array; an unaligned one makes NumPy read it at half speed or worse.
    arrays = {name: np.arange(1000, dtype=np.float64), "b": np.ones(777, dtype=np.int8), "c": np.ones(500)}
    blob = bytearray(wire.dumps(wire.CellTask("pass", inputs=arrays)))
    base = np.frombuffer(blob, dtype=np.uint8).ctypes.data
    task = wire.loads(memoryview(blob))
    for key, array in arrays.items():
        got = task.inputs[key]
        assert np.array_equal(got, array)
        assert (got.ctypes.data - base) % wire.ALIGN == 0, key
        assert got.flags.aligned



def test_the_header_is_read_without_unpickling_and_names_the_versions():
    class Unpicklable:
        def __reduce__(self):
            return (_refuse, ())

    blob = wire.dumps(wire.CallTask(len, (Unpicklable(),)), note="hello")
    head = wire.header(blob)
    assert head["note"] == "hello"
    assert head["versions"]["python"] == wire.runtime_versions()["python"]
    assert len(head["frames"]) == 1  # no out-of-band buffers: the pickle stream ends the blob
    assert wire.header_size(blob[:8]) + head["frames"][0] == len(blob)
    with pytest.raises(RuntimeError):
        wire.loads(blob)


def test_a_blob_that_is_not_a_payload_is_refused_with_what_to_do():
    with pytest.raises(ValueError, match="send it with the fairshare client"):
        wire.header(b"not a payload at all")
    with pytest.raises(ValueError, match="send it with the fairshare client"):
        wire.header_size(b"PK\x03\x04....")


def _refuse():
    raise RuntimeError("unpickled")
