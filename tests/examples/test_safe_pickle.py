from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from examples.common.data.safe_pickle import allowed_globals, check_plain, load_pickle, loads

from . import pickle_asm as asm
from . import pickle_hostile as hostile
from .conftest import REPO, trainer_env


class _RunsCode:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Evals:
    def __reduce__(self):
        return (eval, ("__import__('os').getcwd()",))


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_crafted_pickle_runs_no_code(tmp_path, protocol):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({b"data": _RunsCode(str(marker))}, protocol=protocol)
    with pytest.raises(pickle.UnpicklingError, match="refusing global"):
        loads(payload)
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError, match=r"builtins?_*\.eval"):
        loads(pickle.dumps(_Evals(), protocol=protocol))


def test_object_arrays_are_refused():
    with pytest.raises(pickle.UnpicklingError, match="object dtypes"):
        loads(pickle.dumps(np.array([1, "a"], dtype=object)))


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_plain_data_and_arrays_load(tmp_path, protocol):
    value = {
        b"data": np.arange(24, dtype=np.uint8).reshape(4, 6),
        "emb": np.linspace(0, 1, 30, dtype=np.float32).reshape(3, 10),
        "names": ["a", "b"],
        "nested": ({"x": 1.5}, [True, None]),
    }
    path = tmp_path / "f.pickle"
    path.write_bytes(pickle.dumps(value, protocol=protocol))
    got = load_pickle(path)
    assert got["names"] == ["a", "b"]
    assert got["nested"] == ({"x": 1.5}, [True, None])
    np.testing.assert_array_equal(got[b"data"], value[b"data"])
    np.testing.assert_array_equal(got["emb"], value["emb"])


def test_python2_latin1_arrays_load():
    # numpy arrays written by Python 2 are read with encoding="latin1" (StackGAN's embedding pickles)
    payload = pickle.dumps(np.ones((2, 3), dtype=np.float32), protocol=2)
    np.testing.assert_array_equal(loads(payload, encoding="latin1"), np.ones((2, 3), dtype=np.float32))


# --- legitimate files: numpy pickles at every protocol, both numpy module names, Python 2 pickles ---

LEGIT = {
    "uint8 2-d": np.arange(24, dtype=np.uint8).reshape(4, 6),
    "float32 3-d": np.linspace(-1, 1, 60, dtype=np.float32).reshape(3, 2, 10),
    "big-endian": np.arange(5, dtype=">f4"),
    "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    "strided": np.arange(10, dtype=np.int64)[::3],
    "0-d": np.array(2.5),
    "empty": np.zeros((0, 7), dtype=np.int16),
    "bool": np.array([True, False, True]),
    "complex": np.array([1 + 2j, -3j], dtype=np.complex64),
    "float16": np.array([0.5, 2], dtype=np.float16),
    "scalar f4": np.float32(1.25),
    "scalar i8": np.int64(-7),
    "scalar bool": np.bool_(True),
}


def _same(got, want) -> None:
    assert type(got) is type(want)
    assert got.dtype == want.dtype
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    if isinstance(got, np.ndarray):
        assert got.flags.writeable  # a copy, not a view of the pickle's bytes
        assert got.flags.f_contiguous == want.flags.f_contiguous or want.ndim < 2


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("encoding", ["bytes", "latin1"])
def test_numpy_pickles_load_at_every_protocol(protocol, encoding):
    for value in LEGIT.values():
        got = loads(pickle.dumps(value, protocol=protocol), encoding=encoding)
        _same(got, value)
    many = [np.full((10, 16), i, dtype=np.float32) for i in range(5)]  # StackGAN's list of (10, D) arrays
    got = loads(pickle.dumps(many, protocol=protocol), encoding=encoding)
    for g, w in zip(got, many, strict=True):
        _same(g, w)


@pytest.mark.parametrize("protocol", [0, 1, 2, 3])
def test_both_numpy_module_names_load(protocol):
    data = pickle.dumps(LEGIT["fortran"], protocol=protocol)
    for old, new in ((b"numpy._core.", b"numpy.core."), (b"numpy.core.", b"numpy._core.")):
        _same(loads(data.replace(old, new)), LEGIT["fortran"])


def test_protocol5_frombuffer_and_scalar_under_both_module_names():
    raw = np.arange(6, dtype="<f4").tobytes()
    for prefix in ("numpy.core", "numpy._core"):
        frombuffer = asm.call(
            asm.glob(f"{prefix}.numeric", "_frombuffer"),
            asm.bytearray8(raw),
            asm.dtype("f4"),
            asm.tup(asm.integer(2), asm.integer(3)),
            asm.text("F"),
        )
        _same(loads(asm.stream(frombuffer)), np.asfortranarray(np.arange(6, dtype="<f4").reshape(3, 2).T))
        scalar = asm.call(asm.glob(f"{prefix}.multiarray", "scalar"), asm.dtype("f8"), asm.binbytes(raw[:8]))
        _same(loads(asm.stream(scalar)), np.frombuffer(raw[:8], dtype="<f8")[0])


