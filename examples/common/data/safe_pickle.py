"""A strict allow-list unpickler for dataset files: plain containers, strings, numbers and numpy arrays, nothing else.

Pickles can run arbitrary code through the globals they name (``os.system``, ...), and numpy's own reconstruction
functions can build an object array from raw bytes, whose items are then forged pointers (a crash, or worse). Dataset
pickles (CIFAR-10 batches, StackGAN's embeddings and file lists) need only builtin containers and scalars, which
the protocol encodes without globals, and numpy arrays, dtypes and scalars. So:

- every global is refused except a few names, each loading as a validating wrapper
  (:mod:`examples.common.data.pickle_arrays`) that accepts exactly the arguments numpy's pickles carry and builds
  arrays of plain bool, integer, float or complex dtypes only, never an object dtype by any route;
- the opcodes that call or build things are re-implemented: REDUCE calls only those wrappers, BUILD applies only a
  validated state to a dtype or array of the same pickle; NEWOBJ, NEWOBJ_EX, INST, OBJ, the EXT codes, persistent
  ids, out-of-band buffers and sets are refused; items go only into lists, and keys of plain types only into dicts;
- after loading, the whole result is walked: anything but dict, list, tuple, str, bytes, int, float, bool, None and
  numpy arrays or scalars of the safe dtypes is refused.

Any failure, a malformed file included, is a :class:`pickle.UnpicklingError` with a one-line message.
This is the pure-Python unpickler of the standard library (``pickle._Unpickler``) with its opcode table overridden.
"""

from __future__ import annotations

import io
import pickle
import pickletools
from collections.abc import Callable
from pathlib import Path
from struct import unpack
from typing import Any, ClassVar

import numpy as np

from examples.common.data import pickle_arrays as arrays

__all__ = ["allowed_globals", "check_plain", "load_pickle", "loads"]

_SCALARS = (str, bytes, int, float, bool, type(None))
_OPNAMES = {op.code.encode("latin1")[0]: op.name for op in pickletools.opcodes}


class _Global:
    """An allowed global: REDUCE calls ``build(unpickler, *args)``, which validates the (low..high) arguments."""

    __slots__ = ("arity", "build", "name")

    def __init__(self, name: str, build: Callable[..., Any], arity: tuple[int, int]) -> None:
        self.name, self.build, self.arity = name, build, arity

    def __call__(self, up: _SafeUnpickler, args: object) -> Any:
        if type(args) is not tuple:
            raise pickle.UnpicklingError(f"the arguments of {self.name} must be a tuple")
        if not self.arity[0] <= len(args) <= self.arity[1]:
            low, high = self.arity
            raise pickle.UnpicklingError(
                f"{self.name} takes {low}..{high} arguments in a dataset pickle, got {len(args)}"
            )
        return self.build(up, *args)

    def __repr__(self) -> str:
        return self.name


def _encode(up: _SafeUnpickler, text: object, encoding: object) -> bytes:
    # Python 3 writes bytes at protocol <= 2 as _codecs.encode(str, 'latin1').
    if type(text) is not str or type(encoding) is not str or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode accepts only (str, 'latin1')")
    up.budget.charge(len(text))
    return text.encode("latin1")


def _empty_bytes(up: _SafeUnpickler) -> bytes:
    # Python 3 writes b'' at protocol <= 2 as __builtin__.bytes(), with no arguments.
    return b""


def _ordered_dict(up: _SafeUnpickler, items: object = ()) -> dict:
    # Python 3 writes OrderedDict() then SETITEMS; Python 2 writes OrderedDict([[key, value], ...]).
    if type(items) not in (list, tuple) or not all(type(p) in (list, tuple) and len(p) == 2 for p in items):
        raise pickle.UnpicklingError("OrderedDict accepts only a list of (key, value) pairs")
    for key, _ in items:
        _check_key(key)
    return dict(items)


def _numpy_globals() -> dict[tuple[str, str], _Global]:
    table: dict[tuple[str, str], _Global] = {}
    for prefix in ("numpy.core", "numpy._core"):  # numpy 2 renamed numpy.core; pickles name either
        table[f"{prefix}.multiarray", "_reconstruct"] = _Global(
            "_reconstruct", lambda up, *args: arrays.reconstruct(*args), (3, 3)
        )
        table[f"{prefix}.multiarray", "scalar"] = _Global(
            "scalar", lambda up, *args: arrays.scalar(*args, up.budget), (2, 2)
        )
        table[f"{prefix}.numeric", "_frombuffer"] = _Global(
            "_frombuffer", lambda up, *args: arrays.frombuffer(*args, up.budget), (4, 4)
        )
    table["numpy", "dtype"] = _Global("numpy.dtype", lambda up, *args: arrays.make_dtype(*args), (1, 3))
    return table


