from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_modeseek.metrics import (
    NDB,
    NotFittedError,
    _checks,
    jensen_shannon_divergence,
    two_proportion_z_test,
    two_sided_critical_value,
)

MODES = torch.randn(16, 8, generator=torch.Generator().manual_seed(123), dtype=torch.float64) * 4


def gmm(n: int, seed: int, modes: slice = slice(None)) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    means = MODES[modes]
    return (means[torch.randint(len(means), (n,), generator=gen)] + torch.randn(n, 8, generator=gen)).float()


@pytest.fixture(scope="module")
def fitted() -> NDB:
    return NDB(num_bins=30, n_init=3).fit(gmm(3000, seed=0))


# ---------------------------------------------------------------- worked values from REFERENCE.md section 3
def test_worked_jsd_value() -> None:
    jsd = jensen_shannon_divergence(torch.tensor([0.5, 0.3, 0.2]), torch.tensor([0.4, 0.35, 0.25]))
    assert jsd.dtype == torch.float64
    assert float(jsd) == pytest.approx(0.0051378, abs=5e-8)


def test_worked_z_test_all_three_bins_differ() -> None:
    z = two_proportion_z_test(torch.tensor([500, 300, 200]), 1000, torch.tensor([400, 350, 250]), 1000)
    assert bool((z.abs() > 1.959964).all())
    pooled = np.array([0.45, 0.325, 0.225])
    expected = (np.array([0.5, 0.3, 0.2]) - np.array([0.4, 0.35, 0.25])) / np.sqrt(pooled * (1 - pooled) * 0.002)
    np.testing.assert_allclose(z.numpy(), expected, rtol=1e-12)


def test_worked_values_through_ndb() -> None:
    # 1-D data with three well separated values: bins are exactly the three points, proportions 0.5/0.3/0.2.
    real = torch.cat([torch.zeros(500), torch.full((300,), 10.0), torch.full((200,), 20.0)])
    fake = torch.cat([torch.zeros(400), torch.full((350,), 10.0), torch.full((250,), 20.0)])
    ndb = NDB(num_bins=3, n_init=2).fit(real)
    ndb.update(fake)
    res = ndb.compute()
    assert res.real_proportions.tolist() == pytest.approx([0.5, 0.3, 0.2])
    assert res.fake_proportions.tolist() == pytest.approx([0.4, 0.35, 0.25])
    assert res.ndb == 3
    assert res.ndb_fraction == 1.0
    assert res.jsd == pytest.approx(0.0051378, abs=5e-8)
    assert res.different_bins.dtype == torch.bool
    assert (res.num_real, res.num_fake) == (1000, 1000)


def test_critical_value() -> None:
    assert two_sided_critical_value(0.05) == pytest.approx(1.959964, abs=1e-6)
    assert two_sided_critical_value(0.01) == pytest.approx(2.575829, abs=1e-6)
    assert NDB(significance_level=0.01).z_threshold == pytest.approx(2.575829, abs=1e-6)


def test_z_test_false_positive_rate_is_alpha_under_the_null() -> None:
    # Same bin probabilities for both samples: the share of |z| > 1.96 over many bins and repetitions is ~ 0.05.
    gen = torch.Generator().manual_seed(0)
    probs = torch.rand(100, generator=gen) + 0.5
    rates = []
    for _ in range(40):
        real = torch.bincount(torch.multinomial(probs, 5000, replacement=True, generator=gen), minlength=100)
        fake = torch.bincount(torch.multinomial(probs, 3000, replacement=True, generator=gen), minlength=100)
        z = two_proportion_z_test(real, 5000, fake, 3000)
        rates.append(float((z.abs() > two_sided_critical_value(0.05)).double().mean()))
    assert 0.035 <= sum(rates) / len(rates) <= 0.065


def test_z_test_zero_standard_error_gives_zero() -> None:
    z = two_proportion_z_test(torch.tensor([0, 10]), 10, torch.tensor([0, 5]), 5)
    assert z.tolist() == [0.0, 0.0]


