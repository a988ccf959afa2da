from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_modeseek.metrics import FID, MissingWeightsError, frechet_distance


def _spd(f: int, seed: int, rank: int | None = None) -> torch.Tensor:
    a = torch.randn(f, rank or f, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return a @ a.T + (0.0 if rank else 0.1) * torch.eye(f, dtype=torch.float64)


def test_closed_form_one_dimension() -> None:
    # N(m1, s1^2) vs N(m2, s2^2): (m1 - m2)^2 + (s1 - s2)^2
    value = frechet_distance(torch.tensor([1.0]), torch.tensor([[4.0]]), torch.tensor([-2.0]), torch.tensor([[9.0]]))
    assert value.dtype == torch.float64
    assert float(value) == pytest.approx(9.0 + 1.0, rel=1e-12)


def test_closed_form_commuting_covariances() -> None:
    # Diagonal covariances: sum_i (m1_i - m2_i)^2 + (sqrt(a_i) - sqrt(b_i))^2
    a, b = torch.tensor([1.0, 4.0, 0.25, 9.0]), torch.tensor([4.0, 1.0, 1.0, 0.0])
    m1, m2 = torch.tensor([0.0, 1.0, 2.0, 3.0]), torch.tensor([1.0, 1.0, 0.0, 3.0])
    expected = ((m1 - m2) ** 2 + (a.sqrt() - b.sqrt()) ** 2).sum()
    assert float(frechet_distance(m1, torch.diag(a), m2, torch.diag(b))) == pytest.approx(float(expected), rel=1e-12)


def test_closed_form_rotated_covariances() -> None:
    # Same spectrum in a rotated basis: S2 = R S1 R^T with S1 = diag(a); in closed form for 2-D with a 90 degree
    # rotation S2 = diag(a[::-1]), which commutes with S1.
    s1 = torch.diag(torch.tensor([4.0, 1.0], dtype=torch.float64))
    rot = torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=torch.float64)
    value = frechet_distance(torch.zeros(2), s1, torch.zeros(2), rot @ s1 @ rot.T)
    assert float(value) == pytest.approx(2 * (2.0 - 1.0) ** 2, rel=1e-12)