_ALLOWED: dict[tuple[str, str], object] = {
    **_numpy_globals(),
    ("numpy", "ndarray"): arrays.NDARRAY,
    ("_codecs", "encode"): _Global("_codecs.encode", _encode, (2, 2)),
    ("__builtin__", "bytes"): _Global("bytes", _empty_bytes, (0, 0)),
    ("builtins", "bytes"): _Global("bytes", _empty_bytes, (0, 0)),
    ("collections", "OrderedDict"): _Global("collections.OrderedDict", _ordered_dict, (0, 1)),
}


def allowed_globals() -> list[tuple[str, str]]:
    """The ``(module, name)`` globals a dataset pickle may name; every other one is refused."""
    return sorted(_ALLOWED)


def _check_key(key: object) -> None:
    # Plain keys only: hashing a deeply nested tuple would recurse in C.
    if type(key) in _SCALARS or (type(key) is tuple and all(type(k) in _SCALARS for k in key)):
        return
    raise pickle.UnpicklingError(f"a dict key may be a string, bytes, number or None, not {type(key).__name__}")


class _Memo(dict):
    """The unpickler's memo; it notes the slots of arrays awaiting their BUILD, which then replaces them there."""

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        if type(value) is arrays.PendingArray:
            value.memo_keys.append(key)


def _refusing(code: int) -> Callable[[_SafeUnpickler], None]:
    def load(self: _SafeUnpickler) -> None:
        raise pickle.UnpicklingError(f"refusing opcode {_OPNAMES[code]}: dataset pickles never need it")

    return load


class _ExactReader(io.BytesIO):
    """The pickle's bytes; a read that comes back short (a truncated file) is an error, not fewer bytes."""

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        if size is not None and 0 < size != len(data):
            raise pickle.UnpicklingError("the pickle data ends early (truncated)")
        return data


class _Dispatch(dict):
    """The opcode table; an opcode that is not in it is refused by name."""

    def __missing__(self, code: int) -> None:
        raise pickle.UnpicklingError(f"invalid pickle opcode {bytes([code])!r}")


class _SafeUnpickler(pickle._Unpickler):  # type: ignore[name-defined]
    dispatch: ClassVar[dict[int, Callable[[Any], None]]] = _Dispatch(pickle._Unpickler.dispatch)  # type: ignore[attr-defined]

    def __init__(self, data: bytes, encoding: str) -> None:
        super().__init__(_ExactReader(data), encoding=encoding)
        self.budget = arrays.Budget(2 * len(data) + 4096)  # the bytes of _codecs.encode, then of arrays
        self.memo = _Memo()

    def find_class(self, module: str, name: str) -> Any:
        """The wrapper of an allowed global; ``pickle.UnpicklingError`` for any other."""
        found = _ALLOWED.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(
                f"refusing global {module}.{name}: dataset pickles may hold only plain containers, strings, "
                "numbers and numpy arrays"
            )
        return found

    def persistent_load(self, pid: Any) -> Any:
        """Refused: dataset pickles hold no persistent ids."""
        raise pickle.UnpicklingError("refusing a persistent id: dataset pickles never hold one")

    def load_reduce(self) -> None:
        """REDUCE: only an allowed global, called with a tuple through its validating wrapper."""
        args = self.stack.pop()
        func = self.stack[-1]
        if type(func) is not _Global:
            shown = repr(func) if type(func) is arrays._Marker else type(func).__name__
            raise pickle.UnpicklingError(f"refusing to call {shown}: only numpy's reconstruction functions are called")
        self.stack[-1] = func(self, args)

    def load_build(self) -> None:
        """BUILD: only a validated state, only on a dtype or an array that this pickle made and has not built yet."""
        state = self.stack.pop()
        inst = self.stack[-1]
        if type(inst) is arrays.DtypeSpec:
            inst.set_state(state)
        elif type(inst) is arrays.PendingArray and not inst.built:
            array = arrays.array_from_state(state, self.budget)
            inst.built = True
            self.stack[-1] = array
            for key in inst.memo_keys:
                if self.memo.get(key) is inst:
                    self.memo[key] = array
        else:
            raise pickle.UnpicklingError(f"refusing BUILD on {type(inst).__name__}: only numpy dtypes and arrays")

    def _list(self) -> list:
        target = self.stack[-1]
        if type(target) is not list:
            raise pickle.UnpicklingError(f"refusing to append to {type(target).__name__}: only lists")
        return target

    def _dict(self) -> dict:
        target = self.stack[-1]
        if type(target) is not dict:
            raise pickle.UnpicklingError(f"refusing to set an item of {type(target).__name__}: only dicts")
        return target

    def load_append(self) -> None:
        """APPEND, to a list only."""
        value = self.stack.pop()
        self._list().append(value)

    def load_appends(self) -> None:
        """APPENDS, to a list only."""
        items = self.pop_mark()
        self._list().extend(items)

    def load_setitem(self) -> None:
        """SETITEM, into a dict only, with a plain key."""
        value, key = self.stack.pop(), self.stack.pop()
        _check_key(key)
        self._dict()[key] = value

    def _pairs(self) -> list[tuple[Any, Any]]:
        items = self.pop_mark()
        if len(items) % 2:
            raise pickle.UnpicklingError("a dict needs key, value pairs: got an odd number of items")
        for key in items[::2]:
            _check_key(key)
        return list(zip(items[::2], items[1::2], strict=True))

    def load_setitems(self) -> None:
        """SETITEMS, into a dict only, with plain keys."""
        pairs = self._pairs()
        self._dict().update(pairs)

    def load_dict(self) -> None:
        """DICT, with plain keys."""
        pairs = self._pairs()  # before self.append is looked up: pop_mark rebinds it
        self.append(dict(pairs))

    def load_bytearray8(self) -> None:
        """BYTEARRAY8, allocating no more than the bytes the pickle holds."""
        (size,) = unpack("<Q", self.read(8))
        self.append(bytearray(self.read(size)))  # a short read raises: nothing is allocated beyond the data

    dispatch[pickle.REDUCE[0]] = load_reduce
    dispatch[pickle.BUILD[0]] = load_build
    dispatch[pickle.APPEND[0]] = load_append
    dispatch[pickle.APPENDS[0]] = load_appends
    dispatch[pickle.SETITEM[0]] = load_setitem
    dispatch[pickle.SETITEMS[0]] = load_setitems
    dispatch[pickle.DICT[0]] = load_dict
    dispatch[pickle.BYTEARRAY8[0]] = load_bytearray8
    for _op in (
        pickle.NEWOBJ,
        pickle.NEWOBJ_EX,
        pickle.INST,
        pickle.OBJ,
        pickle.EXT1,
        pickle.EXT2,
        pickle.EXT4,
        pickle.PERSID,
        pickle.BINPERSID,
        pickle.NEXT_BUFFER,
        pickle.READONLY_BUFFER,
        pickle.EMPTY_SET,
        pickle.ADDITEMS,
        pickle.FROZENSET,
    ):
        dispatch[_op[0]] = _refusing(_op[0])
    del _op