# ---------------------------------------------------------------- JSD invariants
probs = st.lists(st.floats(0, 10, allow_nan=False, allow_infinity=False), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_jsd_symmetric_bounded_and_zero_iff_equal(data: st.DataObject) -> None:
    a = data.draw(probs.filter(lambda v: sum(v) > 1e-3))
    b = data.draw(st.lists(st.floats(0, 10), min_size=len(a), max_size=len(a)).filter(lambda v: sum(v) > 1e-3))
    p, q = torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
    pq, qp = float(jensen_shannon_divergence(p, q)), float(jensen_shannon_divergence(q, p))
    assert pq == pytest.approx(qp, abs=1e-12)
    assert 0.0 <= pq <= math.log(2.0)
    assert float(jensen_shannon_divergence(p, p * 3.0)) == pytest.approx(0.0, abs=1e-12)
    if not torch.allclose(p / p.sum(), q / q.sum(), atol=1e-6):
        assert pq > 0.0


def test_jsd_matches_scipy_squared_distance_and_disjoint_support_is_ln2() -> None:
    distance = pytest.importorskip("scipy.spatial.distance")
    p, q = np.array([0.1, 0.0, 0.6, 0.3]), np.array([0.25, 0.25, 0.0, 0.5])
    expected = distance.jensenshannon(p, q) ** 2
    assert float(jensen_shannon_divergence(torch.tensor(p), torch.tensor(q))) == pytest.approx(expected, rel=1e-10)
    disjoint = jensen_shannon_divergence(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]))
    assert float(disjoint) == pytest.approx(math.log(2.0))


@pytest.mark.parametrize(
    ("p", "q", "error", "match"),
    [
        ([0.5, 0.5], [1.0], ValueError, "same shape"),
        ([-0.1, 1.1], [0.5, 0.5], ValueError, "non-negative"),
        ([0.0, 0.0], [0.5, 0.5], ValueError, "positive sum"),
        ([], [], ValueError, "non-empty 1-D"),
    ],
)
def test_jsd_bad_inputs(p: list[float], q: list[float], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        jensen_shannon_divergence(torch.tensor(p), torch.tensor(q))


def test_jsd_rejects_non_tensor() -> None:
    with pytest.raises(TypeError, match=r"p must be a torch\.Tensor, got list"):
        jensen_shannon_divergence([0.5, 0.5], torch.tensor([0.5, 0.5]))  # type: ignore[arg-type]


# ---------------------------------------------------------------- the metric
def test_identical_distribution_scores_about_alpha_and_tiny_jsd() -> None:
    ndb = NDB(num_bins=30, n_init=2).fit(gmm(5000, seed=1))
    ndb.update(gmm(5000, seed=2))
    res = ndb.compute()
    assert res.ndb_fraction <= 0.2  # ~ alpha = 0.05; Binomial(30, 0.05) exceeds 6 with probability < 1%
    assert res.jsd < 0.005
    assert torch.equal(res.different_bins, res.z_scores.abs() > ndb.z_threshold)


def test_dropping_modes_raises_ndb_and_jsd(fitted: NDB) -> None:
    fitted.reset()
    fitted.update(gmm(3000, seed=3))
    good = fitted.compute()
    fitted.reset()
    fitted.update(gmm(3000, seed=3, modes=slice(0, 8)))
    collapsed = fitted.compute()
    assert collapsed.ndb >= good.ndb + 10
    assert collapsed.jsd > 10 * good.jsd
    assert collapsed.jsd > 0.1


def test_bins_sorted_by_size_and_non_empty(fitted: NDB) -> None:
    fitted.reset()
    fitted.update(gmm(100, seed=4))
    real = fitted.compute().real_proportions
    assert bool((real > 0).all())
    assert bool((real[:-1] >= real[1:]).all())
    assert float(real.sum()) == pytest.approx(1.0)


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(1, 499), max_size=5))
def test_chunked_updates_equal_one_update(fitted: NDB, cuts: list[int]) -> None:
    fake = gmm(500, seed=5)
    fitted.reset()
    fitted.update(fake)
    whole = fitted.compute()
    fitted.reset()
    for chunk in np.split(np.arange(500), sorted(set(cuts))):
        if len(chunk):
            fitted.update(fake[torch.from_numpy(chunk)])
    chunked = fitted.compute()
    assert torch.equal(whole.fake_proportions, chunked.fake_proportions)
    assert (whole.ndb, whole.jsd, whole.num_fake) == (chunked.ndb, chunked.jsd, chunked.num_fake)


