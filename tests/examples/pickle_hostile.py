"""Hostile pickles for the safe unpickler, run in a child process so that a crash (SIGSEGV) is a failed test.

``python -m tests.examples.pickle_hostile cases`` loads every case of :func:`cases` and prints one JSON object:
case name -> ``["refused", message]``, ``["ok", type name]`` or ``["wrong", exception]`` (an exception that is not a
``pickle.UnpicklingError``, or a value that fails the structural check). ``... fuzz N`` runs a hypothesis fuzz of N
random opcode streams over the allowed globals and prints ``fuzz ok``.
"""

from __future__ import annotations

import contextlib
import copyreg
import json
import pickle
import sys

from examples.common.data.safe_pickle import check_plain, loads
from tests.examples.pickle_asm import (
    ADDITEMS,
    APPEND,
    BINPERSID,
    BUILD,
    DICT,
    DTYPE,
    DUP,
    EMPTY_DICT,
    EMPTY_LIST,
    EMPTY_SET,
    EMPTY_TUPLE,
    FALSE,
    FROZENSET,
    MARK,
    MEMOIZE,
    NDARRAY,
    NEWOBJ,
    NEWOBJ_EX,
    NEXT_BUFFER,
    NONE,
    OBJ,
    POP,
    READONLY_BUFFER,
    REDUCE,
    SETITEM,
    TRUE,
    TUPLE1,
    TUPLE2,
    array,
    binbytes,
    binget,
    binput,
    bytearray8,
    call,
    dtype,
    ext1,
    glob,
    integer,
    proto,
    sglob,
    stream,
    text,
    tup,
)

RECON = "numpy.core.multiarray", "_reconstruct"
SCALAR = "numpy._core.multiarray", "scalar"
FROMBUF = "numpy._core.numeric", "_frombuffer"
F4 = dtype("f4")
PLAIN_STATE = (integer(3), text("<"), NONE, NONE, NONE, integer(-1), integer(-1), integer(0))


def _state(*items: bytes) -> bytes:
    return tup(*items)


def _deep_tuple(depth: int) -> bytes:
    return EMPTY_TUPLE + TUPLE1 * depth


