"""numpy dtypes, arrays and scalars rebuilt from the values numpy's pickles carry, every argument validated first.

numpy pickles an array as ``_reconstruct(ndarray, (0,), b'b')`` followed by a BUILD with the state
``(1, shape, dtype, is_fortran, raw_bytes)``, or at protocol 5 as ``_frombuffer(buffer, dtype, shape, order)``; a
dtype as ``dtype('f4', False, True)`` followed by a BUILD with ``(3, '<', None, None, None, -1, -1, 0)``; a scalar as
``scalar(dtype, raw_bytes)``. The functions here accept exactly these arguments and build the result themselves with
``np.frombuffer`` and a copy; numpy's own ``ndarray(...)``, ``ndarray.__setstate__``, ``dtype.__setstate__`` and
``scalar`` are never called with values from a file. Only the plain dtypes of :data:`SAFE_KINDS` can be built (bool,
integers, floats, complex; either byte order; no fields, sub-arrays or metadata): an object dtype cannot be made by
any route, since an object array made from raw bytes holds forged pointers.
"""

from __future__ import annotations

import math
import pickle
import re
from typing import Any

import numpy as np

__all__ = [
    "NDARRAY",
    "SAFE_KINDS",
    "Budget",
    "DtypeSpec",
    "PendingArray",
    "array_from_state",
    "frombuffer",
    "is_safe_dtype",
    "make_dtype",
    "reconstruct",
    "scalar",
]

SAFE_KINDS = "biufc"
"""dtype kinds a dataset pickle may hold: bool, signed and unsigned integers, floats, complex numbers."""

_TYPE_CODE = re.compile(r"[biufc]\d{1,2}")  # what numpy's dtype.__reduce__ writes for the safe kinds: 'f4', 'u1', ...
_MAX_NDIM = 32
_MAX_DIM = 2**48