@pytest.mark.parametrize("protocol", [0, 2])
@pytest.mark.parametrize("encoding", ["bytes", "latin1"])
def test_python2_numpy1_pickles_load(protocol, encoding):
    """As CIFAR-10's batches and StackGAN's pickles were written: Python 2 str, numpy.core, dtype('u1', 0, 1)."""
    value = {
        b"data": np.arange(36, dtype=np.uint8).reshape(2, 18),
        b"labels": [3, 9],
        b"emb": [np.ones((2, 4), dtype=np.float32), np.zeros((2, 4), dtype=np.float32)],
        b"fortran": np.asfortranarray(np.arange(6, dtype="<f8").reshape(2, 3)),
        b"big-endian": np.arange(4, dtype=">i4"),
        b"name": b"training batch 1 of 5",
        b"x": 0.5,
        b"none": None,
    }
    got = loads(asm.py2_dumps(value, protocol), encoding=encoding)
    key = (lambda k: k) if encoding == "bytes" else (lambda k: k.decode("latin1"))  # Python 2 str -> bytes or str
    assert sorted(got) == sorted(key(k) for k in value)
    for k in (b"data", b"fortran", b"big-endian"):
        _same(got[key(k)], value[k])
    for g, w in zip(got[key(b"emb")], value[b"emb"], strict=True):
        _same(g, w)
    assert got[key(b"labels")] == [3, 9]
    assert got[key(b"name")] == key(b"training batch 1 of 5")
    assert (got[key(b"x")], got[key(b"none")]) == (0.5, None)


# --- hostile pickles: run in a child process, so that a crash fails the test instead of killing pytest ---


@pytest.fixture(scope="module")
def hostile_outcomes() -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "tests.examples.pickle_hostile", "cases"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=trainer_env(),
    )
    assert result.returncode == 0, f"the child crashed (rc {result.returncode}): {result.stderr[-2000:]}"
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", sorted(hostile.cases()))
def test_hostile_pickle_is_refused(hostile_outcomes, name):
    outcome, message = hostile_outcomes[name]
    assert outcome == "refused", message
    assert "\n" not in message


@pytest.mark.parametrize("name", sorted(hostile.OK_CASES))
def test_odd_but_plain_pickle_loads(hostile_outcomes, name):
    assert hostile_outcomes[name][0] == "ok", hostile_outcomes[name]


def test_every_allowed_global_is_attacked():
    streams = list(hostile.cases().values())
    for module, name in allowed_globals():
        assert any(f"c{module}\n{name}\n".encode() in s for s in streams), f"no hostile case calls {module}.{name}"


def test_random_opcode_streams_never_crash():
    result = subprocess.run(
        [sys.executable, "-m", "tests.examples.pickle_hostile", "fuzz", "1500"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=trainer_env(),
    )
    assert result.returncode == 0, f"rc {result.returncode}: {result.stdout[-3000:]} {result.stderr[-3000:]}"
    assert result.stdout.strip().endswith("fuzz ok")


def test_object_dtype_route_of_the_report_is_refused():
    data = asm.stream(asm.call(asm.NDARRAY, asm.tup(asm.integer(1)), asm.text("O"), asm.binbytes(b"A" * 8)))
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to call numpy\.ndarray"):
        loads(data)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({1, 2}, "refusing a set"),
        ([np.zeros(2, dtype=object)], "refusing a numpy value of dtype object"),
        ({"a": np.zeros(2, dtype=[("x", "f4")])}, r"refusing a numpy value of dtype \[\('x', '<f4'\)\]"),
        ((np.str_("a"),), "refusing a numpy value of dtype <U1"),
        ([bytearray(b"x")], "refusing a bytearray"),
        ([len], "refusing a builtin_function_or_method"),
    ],
)
def test_check_plain_refuses_anything_but_plain_values(value, message):
    with pytest.raises(pickle.UnpicklingError, match=message):
        check_plain(value)


def test_check_plain_accepts_plain_values_and_cycles():
    cycle: list = [1, "a", b"b", 2.5, None, True, (np.float32(1),), {"k": np.zeros((2, 2), np.uint8)}]
    cycle.append(cycle)
    check_plain(cycle)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "ends early"),
        (b"\x80\x02]", "ends early"),
        (b"\xff", r"invalid pickle opcode b'\\xff'"),
        (b"\x80\x04\x94.", "malformed pickle data: IndexError"),
        (b"\x80\x02h\x05.", "Memo value not found"),
    ],
)
def test_every_malformed_stream_is_an_unpickling_error(data, message):
    with pytest.raises(pickle.UnpicklingError, match=message):
        loads(data)