def cases() -> dict[str, bytes]:
    """Every hostile stream, by name; each must be refused with ``pickle.UnpicklingError``."""
    hostile_dtypes = {
        "O": text("O"),
        "|O": text("|O"),
        "O8": text("O8"),
        "bytes O": binbytes(b"O"),
        "object": text("object"),
        "structured str": text("[('a', 'O')]"),
        "comma": text("f4,O"),
        "structured list": EMPTY_LIST + MARK + tup(text("a"), text("O")) + b"e",
        "subarray O": tup(text("O"), tup(integer(2))),
        "subarray f4": tup(text("f4"), tup(integer(2))),
        "dict fields": EMPTY_DICT
        + text("names")
        + EMPTY_LIST
        + text("a")
        + APPEND
        + SETITEM
        + text("formats")
        + EMPTY_LIST
        + text("O")
        + APPEND
        + SETITEM,
        "void": text("V8"),
        "bytes str": text("S3"),
        "unicode": text("U2"),
        "datetime": text("M8"),
        "number": integer(3),
        "None": NONE,
        "bad code": text("f3"),
        "long": text("f4" * 40),
    }
    out = {f"dtype {name}": stream(call(DTYPE, arg, FALSE, TRUE)) for name, arg in hostile_dtypes.items()}
    out["dtype 1 arg O"] = stream(call(DTYPE, text("O")))
    out["dtype bad align"] = stream(call(DTYPE, text("f4"), integer(7), TRUE))
    out["dtype 4 args"] = stream(call(DTYPE, text("f4"), FALSE, TRUE, NONE))
    # BUILD states that would turn a plain dtype into one with object fields, a sub-array or metadata
    f8 = call(DTYPE, text("V8"), FALSE, TRUE)
    f8b = call(DTYPE, text("f8"), FALSE, TRUE)
    o_field = tup(text("a")), EMPTY_DICT + text("a") + tup(f8b, integer(0)) + SETITEM
    for name, base in (("V8", f8), ("f8", f8b)):
        out[f"dtype {name} BUILD object fields"] = stream(
            base + _state(integer(3), text("|"), NONE, *o_field, integer(8), integer(1), integer(63)) + BUILD
        )
    out["dtype BUILD subarray"] = stream(
        f8b
        + _state(integer(3), text("<"), tup(f8b, tup(integer(2))), NONE, NONE, integer(-1), integer(-1), integer(0))
        + BUILD
    )
    out["dtype BUILD version 4 metadata"] = stream(f8b + _state(integer(4), *PLAIN_STATE[1:], EMPTY_DICT) + BUILD)
    out["dtype BUILD endian O"] = stream(f8b + _state(integer(3), text("O"), *PLAIN_STATE[2:]) + BUILD)
    out["dtype BUILD | on f8"] = stream(f8b + _state(integer(3), text("|"), *PLAIN_STATE[2:]) + BUILD)
    out["dtype BUILD flags 63"] = stream(f8b + _state(*PLAIN_STATE[:7], integer(63)) + BUILD)
    out["dtype BUILD twice"] = stream(F4 + _state(*PLAIN_STATE) + BUILD)
    out["dtype BUILD dict"] = stream(f8b + EMPTY_DICT + BUILD)
    unbuilt = call(DTYPE, text("f4"), FALSE, TRUE)
    out["dtype BUILD after use"] = stream(
        unbuilt + binput(9) + POP + array((1,), binget(9), b"\0" * 4) + POP + binget(9) + _state(*PLAIN_STATE) + BUILD
    )
    out["dtype alone"] = stream(F4)
    # the reported route: numpy.ndarray called on raw bytes with an object dtype, and its relatives
    bad = binbytes(b"A" * 8)
    out["ndarray O"] = stream(call(NDARRAY, tup(integer(1)), text("O"), bad))
    out["ndarray O in list"] = stream(EMPTY_LIST + call(NDARRAY, tup(integer(1)), text("O"), bad) + APPEND)
    out["ndarray structured O"] = stream(call(NDARRAY, tup(integer(1)), hostile_dtypes["structured list"], bad))
    out["ndarray f8"] = stream(call(NDARRAY, tup(integer(1)), text("f8"), bad))
    out["ndarray NEWOBJ"] = stream(NDARRAY + tup(tup(integer(1)), text("O"), bad) + NEWOBJ)
    out["ndarray NEWOBJ_EX"] = stream(NDARRAY + tup(tup(integer(1)), text("O"), bad) + EMPTY_DICT + NEWOBJ_EX)
    out["ndarray OBJ"] = stream(MARK + NDARRAY + tup(integer(1)) + text("O") + bad + OBJ)
    out["ndarray INST"] = stream(MARK + tup(integer(1)) + text("O") + bad + b"inumpy\nndarray\n")
    out["ndarray BUILD"] = stream(NDARRAY + EMPTY_DICT + BUILD)
    out["ndarray STACK_GLOBAL O"] = stream(call(sglob("numpy", "ndarray"), tup(integer(1)), text("O"), bad))
    # BUILD on an allowed function: would poison its __defaults__ for later loads
    poison = EMPTY_DICT + text("__defaults__") + tup(integer(1)) + SETITEM
    out["BUILD function defaults"] = stream(glob(*RECON) + tup(NONE, poison) + BUILD)
    out["BUILD function dict"] = stream(glob(*SCALAR) + EMPTY_DICT + text("x") + integer(1) + SETITEM + BUILD)
    out["BUILD dict"] = stream(EMPTY_DICT + EMPTY_DICT + BUILD)
    out["BUILD list"] = stream(EMPTY_LIST + tup(EMPTY_DICT, EMPTY_DICT) + BUILD)
    # _reconstruct with anything but (ndarray, (0,), b'b')
    for name, args in {
        "dtype cls": (F4, tup(integer(0)), binbytes(b"b")),
        "str cls": (text("x"), tup(integer(0)), binbytes(b"b")),
        "shape 1": (NDARRAY, tup(integer(1)), binbytes(b"b")),
        "huge shape": (NDARRAY, tup(integer(2**62)), binbytes(b"b")),
        "negative shape": (NDARRAY, tup(integer(-1)), binbytes(b"b")),
        "typecode O": (NDARRAY, tup(integer(0)), binbytes(b"O")),
        "typecode str O": (NDARRAY, tup(integer(0)), text("O")),
        "4 args": (NDARRAY, tup(integer(0)), binbytes(b"b"), NONE),
        "no args": (),
    }.items():
        out[f"_reconstruct {name}"] = stream(call(glob(*RECON), *args))

    # array BUILD states
    def arr(state: bytes) -> bytes:
        return stream(call(glob(*RECON), NDARRAY, tup(integer(0)), binbytes(b"b")) + state + BUILD)

    for name, state in {
        "raw short": (integer(1), tup(integer(2)), F4, FALSE, binbytes(b"\0" * 4)),
        "raw long": (integer(1), tup(integer(1)), F4, FALSE, binbytes(b"\0" * 8)),
        "huge shape": (integer(1), tup(integer(2**40), integer(2**40)), F4, FALSE, binbytes(b"\0" * 4)),
        "shape overflow": (integer(1), tup(*[integer(2**40)] * 4), F4, FALSE, binbytes(b"")),
        "negative shape": (integer(1), tup(integer(-1)), F4, FALSE, binbytes(b"")),
        "bool shape": (integer(1), tup(TRUE), F4, FALSE, binbytes(b"\0" * 4)),
        "33 dims": (integer(1), tup(*[integer(1)] * 33), F4, FALSE, binbytes(b"\0" * 4)),
        "list data": (integer(1), tup(integer(1)), F4, FALSE, EMPTY_LIST + integer(5) + APPEND),
        "non-latin1 str data": (integer(1), tup(integer(1)), F4, FALSE, text("\u1234\u1234")),
        "dtype as str": (integer(1), tup(integer(1)), text("O"), FALSE, bad),
        "dtype as None": (integer(1), tup(integer(1)), NONE, FALSE, bad),
        "version 2": (integer(2), tup(integer(1)), F4, FALSE, binbytes(b"\0" * 4)),
        "4-tuple": (tup(integer(1)), F4, FALSE, binbytes(b"\0" * 4)),
        "fortran 7": (integer(1), tup(integer(1)), F4, integer(7), binbytes(b"\0" * 4)),
    }.items():
        out[f"array BUILD {name}"] = arr(tup(*state))
    out["array BUILD dict"] = arr(EMPTY_DICT)
    ok_array = array((1,), F4, b"\0" * 4)
    out["array BUILD twice"] = stream(ok_array + tup(integer(1), tup(integer(1)), F4, FALSE, bad) + BUILD)
    out["array used before BUILD"] = stream(
        EMPTY_LIST + call(glob(*RECON), NDARRAY, tup(integer(0)), binbytes(b"b")) + APPEND
    )
    out["array DUP before BUILD"] = stream(
        call(glob(*RECON), NDARRAY, tup(integer(0)), binbytes(b"b"))
        + DUP
        + tup(integer(1), tup(integer(1)), F4, FALSE, binbytes(b"\0" * 4))
        + BUILD
        + TUPLE2
    )
    out["array never built"] = stream(call(glob(*RECON), NDARRAY, tup(integer(0)), binbytes(b"b")))
    blob = binbytes(b"\0" * 100_000) + binput(7) + POP
    state = tup(integer(1), tup(integer(25_000)), F4, FALSE, binget(7))
    one = call(glob(*RECON), NDARRAY, tup(integer(0)), binbytes(b"b")) + state + BUILD
    out["memo reuse bomb"] = stream(blob + EMPTY_LIST + MARK + one * 30 + b"e")
    # _frombuffer
    for name, args in {
        "object dtype": (binbytes(bad[5:]), call(DTYPE, text("O"), FALSE, TRUE), tup(integer(1)), text("C")),
        "size mismatch": (bytearray8(b"\0" * 8), F4, tup(integer(3)), text("C")),
        "huge shape": (bytearray8(b"\0" * 8), F4, tup(integer(2**48)), text("C")),
        "negative shape": (bytearray8(b"\0" * 8), F4, tup(integer(-2)), text("C")),
        "order K": (bytearray8(b"\0" * 8), F4, tup(integer(2)), text("K")),
        "str buffer": (text("abcdefgh"), F4, tup(integer(2)), text("C")),
        "list buffer": (EMPTY_LIST, F4, tup(integer(0)), text("C")),
        "dtype str": (bytearray8(b"\0" * 8), text("f4"), tup(integer(2)), text("C")),
        "3 args": (bytearray8(b"\0" * 8), F4, tup(integer(2))),
    }.items():
        out[f"_frombuffer {name}"] = stream(call(glob(*FROMBUF), *args))
    # scalar
    for name, args in {
        "object": (call(DTYPE, text("O"), FALSE, TRUE), EMPTY_LIST),
        "short data": (call(DTYPE, text("f8"), FALSE, TRUE), binbytes(b"\0" * 3)),
        "int data": (call(DTYPE, text("f8"), FALSE, TRUE), integer(3)),
        "dtype str": (text("f8"), binbytes(b"\0" * 8)),
        "1 arg": (call(DTYPE, text("f8"), FALSE, TRUE),),
    }.items():
        out[f"scalar {name}"] = stream(call(glob(*SCALAR), *args))
    # the other allowed globals
    out["encode utf-8"] = stream(call(glob("_codecs", "encode"), text("x"), text("utf-8")))
    out["encode rot13"] = stream(call(glob("_codecs", "encode"), text("x"), text("rot13")))
    out["encode bytes"] = stream(call(glob("_codecs", "encode"), binbytes(b"x"), text("latin1")))
    out["encode non-latin1"] = stream(call(glob("_codecs", "encode"), text("\u1234"), text("latin1")))
    big = text("x" * 50_000) + binput(3) + POP
    encode = call(glob("_codecs", "encode"), binget(3), text("latin1"))
    out["encode reuse bomb"] = stream(big + EMPTY_LIST + MARK + encode * 10 + b"e")
    out["bytes(huge)"] = stream(call(glob("builtins", "bytes"), integer(10**12)))
    out["py2 bytes(huge)"] = stream(call(glob("__builtin__", "bytes"), integer(10**12)))
    out["bytes(str, enc)"] = stream(call(glob("builtins", "bytes"), text("x"), text("utf-8")))
    out["OrderedDict str"] = stream(call(glob("collections", "OrderedDict"), tup(text("ab"))))
    out["OrderedDict triple"] = stream(
        call(glob("collections", "OrderedDict"), EMPTY_LIST + tup(integer(1), integer(2), integer(3)) + APPEND)
    )
    out["OrderedDict deep key"] = stream(
        call(glob("collections", "OrderedDict"), EMPTY_LIST + tup(_deep_tuple(300_000), integer(1)) + APPEND)
    )
    out["OrderedDict BUILD"] = stream(call(glob("collections", "OrderedDict")) + EMPTY_DICT + BUILD)
    # globals that are not allowed, opcodes that are refused
    out["global os.system"] = stream(call(glob("os", "system"), text("true")))
    out["global numpy.frombuffer"] = stream(call(glob("numpy", "frombuffer"), bad, text("O")))
    out["global numpy.core.multiarray.ndarray"] = stream(glob("numpy.core.multiarray", "ndarray"))
    out["global copyreg._reconstructor"] = stream(glob("copyreg", "_reconstructor"))
    out["global builtins.getattr"] = stream(sglob("builtins", "getattr"))
    out["REDUCE list"] = stream(EMPTY_LIST + EMPTY_TUPLE + REDUCE)
    out["REDUCE int"] = stream(integer(3) + EMPTY_TUPLE + REDUCE)
    out["REDUCE dtype"] = stream(F4 + EMPTY_TUPLE + REDUCE)
    out["REDUCE array"] = stream(ok_array + EMPTY_TUPLE + REDUCE)
    out["REDUCE list args"] = stream(glob(*RECON) + EMPTY_LIST + REDUCE)
    out["REDUCE str args"] = stream(glob("_codecs", "encode") + text("xy") + REDUCE)
    out["NEWOBJ dtype"] = stream(DTYPE + tup(text("O")) + NEWOBJ)
    out["OBJ scalar"] = stream(MARK + glob(*SCALAR) + F4 + binbytes(b"\0" * 4) + OBJ)
    out["EXT1"] = stream(ext1(1))
    out["EXT1 registered"] = stream(ext1(240))
    out["EXT2"] = stream(b"\x83\x01\x01")
    out["EXT4"] = stream(b"\x84\x01\x00\x00\x00")
    out["PERSID"] = stream(b"Pfile\n")
    out["BINPERSID"] = stream(text("file") + BINPERSID)
    out["NEXT_BUFFER"] = stream(NEXT_BUFFER)
    out["READONLY_BUFFER"] = stream(binbytes(b"abc") + READONLY_BUFFER)
    out["EMPTY_SET"] = stream(EMPTY_SET)
    out["ADDITEMS"] = stream(EMPTY_LIST + MARK + integer(1) + ADDITEMS)
    out["FROZENSET"] = stream(MARK + integer(1) + FROZENSET)
    out["deep tuple key SETITEM"] = stream(EMPTY_DICT + _deep_tuple(300_000) + integer(1) + SETITEM)
    out["deep tuple key DICT"] = stream(MARK + _deep_tuple(300_000) + integer(1) + DICT)
    out["DICT odd items"] = stream(MARK + text("a") + integer(1) + text("b") + DICT)
    out["SETITEMS odd items"] = stream(EMPTY_DICT + MARK + text("a") + integer(1) + text("b") + b"u")
    out["list key"] = stream(EMPTY_DICT + EMPTY_LIST + integer(1) + SETITEM)
    out["SETITEM into list"] = stream(EMPTY_LIST + integer(0) + integer(1) + SETITEM)
    out["SETITEM into array"] = stream(ok_array + integer(0) + integer(1) + SETITEM)
    out["APPEND to dict"] = stream(EMPTY_DICT + integer(1) + APPEND)
    out["APPEND to bytearray"] = stream(bytearray8(b"ab") + integer(1) + APPEND)
    out["bytearray in result"] = stream(bytearray8(b"ab"))
    out["BYTEARRAY8 huge"] = stream(bytearray8(b"ab", declared=2**40))
    out["truncated"] = proto(2) + EMPTY_LIST
    out["empty"] = b""
    out["garbage"] = b"\xff\xfe not a pickle"
    out["memo miss"] = stream(binget(5))
    out["MEMOIZE empty stack"] = stream(MEMOIZE)
    for name, data in list(out.items()):  # numpy 1 and numpy 2 module names of every numpy global
        for old, new in ((b"cnumpy.core.", b"cnumpy._core."), (b"cnumpy._core.", b"cnumpy.core.")):
            if old in data:
                out[f"{name} [{new[1:-1].decode()}]"] = data.replace(old, new)
    return out