@pytest.mark.filterwarnings("ignore:Matrix is singular")  # scipy on the low-rank cases: expected
@settings(max_examples=25, deadline=None)
@given(f=st.integers(1, 12), seed=st.integers(0, 10_000), low_rank=st.booleans())
def test_matches_scipy_sqrtm(f: int, seed: int, low_rank: bool) -> None:
    linalg = pytest.importorskip("scipy.linalg")
    s1, s2 = _spd(f, seed), _spd(f, seed + 1, rank=max(1, f // 2) if low_rank else None)
    gen = torch.Generator().manual_seed(seed)
    m1, m2 = torch.randn(f, generator=gen, dtype=torch.float64), torch.randn(f, generator=gen, dtype=torch.float64)
    root = linalg.sqrtm(s1.numpy() @ s2.numpy())
    expected = float(((m1 - m2) ** 2).sum() + torch.trace(s1) + torch.trace(s2)) - 2 * float(np.trace(root).real)
    got = float(frechet_distance(m1, s1, m2, s2))
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-6 * float(torch.trace(s1) + torch.trace(s2)))
    assert got == pytest.approx(float(frechet_distance(m2, s2, m1, s1)), rel=1e-6, abs=1e-6)


def test_identical_gaussians_give_zero_and_float32_inputs_are_promoted() -> None:
    s = _spd(16, 0).float()
    value = frechet_distance(torch.ones(16), s, torch.ones(16), s)
    assert value.dtype == torch.float64
    assert float(value) == pytest.approx(0.0, abs=1e-4)


def test_fid_of_sampled_gaussians_approaches_closed_form() -> None:
    gen = torch.Generator().manual_seed(0)
    m1, m2 = torch.tensor([0.0, 1.0, -1.0]), torch.tensor([0.5, 0.0, -1.0])
    s1, s2 = _spd(3, 1), _spd(3, 2)
    l1, l2 = torch.linalg.cholesky(s1), torch.linalg.cholesky(s2)
    fid = FID()
    for _ in range(4):  # chunked updates
        fid.update((m1 + torch.randn(5000, 3, generator=gen, dtype=torch.float64) @ l1.T).float(), real=True)
        fid.update((m2 + torch.randn(5000, 3, generator=gen, dtype=torch.float64) @ l2.T).float(), real=False)
    expected = float(frechet_distance(m1, s1, m2, s2))
    assert float(fid.compute()) == pytest.approx(expected, rel=0.05)


def test_chunked_updates_equal_one_update_and_statistics_are_unbiased() -> None:
    x = torch.randn(60, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    y = x[:, [1, 0, 3, 2]] * 2 + 1
    one, chunked = FID(), FID()
    one.update(x, real=True)
    one.update(y, real=False)
    for part in x.split(7):
        chunked.update(part, real=True)
    for part in y.split(13):
        chunked.update(part, real=False)
    torch.testing.assert_close(chunked.compute(), one.compute())
    expected = frechet_distance(x.mean(0), torch.cov(x.T), y.mean(0), torch.cov(y.T))
    torch.testing.assert_close(one.compute(), expected)


def test_feature_extractor_is_applied_to_images() -> None:
    gen = torch.Generator().manual_seed(4)
    proj = torch.randn(48, 5, generator=gen)

    def extractor(images: torch.Tensor) -> torch.Tensor:
        return images.reshape(images.shape[0], -1) @ proj

    real, fake = torch.rand(20, 3, 4, 4, generator=gen), torch.rand(20, 3, 4, 4, generator=gen) ** 2
    with_net, on_features = FID(extractor), FID()
    with_net.update(real, real=True)
    with_net.update(fake, real=False)
    on_features.update(extractor(real), real=True)
    on_features.update(extractor(fake), real=False)
    torch.testing.assert_close(with_net.compute(), on_features.compute())


class _TinyInception(torch.nn.Module):
    def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        if not return_features:
            return torch.zeros(x.shape[0], 1)
        return x.mean(dim=(2, 3))


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_torchscript_weights_file(tmp_path) -> None:
    path = tmp_path / "inception-2015-12-05.pt"
    torch.jit.script(_TinyInception()).save(str(path))
    gen = torch.Generator().manual_seed(5)
    real, fake = torch.rand(10, 3, 4, 4, generator=gen), torch.rand(10, 3, 4, 4, generator=gen)
    fid, ref = FID(weights=path), FID()
    fid.update(real, real=True)
    fid.update(fake, real=False)
    ref.update(255.0 * real.mean(dim=(2, 3)), real=True)  # images in [0, 1] are scaled to [0, 255]
    ref.update(255.0 * fake.mean(dim=(2, 3)), real=False)
    torch.testing.assert_close(fid.compute(), ref.compute(), rtol=1e-5, atol=0)  # float32 summation order


def test_reset_state_dict_and_sync(tmp_path) -> None:
    gen = torch.Generator().manual_seed(6)
    fid = FID()
    fid.update(torch.randn(30, 3, generator=gen), real=True)
    fid.update(torch.randn(30, 3, generator=gen) + 1, real=False)
    torch.save(fid.state_dict(), tmp_path / "fid.pt")
    restored = FID()
    restored.load_state_dict(torch.load(tmp_path / "fid.pt", weights_only=True))
    torch.testing.assert_close(restored.compute(), fid.compute())
    fid.sync()  # not initialised: a no-op
    torch.testing.assert_close(restored.compute(), fid.compute())
    fid.reset(real=False)
    assert set(fid.state_dict()) == {"real_sum", "real_outer", "real_count"}
    fid.reset()
    assert fid.state_dict() == {}
    with pytest.raises(ValueError, match="unexpected key 'real_mean'"):
        FID().load_state_dict({"real_mean": torch.zeros(2)})
    with pytest.raises(ValueError, match="incomplete real entry"):
        FID().load_state_dict({"real_sum": torch.zeros(2)})


# ---------------------------------------------------------------- errors
def test_images_without_a_network_name_the_weights_file() -> None:
    fid = FID()
    with pytest.raises(MissingWeightsError, match=r"inception-2015-12-05\.pt") as info:
        fid.update(torch.rand(4, 3, 8, 8), real=True)
    message = str(info.value)
    assert "shape (4, 3, 8, 8)" in message
    assert "FID(weights='/path/to/inception-2015-12-05.pt')" in message
    assert "feature_extractor" in message
    assert "never downloads" in message


def test_missing_weights_file(tmp_path) -> None:
    missing = tmp_path / "nope" / "inception-2015-12-05.pt"
    with pytest.raises(FileNotFoundError, match=r"FID weights file not found: .*nope.*inception-2015-12-05\.pt"):
        FID(weights=missing)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"feature_extractor": abs, "weights": "x.pt"}, ValueError, "either feature_extractor or weights, not both"),
        ({"feature_extractor": 3}, TypeError, "feature_extractor must be callable, got int"),
    ],
)
def test_constructor_errors(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        FID(**kwargs)  # type: ignore[arg-type]


def test_update_and_compute_errors() -> None:
    fid = FID()
    with pytest.raises(ValueError, match="at least 2 real samples, got 0"):
        fid.compute()
    fid.update(torch.zeros(3, 4), real=True)
    with pytest.raises(ValueError, match="at least 2 fake samples, got 0"):
        fid.compute()
    with pytest.raises(ValueError, match="fake features have 5 dimensions but earlier ones had 4"):
        fid.update(torch.zeros(3, 5), real=False)
    with pytest.raises(ValueError, match="features contains 1 NaN"):
        fid.update(torch.tensor([[0.0, 0.0, 0.0, math.nan]]), real=False)
    with pytest.raises(TypeError, match="x must have a floating-point dtype"):
        fid.update(torch.zeros(3, 4, dtype=torch.long), real=False)
    with pytest.raises(ValueError, match="x is empty"):
        fid.update(torch.zeros(0, 4), real=False)
    bad_net = FID(lambda x: x[:1])
    with pytest.raises(ValueError, match=r"must return \(N, F\) features for N=3, got \(1, 4\)"):
        bad_net.update(torch.zeros(3, 4), real=True)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((torch.zeros(2), torch.eye(3), torch.zeros(2), torch.eye(2)), r"sigma1=\(3, 3\)"),
        ((torch.zeros(2, 1), torch.eye(2), torch.zeros(2), torch.eye(2)), "mu1 must have 1 dimension"),
        ((torch.zeros(2), torch.eye(2), torch.zeros(2), torch.full((2, 2), math.inf)), "sigma2 contains 4 NaN"),
    ],
)
def test_frechet_distance_bad_inputs(args: tuple[torch.Tensor, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        frechet_distance(*args)