class _Marker:
    """A stand-in for an allowed global that may only be passed as an argument, never called or built."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


NDARRAY = _Marker("numpy.ndarray")
"""What the global ``numpy.ndarray`` loads as: accepted only as the first argument of ``_reconstruct``."""


def _refuse(message: str) -> pickle.UnpicklingError:
    return pickle.UnpicklingError(message)


class Budget:
    """The bytes that rebuilt arrays, scalars and byte strings may take in all.

    Each of them copies bytes found in the pickle, which a legitimate file holds once per array (and once more for
    the ``_codecs.encode`` step of Python 3's protocol 2): a budget of twice the pickle's size stops a small file
    from reusing one large string (through the memo) into unbounded memory.

    Args:
        limit: the bytes allowed in all.
    """

    def __init__(self, limit: int) -> None:
        self.left = limit

    def charge(self, nbytes: int) -> None:
        """Take ``nbytes`` from the budget; raise ``pickle.UnpicklingError`` when it is exceeded."""
        if nbytes > self.left:
            raise _refuse("the pickle rebuilds more array bytes than it holds (a memo reuse bomb)")
        self.left -= nbytes


class DtypeSpec:
    """A dtype named in a pickle: the type from ``dtype(...)``, the byte order from its (optional) BUILD state.

    Resolved into a real ``np.dtype`` only when an array or scalar uses it; from then on its state is fixed.
    """

    __slots__ = ("base", "built", "order", "used")

    def __init__(self, base: np.dtype) -> None:
        self.base, self.order, self.built, self.used = base, "=", False, False

    def set_state(self, state: object) -> None:
        """Apply a BUILD state; only numpy's state of a plain dtype, ``(3, endian, None, None, None, -1, -1, 0)``."""
        if self.built or self.used:
            raise _refuse("a dtype may be given its state only once, before it is used")
        if not (type(state) is tuple and len(state) == 8 and type(state[0]) is int and state[0] == 3):
            raise _refuse("a dtype state must be numpy's (3, endian, None, None, None, -1, -1, 0)")
        order = _text(state[1], "a dtype's byte order")
        plain = all(v is None for v in state[2:5]) and _ints(state[5:], (-1, -1, 0))
        if order not in ("<", ">", "|", "=") or not plain:
            raise _refuse("a dtype state must be numpy's (3, endian, None, None, None, -1, -1, 0): no fields")
        if order == "|" and self.base.itemsize > 1:
            raise _refuse(f"dtype {self.base.str} needs a byte order, got '|'")
        self.order, self.built = order, True

    def resolve(self) -> np.dtype:
        """The dtype, in the byte order of its state."""
        self.used = True
        return self.base if self.order in ("=", "|") else self.base.newbyteorder(self.order)


class PendingArray:
    """What ``_reconstruct`` loads as: an array still waiting for its BUILD state.

    The unpickler replaces it (on the stack and in the memo) with the array that the BUILD makes; one that is used
    before then is left over and refused.

    Attributes:
        memo_keys: the memo slots that hold this placeholder.
        built: whether its BUILD has been applied (a second one is refused).
    """

    __slots__ = ("built", "memo_keys")

    def __init__(self) -> None:
        self.memo_keys: list[Any] = []
        self.built = False


def _ints(values: tuple, expected: tuple) -> bool:
    return all(type(v) is int and v == e for v, e in zip(values, expected, strict=True))


def _text(value: object, what: str) -> str:
    """A short ASCII string given as str, or as bytes (Python 2 ``str`` read with ``encoding="bytes"``)."""
    if isinstance(value, bytes) and len(value) <= 8:
        value = value.decode("latin1")
    if type(value) is not str or len(value) > 8:
        raise _refuse(f"{what} must be a short string")
    return value


def _flag(value: object, what: str) -> bool:
    if type(value) is bool or (type(value) is int and value in (0, 1)):
        return bool(value)
    raise _refuse(f"{what} must be a bool")


def _raw(value: object, what: str) -> bytes | bytearray:
    """Raw bytes: bytes, a bytearray (protocol 5), or a Python 2 ``str`` decoded as latin-1 (encoded back here)."""
    if type(value) in (bytes, bytearray):
        return value  # type: ignore[return-value]
    if type(value) is str:
        try:
            return value.encode("latin1")
        except UnicodeEncodeError:
            raise _refuse(f"{what} is a string that does not hold bytes") from None
    raise _refuse(f"{what} must be bytes")


def _dtype_of(spec: object) -> np.dtype:
    if type(spec) is not DtypeSpec:
        raise _refuse("an array's dtype must be a numpy.dtype(...) of the same pickle")
    return spec.resolve()


def _shape(value: object) -> tuple[int, ...]:
    if (
        type(value) is not tuple
        or len(value) > _MAX_NDIM
        or not all(type(d) is int and 0 <= d <= _MAX_DIM for d in value)
    ):
        raise _refuse(f"an array shape must be a tuple of at most {_MAX_NDIM} non-negative ints")
    return value  # type: ignore[return-value]


def _array(
    raw: bytes | bytearray, dtype: np.dtype, shape: tuple[int, ...], fortran: bool, budget: Budget
) -> np.ndarray:
    expected = math.prod(shape) * dtype.itemsize
    if len(raw) != expected:
        raise _refuse(f"an array of shape {shape} and dtype {dtype.str} needs {expected} bytes, got {len(raw)}")
    budget.charge(len(raw))
    flat = np.frombuffer(raw, dtype=dtype)
    return flat.reshape(shape, order="F" if fortran else "C").copy(order="K")


def is_safe_dtype(dtype: np.dtype) -> bool:
    """Whether ``dtype`` is one a dataset pickle may hold: a plain dtype of :data:`SAFE_KINDS`, nothing inside."""
    return (
        isinstance(dtype, np.dtype)
        and dtype.kind in SAFE_KINDS
        and not dtype.hasobject
        and dtype.fields is None
        and dtype.subdtype is None
        and dtype.metadata is None
    )


def make_dtype(obj: object, align: object = False, copy: object = True) -> DtypeSpec:
    """``numpy.dtype(obj, align, copy)`` as pickled: ``obj`` a type code such as ``'f4'`` or ``'u1'``, nothing else.

    Raises:
        pickle.UnpicklingError: any other argument (``'O'``, a list of fields, a dtype object, a sub-array, ...).
    """
    code = obj if isinstance(obj, (str, bytes)) and len(obj) <= 4 else None
    code = code.decode("latin1") if isinstance(code, bytes) else code
    _flag(align, "dtype's align")
    _flag(copy, "dtype's copy")
    if code is None or not _TYPE_CODE.fullmatch(code):
        shown = repr(obj) if isinstance(obj, (str, bytes)) and len(obj) <= 40 else type(obj).__name__
        raise _refuse(
            f"dtype {shown} is not allowed: dataset pickles may hold only bool, integer, float and complex arrays "
            "(no object dtypes, fields or sub-arrays)"
        )
    try:
        dtype = np.dtype(code)
    except TypeError:
        raise _refuse(f"dtype {code!r} is not a numpy type") from None
    if not is_safe_dtype(dtype) or dtype.str[1:] != code:
        raise _refuse(f"dtype {code!r} is not allowed")
    return DtypeSpec(dtype)


def reconstruct(cls: object, shape: object, typecode: object) -> PendingArray:
    """``_reconstruct(ndarray, (0,), b'b')``, exactly as numpy pickles it; the array comes from the next BUILD."""
    if cls is not NDARRAY or _shape(shape) != (0,) or type(typecode) not in (bytes, str) or typecode not in (b"b", "b"):
        raise _refuse("_reconstruct accepts only numpy's own arguments (numpy.ndarray, (0,), b'b')")
    return PendingArray()


def array_from_state(state: object, budget: Budget) -> np.ndarray:
    """The array of a BUILD state ``(1, shape, dtype, is_fortran, raw_bytes)``, validated, as a new writable array.

    Raises:
        pickle.UnpicklingError: the state has another form, or the byte count does not match shape and dtype.
    """
    if type(state) is not tuple or len(state) != 5 or type(state[0]) is not int or state[0] != 1:
        raise _refuse("an array state must be numpy's (1, shape, dtype, is_fortran, raw_bytes)")
    _, shape, spec, fortran, raw = state
    shape = _shape(shape)
    return _array(_raw(raw, "an array's data"), _dtype_of(spec), shape, _flag(fortran, "is_fortran"), budget)


def frombuffer(buf: object, spec: object, shape: object, order: object, budget: Budget) -> np.ndarray:
    """``_frombuffer(buffer, dtype, shape, order)`` of an in-band protocol-5 pickle, validated; a new writable array."""
    if type(buf) not in (bytes, bytearray):
        raise _refuse("_frombuffer needs an in-band bytes buffer")
    order = _text(order, "_frombuffer's order")
    if order not in ("C", "F"):
        raise _refuse("_frombuffer's order must be 'C' or 'F'")
    return _array(buf, _dtype_of(spec), _shape(shape), order == "F", budget)  # type: ignore[arg-type]


def scalar(spec: object, data: object, budget: Budget) -> np.generic:
    """``scalar(dtype, raw_bytes)``: a numpy scalar of a safe dtype from exactly ``itemsize`` bytes."""
    dtype = _dtype_of(spec)
    raw = _raw(data, "a scalar's data")
    if len(raw) != dtype.itemsize:
        raise _refuse(f"a {dtype.str} scalar needs {dtype.itemsize} bytes, got {len(raw)}")
    budget.charge(len(raw))
    return np.frombuffer(raw, dtype=dtype)[0]
