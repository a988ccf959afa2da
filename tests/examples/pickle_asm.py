"""A tiny pickle assembler for the safe-unpickler tests: hand-built opcode streams, and Python-2-style pickles.

Python 2 with numpy 1.x (CIFAR-10's batches, StackGAN's CUB pickles) wrote ``str`` as SHORT_BINSTRING/BINSTRING
(protocol 2) or quoted STRING (protocol 0) and named ``numpy.core.multiarray``; :func:`py2_dumps` writes that.
"""

from __future__ import annotations

import codecs
import struct

import numpy as np

MARK, STOP, POP, DUP = b"(", b".", b"0", b"2"
NONE, TRUE, FALSE = b"N", b"\x88", b"\x89"
TUPLE, TUPLE1, TUPLE2, TUPLE3, EMPTY_TUPLE = b"t", b"\x85", b"\x86", b"\x87", b")"
LIST, EMPTY_LIST, APPEND, APPENDS = b"l", b"]", b"a", b"e"
DICT, EMPTY_DICT, SETITEM, SETITEMS = b"d", b"}", b"s", b"u"
REDUCE, BUILD, NEWOBJ, NEWOBJ_EX, OBJ = b"R", b"b", b"\x81", b"\x92", b"o"
MEMOIZE, BINPERSID, NEXT_BUFFER, READONLY_BUFFER = b"\x94", b"Q", b"\x97", b"\x98"
EMPTY_SET, ADDITEMS, FROZENSET, STACK_GLOBAL = b"\x8f", b"\x90", b"\x91", b"\x93"

NDARRAY = b"cnumpy\nndarray\n"
DTYPE = b"cnumpy\ndtype\n"


def proto(n: int = 4) -> bytes:
    return b"\x80" + bytes([n])


def glob(module: str, name: str) -> bytes:
    return b"c" + f"{module}\n{name}\n".encode()


def sglob(module: str, name: str) -> bytes:
    return text(module) + text(name) + STACK_GLOBAL


def integer(v: int) -> bytes:
    if 0 <= v < 256:
        return b"K" + bytes([v])
    if -(2**31) <= v < 2**31:
        return b"J" + struct.pack("<i", v)
    raw = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(raw)]) + raw


def text(s: str) -> bytes:
    raw = s.encode("utf-8")
    return b"X" + struct.pack("<I", len(raw)) + raw


def binbytes(b: bytes) -> bytes:
    return b"B" + struct.pack("<I", len(b)) + b


def py2str(b: bytes) -> bytes:
    return (b"U" + bytes([len(b)]) if len(b) < 256 else b"T" + struct.pack("<i", len(b))) + b


def bytearray8(b: bytes, declared: int | None = None) -> bytes:
    return b"\x96" + struct.pack("<Q", len(b) if declared is None else declared) + b


def binput(i: int) -> bytes:
    return b"q" + bytes([i])


def binget(i: int) -> bytes:
    return b"h" + bytes([i])


def ext1(code: int) -> bytes:
    return b"\x82" + bytes([code])


def tup(*items: bytes) -> bytes:
    return MARK + b"".join(items) + TUPLE


def call(func: bytes, *args: bytes) -> bytes:
    return func + tup(*args) + REDUCE


def stream(*parts: bytes) -> bytes:
    return proto(4) + b"".join(parts) + STOP


def reconstruct(module: str = "numpy.core") -> bytes:
    return call(glob(f"{module}.multiarray", "_reconstruct"), NDARRAY, tup(integer(0)), binbytes(b"b"))


def dtype(code: str = "f4", endian: str = "<", state: bytes | None = None) -> bytes:
    plain = tup(integer(3), text(endian), NONE, NONE, NONE, integer(-1), integer(-1), integer(0))
    return call(DTYPE, text(code), FALSE, TRUE) + (plain if state is None else state) + BUILD


def array(shape: tuple, dtype_ops: bytes, raw: bytes, fortran: bytes = FALSE, module: str = "numpy.core") -> bytes:
    state = tup(integer(1), tup(*(integer(d) for d in shape)), dtype_ops, fortran, binbytes(raw))
    return reconstruct(module) + state + BUILD


def _py2_array(a: np.ndarray, protocol: int) -> bytes:
    a = np.asarray(a)
    fortran = a.flags.f_contiguous and not a.flags.c_contiguous
    raw = a.tobytes(order="F" if fortran else "C")
    code, endian = a.dtype.str[1:], a.dtype.str[0]
    if protocol == 0:

        def s(b: bytes) -> bytes:
            return b"S'" + codecs.escape_encode(b)[0] + b"'\n"

        def i(v: int) -> bytes:
            return f"I{v}\n".encode()

        shape = MARK + b"".join(i(d) for d in a.shape) + TUPLE
        dt = b"(" + s(code.encode()) + i(0) + i(1) + b"tR(" + i(3) + s(endian.encode()) + b"NNN" + i(-1) * 2
        dt = b"cnumpy\ndtype\n" + dt + i(0) + b"tb"
        head = b"cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\n(" + i(0) + b"t" + s(b"b") + b"tR"
        return head + b"(" + i(1) + shape + dt + (b"I01\n" if fortran else b"I00\n") + s(raw) + b"tb"
    shape = tup(*(integer(d) for d in a.shape))
    dt = call(DTYPE, py2str(code.encode()), integer(0), integer(1))
    dt += tup(integer(3), py2str(endian.encode()), NONE, NONE, NONE, integer(-1), integer(-1), integer(0)) + BUILD
    head = call(glob("numpy.core.multiarray", "_reconstruct"), NDARRAY, tup(integer(0)), py2str(b"b"))
    return head + tup(integer(1), shape, dt, TRUE if fortran else FALSE, py2str(raw)) + BUILD


def _py2(value: object, protocol: int) -> bytes:
    if isinstance(value, np.ndarray):
        return _py2_array(value, protocol)
    if isinstance(value, dict):
        return EMPTY_DICT + MARK + b"".join(_py2(k, protocol) + _py2(v, protocol) for k, v in value.items()) + SETITEMS
    if isinstance(value, list):
        return EMPTY_LIST + MARK + b"".join(_py2(v, protocol) for v in value) + APPENDS
    if isinstance(value, bytes):  # a Python 2 str
        return py2str(value) if protocol else b"S'" + codecs.escape_encode(value)[0] + b"'\n"
    if isinstance(value, bool) or value is None:
        return (
            {True: TRUE, False: FALSE, None: NONE}[value]
            if protocol
            else {True: b"I01\n", False: b"I00\n"}.get(value, NONE)
        )
    if isinstance(value, int):
        return integer(value) if protocol else f"I{value}\n".encode()
    if isinstance(value, float):
        return b"G" + struct.pack(">d", value) if protocol else f"F{value!r}\n".encode()
    raise TypeError(type(value))


def py2_dumps(value: object, protocol: int = 2) -> bytes:
    """``value`` pickled as Python 2's cPickle with numpy 1.x did: bytes are Python 2 ``str``; protocol 0 or 2."""
    return (proto(2) if protocol else b"") + _py2(value, protocol) + STOP