def test_seed_makes_fit_deterministic() -> None:
    real = gmm(1000, seed=6)
    a, b = NDB(num_bins=12, n_init=2, seed=3).fit(real), NDB(num_bins=12, n_init=2, seed=3).fit(real)
    assert torch.equal(a.state_dict()["centers"], b.state_dict()["centers"])
    for metric in (a, b):
        metric.update(gmm(500, seed=7))
    assert a.compute().z_scores.tolist() == b.compute().z_scores.tolist()


def test_images_are_flattened_and_counts_are_int64() -> None:
    gen = torch.Generator().manual_seed(0)
    real = torch.rand(200, 3, 4, 4, generator=gen)
    ndb = NDB(num_bins=5, n_init=1).fit(real)
    ndb.update(torch.rand(50, 3, 4, 4, generator=gen))
    state = ndb.state_dict()
    assert state["num_features"] == 48
    assert state["fake_counts"].dtype == torch.int64
    assert int(state["fake_counts"].sum()) == 50


def test_dimension_subset_above_1000_dims_is_seeded() -> None:
    real = torch.rand(40, 1200, generator=torch.Generator().manual_seed(0))
    dims = NDB(num_bins=4, n_init=1, seed=9).fit(real).state_dict()["dims"]
    assert dims.shape == (200,)
    assert torch.equal(dims, dims.unique())  # sorted, no repeats
    assert torch.equal(dims, NDB(num_bins=4, n_init=1, seed=9).fit(real).state_dict()["dims"])
    assert not torch.equal(dims, NDB(num_bins=4, n_init=1, seed=10).fit(real).state_dict()["dims"])
    assert NDB(num_bins=4, n_init=1).fit(real[:, :1000]).state_dict()["dims"] is None
    assert NDB(num_bins=4, n_init=1, max_dims=7).fit(real).state_dict()["dims"].shape == (7,)
    assert NDB(num_bins=4, n_init=1, max_dims=5000).fit(real).state_dict()["dims"] is None


def test_whitening_makes_ndb_invariant_to_per_dimension_scaling() -> None:
    real, fake = gmm(1500, seed=8).double(), gmm(700, seed=9, modes=slice(0, 10)).double()
    scale = torch.logspace(-2, 3, 8, dtype=torch.float64)
    shift = torch.linspace(-50, 50, 8, dtype=torch.float64)
    results = []
    for transform in (lambda x: x, lambda x: x * scale + shift):
        ndb = NDB(num_bins=10, n_init=2, whitening=True).fit(transform(real))
        ndb.update(transform(fake))
        results.append(ndb.compute())
    assert results[0].fake_proportions.tolist() == pytest.approx(results[1].fake_proportions.tolist(), abs=2e-3)
    state = NDB(num_bins=10, n_init=1, whitening=True).fit(real * scale).state_dict()
    torch.testing.assert_close(state["std"], real.std(dim=0, unbiased=False) * scale + 1e-6)


def test_z_threshold_override() -> None:
    ndb = NDB(num_bins=3, n_init=1, z_threshold=100.0).fit(torch.tensor([0.0, 0.0, 5.0, 5.0, 9.0, 9.0]))
    ndb.update(torch.zeros(10))
    assert ndb.compute().ndb == 0


def test_state_dict_round_trip_through_torch_save(fitted: NDB, tmp_path) -> None:
    fitted.reset()
    fitted.update(gmm(400, seed=10))
    path = tmp_path / "ndb.pt"
    torch.save(fitted.state_dict(), path)
    restored = NDB(num_bins=30, n_init=3)
    restored.load_state_dict(torch.load(path, weights_only=True))
    assert restored.compute().to_dict() == fitted.compute().to_dict()
    restored.update(gmm(100, seed=11))
    assert restored.compute().num_fake == 500
    assert fitted.compute().num_fake == 400  # the state was copied, not shared


def test_load_state_dict_checks_config_and_keys(fitted: NDB) -> None:
    with pytest.raises(ValueError, match="saved with config"):
        NDB(num_bins=31, n_init=3).load_state_dict(fitted.state_dict())
    with pytest.raises(ValueError, match="missing keys"):
        NDB(num_bins=30, n_init=3).load_state_dict({"config": {}})