OK_CASES = {
    "self-referencing list": stream(EMPTY_LIST + binput(0) + binget(0) + APPEND),
    "deep nesting": stream(MARK * 300_000 + b"l" * 300_000),
    "array twice": stream(array((1,), F4, b"\0" * 4) + binput(2) + binget(2) + b"\x86"),
    "DICT with items": stream(MARK + text("a") + integer(1) + binbytes(b"b") + NONE + DICT),
}


def _outcome(data: bytes) -> list[str]:
    try:
        value = loads(data)
    except pickle.UnpicklingError as error:
        return ["refused", str(error)]
    except BaseException as error:  # anything else is a failure the tests report
        return ["wrong", f"{type(error).__name__}: {error}"]
    try:
        check_plain(value)
    except pickle.UnpicklingError as error:
        return ["wrong", f"returned a value failing check_plain: {error}"]
    return ["ok", type(value).__name__]


def run_cases() -> dict[str, list[str]]:
    """Outcome of every case; an extension code is registered first, its cache filled, to check EXT is refused."""
    copyreg.add_extension("os", "system", 240)
    pickle.loads(b"\x80\x02\x82\xf0.")  # the stdlib unpickler caches os.system under code 240
    return {name: _outcome(data) for name, data in {**cases(), **OK_CASES}.items()}