def check_plain(value: object) -> None:
    """Refuse anything in ``value`` but plain containers and scalars, and numpy arrays or scalars of safe dtypes.

    The walk is iterative (deep nesting cannot overflow a stack) and visits each container once (cycles end).

    Args:
        value: an unpickled object.

    Raises:
        pickle.UnpicklingError: ``value`` holds another type, an object dtype, or an array left without its state.
    """
    seen: set[int] = set()
    todo = [value]
    while todo:
        item = todo.pop()
        kind = type(item)
        if kind in _SCALARS:
            continue
        if kind in (list, tuple, dict):
            if id(item) not in seen:
                seen.add(id(item))
                todo.extend(item.keys() if kind is dict else ())  # type: ignore[union-attr]
                todo.extend(item.values() if kind is dict else item)  # type: ignore[union-attr, arg-type]
        elif kind is np.ndarray or isinstance(item, np.generic):
            if not arrays.is_safe_dtype(item.dtype):  # type: ignore[union-attr]
                raise pickle.UnpicklingError(f"refusing a numpy value of dtype {item.dtype}: not a plain number type")  # type: ignore[union-attr]
        elif kind is arrays.PendingArray:
            raise pickle.UnpicklingError("an array was used before its state was given (BUILD)")
        else:
            raise pickle.UnpicklingError(f"refusing a {kind.__name__} in a dataset pickle")


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def loads(data: bytes, *, encoding: str = "bytes") -> Any:
    """Unpickle ``data`` with the allow-list unpickler, then check the result with :func:`check_plain`.

    Args:
        data: the pickled bytes.
        encoding: how Python 2 ``str`` objects are decoded (``"bytes"`` keeps them as bytes, as CIFAR-10 needs;
            ``"latin1"`` for StackGAN's pickles; numpy arrays written by Python 2 load with either).

    Returns:
        The unpickled object: dicts, lists, tuples, strings, bytes, numbers, None, numpy arrays and scalars.

    Raises:
        pickle.UnpicklingError: with a one-line message, for anything beyond that, and for any malformed data (a
            truncated file, an unknown opcode, a wrong argument: every error while unpickling is turned into one).
    """
    try:
        value = _SafeUnpickler(bytes(data), encoding).load()
        check_plain(value)
    except pickle.UnpicklingError as error:
        raise pickle.UnpicklingError(_one_line(error)) from None
    except EOFError:
        raise pickle.UnpicklingError("the pickle data ends early (truncated)") from None
    except Exception as error:  # malformed data surfaces as any exception of the pure-Python unpickler
        raise pickle.UnpicklingError(f"malformed pickle data: {type(error).__name__}: {_one_line(error)}") from None
    return value


def load_pickle(path: str | Path, *, encoding: str = "bytes") -> Any:
    """Read and unpickle the file at ``path`` with :func:`loads`.

    Raises:
        OSError: the file cannot be read.
        pickle.UnpicklingError: see :func:`loads` (the message does not name the file: callers add it).
    """
    return loads(Path(path).read_bytes(), encoding=encoding)