def test_sync_without_and_with_a_process_group(fitted: NDB, tmp_path) -> None:
    dist = torch.distributed
    fitted.reset()
    fitted.update(gmm(64, seed=12))
    fitted.sync()  # not initialised: a no-op
    assert fitted.compute().num_fake == 64
    if not dist.is_available():
        pytest.skip("torch.distributed is not available")
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        fitted.sync()
        assert fitted.compute().num_fake == 64
    finally:
        dist.destroy_process_group()


# ---------------------------------------------------------------- bad inputs
def test_update_and_compute_before_fit() -> None:
    ndb = NDB(num_bins=2)
    with pytest.raises(NotFittedError, match=r"NDB.update\(\) called before NDB.fit\(real\)"):
        ndb.update(torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"NDB.compute\(\) called before NDB.fit"):
        ndb.compute()
    with pytest.raises(RuntimeError, match=r"before NDB\.fit"):
        ndb.state_dict()


def test_compute_before_update(fitted: NDB) -> None:
    fitted.reset()
    with pytest.raises(ValueError, match=r"call NDB.update\(fake\) first"):
        fitted.compute()


@pytest.mark.parametrize(
    ("fake", "error", "match"),
    [
        (
            torch.zeros(5, 9),
            ValueError,
            r"fake has 9 features per sample \(shape \(5, 9\)\), but the bins were fitted on 8",
        ),
        (torch.zeros(0, 8), ValueError, r"fake is empty \(shape \(0, 8\)\)"),
        (torch.tensor([[float("nan")] * 8]), ValueError, "fake contains 8 NaN or infinite"),
        (torch.tensor([[float("inf")] + [0.0] * 7]), ValueError, "fake contains 1 NaN or infinite"),
        (torch.zeros(5, 8, dtype=torch.int64), TypeError, "fake must have a floating-point dtype, got torch.int64"),
        (np.zeros((5, 8)), TypeError, "fake must be a torch.Tensor, got ndarray"),
    ],
)
def test_update_bad_inputs(fitted: NDB, fake: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        fitted.update(fake)  # type: ignore[arg-type]


def test_non_finite_count_spans_check_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_checks, "_CHECK_BLOCK", 10)  # 2 rows of 4 values per block
    real = torch.zeros(20, 4)
    real[0, 0], real[19, 3], real[7, 1] = float("nan"), float("inf"), -float("inf")
    with pytest.raises(ValueError, match=r"real contains 3 NaN or infinite value\(s\) \(shape \(20, 4\)\)"):
        NDB(num_bins=2).fit(real)


def test_fit_bad_inputs() -> None:
    with pytest.raises(ValueError, match=r"num_bins \(10\) exceeds the number of real samples \(4\)"):
        NDB(num_bins=10).fit(torch.randn(4, 2))
    with pytest.raises(ValueError, match="real contains 1 NaN"):
        NDB(num_bins=2).fit(torch.tensor([[0.0], [float("nan")], [1.0]]))
    with pytest.raises(ValueError, match="real is empty"):
        NDB(num_bins=2).fit(torch.zeros(0, 3))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"significance_level": 0.0}, ValueError, "significance_level must lie strictly between 0 and 1, got 0.0"),
        ({"significance_level": 1.5}, ValueError, "significance_level must lie strictly between 0 and 1"),
        ({"significance_level": float("nan")}, ValueError, "significance_level must lie strictly between"),
        ({"significance_level": "0.05"}, TypeError, "significance_level must be a float, got str"),
        ({"num_bins": 0}, ValueError, "num_bins must be >= 1, got 0"),
        ({"num_bins": 2.0}, TypeError, "num_bins must be an int, got float"),
        ({"z_threshold": -1.0}, ValueError, "z_threshold must be a positive number or None, got -1.0"),
        ({"max_dims": 0}, ValueError, "max_dims must be >= 1"),
        ({"seed": -1}, ValueError, "seed must be >= 0"),
        ({"n_init": 0}, ValueError, "n_init must be >= 1"),
    ],
)
def test_constructor_bad_arguments(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        NDB(**kwargs)  # type: ignore[arg-type]
