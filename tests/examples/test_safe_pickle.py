from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from examples.common.data.safe_pickle import load_pickle, loads


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


@pytest.mark.parametrize("protocol", [2, 4, 5])
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
