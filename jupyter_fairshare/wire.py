"""The wire format the kernel side and the worker side share.

The pool sits between them and treats every payload and every result as an opaque blob:
it reads neither, and above all never unpickles one. Only the two ends, which both run the
user's own code anyway, call :func:`loads`.

A blob is ``MAGIC`` + a 4-byte big-endian header length + a JSON header + the pickle
stream + the out-of-band buffers, each buffer starting at a multiple of ``ALIGN`` bytes
from the blob's start (zero bytes fill the gaps). The alignment matters where a blob is
mapped from a file: an array at an odd offset is unaligned, and NumPy reads unaligned
arrays through a copying loop at half speed or worse. The header (plain JSON, safe for anyone to
read) names the protocol, the lengths of the frames and the versions of Python,
cloudpickle and the modules the payload references, so a mismatch on the far side can be
reported by name instead of surfacing as a pickling traceback.

Pickle protocol 5 with a ``buffer_callback`` keeps large NumPy arrays out of the pickle
stream: their memory is written once into the blob and read back with zero copies.
"""

from __future__ import annotations

import json
import pickle
import struct
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import cloudpickle

MAGIC = b"FSJ1"
PROTOCOL = 1
_HEADER_LEN = struct.Struct(">I")
ALIGN = 64  # a cache line: enough for every NumPy dtype and for vector loads


@dataclass
class CallTask:
    """Call ``fn(*args, **kwargs)`` on the worker; the return value comes back."""

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class CellTask:
    """Run notebook cell ``source`` with ``inputs`` bound; bring back ``outputs``.

    ``execution_count`` is the kernel's ``In[n]``, so that remote tracebacks name the cell as
    a local run would; ``colors`` is the kernel's traceback colour scheme; ``rc`` holds the
    kernel's matplotlib settings that differ from the defaults, or None when the cell does
    not draw (then the job's settings are left alone).
    """

    source: str
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    name: str = "<fairshare-cell>"
    execution_count: int = 0
    colors: str = "nocolor"
    rc: dict[str, Any] | None = None


@dataclass
class GraphTask:
    """Compute Dask graph ``dsk`` for ``keys`` (a key or a nested list of keys)."""

    dsk: dict[Any, Any]  # Dask keys: strings or tuples
    keys: Any


@dataclass
class Outcome:
    """What the worker sends back: a value, or the remote exception with its traceback.

    ``outputs`` holds the names a cell may have changed (also when it raised: what it
    assigned before the exception), ``deleted`` the inputs it deleted, ``displays`` the rich
    display bundles (``{"data": {mime: ...}, "metadata": {...}}``) in the order the cell
    produced them; those after ``value_at`` came after the cell's value was shown (figures
    drawn at the end of a cell), so the kernel shows them after its ``execute_result`` too.
    """

    ok: bool
    value: Any = None
    outputs: dict[str, Any] = field(default_factory=dict)
    displays: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    value_at: int | None = None
    error_type: str = ""
    error_message: str = ""
    traceback: list[str] = field(default_factory=list)
    exception: BaseException | None = None
    # The warnings a call or a graph issued (category, message, filename, lineno): the
    # caller issues them again as its own, under its own filters.
    warnings: list[dict[str, Any]] = field(default_factory=list)


def referenced_versions(module_names: set[str]) -> dict[str, str]:
    """Versions of the top-level packages a payload references, as far as they tell."""
    versions: dict[str, str] = {}
    for name in sorted({m.split(".")[0] for m in module_names}):
        module = sys.modules.get(name)
        version = getattr(module, "__version__", None)
        if isinstance(version, str):
            versions[name] = version
    return versions


def runtime_versions() -> dict[str, str]:
    """The versions both ends must share for a pickle made on one to load on the other."""
    return {
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "cloudpickle": cloudpickle.__version__,
    }


def frames(obj: Any, **header: Any) -> tuple[dict[str, Any], list[bytes | memoryview]]:
    """``obj`` as the pieces of a blob, not yet joined: (header, buffers).

    Writing the pieces one after another (to a file, a socket) copies a large array once;
    :func:`dumps` joins them into one bytes object, which is also a single copy.
    """
    buffers: list[pickle.PickleBuffer] = []
    stream = cloudpickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]
    modules = {type(obj).__module__} | {m for m in _modules_of(obj)}
    head = {
        "protocol": PROTOCOL,
        "versions": {**runtime_versions(), **referenced_versions(modules)},
        "frames": [len(stream)] + [r.nbytes for r in raws],
        **header,
    }
    encoded = json.dumps(head, separators=(",", ":")).encode()
    pieces: list[bytes | memoryview] = [MAGIC, _HEADER_LEN.pack(len(encoded)), encoded, stream]
    pos = len(MAGIC) + _HEADER_LEN.size + len(encoded) + len(stream)
    for raw in raws:
        gap = -pos % ALIGN
        if gap:
            pieces.append(bytes(gap))
        pieces.append(raw)
        pos += gap + raw.nbytes
    return head, pieces


def dumps(obj: Any, **header: Any) -> bytes:
    """Serialise ``obj`` into one blob; extra keyword arguments go into the header."""
    return b"".join(frames(obj, **header)[1])


def _split(view: memoryview) -> tuple[dict[str, Any], int]:
    if bytes(view[: len(MAGIC)]) != MAGIC:
        raise ValueError("This is not a jupyter-fairshare payload; send it with the fairshare client.")
    (n,) = _HEADER_LEN.unpack_from(view, len(MAGIC))
    start = len(MAGIC) + _HEADER_LEN.size
    head: dict[str, Any] = json.loads(bytes(view[start : start + n]))
    return head, start + n


def size(pieces: Sequence[bytes | memoryview]) -> int:
    """The length of the blob these pieces join into."""
    return sum(memoryview(piece).nbytes for piece in pieces)


def header_size(prefix: bytes) -> int:
    """How many leading bytes of a blob hold its header, from its first 8 bytes."""
    if prefix[: len(MAGIC)] != MAGIC:
        raise ValueError("This is not a jupyter-fairshare payload; send it with the fairshare client.")
    length: int = _HEADER_LEN.unpack_from(prefix, len(MAGIC))[0]
    return len(MAGIC) + _HEADER_LEN.size + length


def header(blob: bytes | memoryview) -> dict[str, Any]:
    """Read a blob's JSON header without touching its pickle stream."""
    return _split(memoryview(blob))[0]


def loads(blob: bytes | memoryview) -> Any:
    """Deserialise a blob made by :func:`dumps`; buffers are views into ``blob``, not copies."""
    view = memoryview(blob)
    head, pos = _split(view)
    stream_size, *sizes = head["frames"]
    stream = view[pos : pos + stream_size]
    pos += stream_size
    buffers: list[memoryview] = []
    for n in sizes:
        pos += -pos % ALIGN
        buffers.append(view[pos : pos + n])
        pos += n
    return pickle.loads(stream, buffers=buffers)


def _modules_of(obj: Any) -> set[str]:
    """Modules of the callables and values directly inside a task or an outcome, for version checks."""
    found: set[str] = set()
    values: list[Any] = []
    if isinstance(obj, CallTask):
        values = [obj.fn, *obj.args, *obj.kwargs.values()]
    elif isinstance(obj, CellTask):
        values = list(obj.inputs.values())
    elif isinstance(obj, Outcome):
        values = [obj.value, *obj.outputs.values()]
    for value in values:
        module = getattr(value, "__module__", None) or type(value).__module__
        if module and module not in ("builtins", "__main__"):
            found.add(module)
    return found
