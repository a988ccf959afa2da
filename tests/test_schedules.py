"""Weight schedules."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from torch_modeseek import constant, linear_decay, linear_warmup


def test_constant():
    assert constant()(0) == 1.0
    assert constant(0.25)(10**9) == 0.25


def test_stargan_v2_decay_to_zero_over_100k_steps():
    schedule = linear_decay(1.0, 100_000)
    assert schedule(0) == 1.0
    assert schedule(25_000) == pytest.approx(0.75)
    assert schedule(100_000) == 0.0
    assert schedule(10**7) == 0.0


def test_warmup_with_start():
    schedule = linear_warmup(2.0, 4, start=1.0)
    assert [schedule(s) for s in range(6)] == [1.0, 1.25, 1.5, 1.75, 2.0, 2.0]


@given(value=st.floats(-10, 10), steps=st.integers(1, 1000), step=st.integers(0, 5000))
def test_warmup_and_decay_stay_between_their_ends(value, steps, step):
    lo, hi = sorted((0.0, value))
    assert lo - 1e-12 <= linear_warmup(value, steps)(step) <= hi + 1e-12
    assert lo - 1e-12 <= linear_decay(value, steps)(step) <= hi + 1e-12


def test_schedules_pickle_and_compare():
    schedule = linear_decay(1.0, 10, final=0.1)
    assert pickle.loads(pickle.dumps(schedule)) == schedule
    assert repr(schedule) == "LinearDecay(value=1.0, steps=10, final=0.1)"


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: linear_decay(1.0, 0), ValueError, r"steps must be a positive int; got 0"),
        (lambda: linear_warmup(1.0, 2.5), ValueError, r"steps must be a positive int; got 2.5"),
        (lambda: constant(float("inf")), TypeError, r"value must be a finite number; got inf"),
        (lambda: linear_decay("1", 10), TypeError, r"value must be a finite number; got '1'"),
    ],
)
def test_bad_schedule_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()