def fuzz(examples: int) -> None:
    """Random opcode streams over the allowed globals: each load returns a plain value or raises UnpicklingError."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from examples.common.data.safe_pickle import allowed_globals

    tokens = [glob(m, n) for m, n in allowed_globals()] + [sglob(m, n) for m, n in allowed_globals()[:3]]
    tokens += [text(s) for s in ("O", "|O", "f4", "u1", "<", "|", "b", "C", "F", "latin1", "[('a','O')]", "V8")]
    tokens += [integer(v) for v in (0, 1, 2, 3, 4, -1, 2**31, 2**62, -(2**40))]
    tokens += [binbytes(b) for b in (b"", b"b", b"A" * 8, b"\0" * 4, b"\0" * 16)]
    tokens += [bytearray8(b"\0" * 8), NONE, TRUE, FALSE, F4, array((1,), F4, b"\0" * 4), _deep_tuple(2000)]
    tokens += [MARK, b"t", TUPLE1, b"\x86", b"\x87", EMPTY_TUPLE, b"l", EMPTY_LIST, APPEND, b"e", DICT, EMPTY_DICT]
    tokens += [SETITEM, b"u", REDUCE, BUILD, NEWOBJ, NEWOBJ_EX, OBJ, ext1(1), text("p") + BINPERSID, MEMOIZE]
    tokens += [binget(i) for i in range(4)] + [binput(i) for i in range(4)] + [DUP, POP, b"1", NEXT_BUFFER]
    tokens += [READONLY_BUFFER, EMPTY_SET, ADDITEMS, FROZENSET]

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.lists(st.sampled_from(tokens), max_size=40), st.sampled_from(["bytes", "latin1"]))
    def check(parts: list[bytes], encoding: str) -> None:
        data = proto(4) + b"".join(parts) + b"."
        with contextlib.suppress(pickle.UnpicklingError):
            check_plain(loads(data, encoding=encoding))

    check()


if __name__ == "__main__":
    if sys.argv[1] == "cases":
        print(json.dumps(run_cases()))
    else:
        fuzz(int(sys.argv[2]))
        print("fuzz ok")
