"""Colour conversions and CIEDE2000."""

import numpy as np
import pytest
import torch

from tilestitch.imaging.color import ciede2000, lab_to_rgb, rgb_to_lab

# Sharma, Wu & Dalal (2005), Table 1: (L1, a1, b1), (L2, a2, b2), dE00
SHARMA = [
    ((50.0000, 2.6772, -79.7751), (50.0000, 0.0000, -82.7485), 2.0425),
    ((50.0000, 3.1571, -77.2803), (50.0000, 0.0000, -82.7485), 2.8615),
    ((50.0000, 2.8361, -74.0200), (50.0000, 0.0000, -82.7485), 3.4412),
    ((50.0000, -1.3802, -84.2814), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, -1.1848, -84.8006), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, -0.9009, -85.5211), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, 0.0000, 0.0000), (50.0000, -1.0000, 2.0000), 2.3669),
    ((50.0000, -1.0000, 2.0000), (50.0000, 0.0000, 0.0000), 2.3669),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0009), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0010), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0011), 7.2195),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0012), 7.2195),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0009, -2.4900), 4.8045),
    ((50.0000, 2.5000, 0.0000), (50.0000, 0.0000, -2.5000), 4.3065),
    ((50.0000, 2.5000, 0.0000), (73.0000, 25.0000, -18.0000), 27.1492),
    ((50.0000, 2.5000, 0.0000), (61.0000, -5.0000, 29.0000), 22.8977),
    ((50.0000, 2.5000, 0.0000), (56.0000, -27.0000, -3.0000), 31.9030),
    ((50.0000, 2.5000, 0.0000), (58.0000, 24.0000, 15.0000), 19.4535),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.1736, 0.5854), 1.0000),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((63.0109, -31.0961, -5.8663), (62.8187, -29.7946, -4.0864), 1.2630),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


def test_ciede2000_matches_sharma_test_data():
    lab1 = torch.tensor([p[0] for p in SHARMA])
    lab2 = torch.tensor([p[1] for p in SHARMA])
    want = torch.tensor([p[2] for p in SHARMA], dtype=torch.float64)
    got = ciede2000(lab1.double(), lab2.double(), dim=-1)
    torch.testing.assert_close(got, want, atol=1e-4, rtol=0)
    torch.testing.assert_close(ciede2000(lab2.double(), lab1.double(), dim=-1), got)  # symmetric


def test_lab_round_trip_and_reference_values():
    rgb = torch.rand(2, 3, 32, 48)
    torch.testing.assert_close(lab_to_rgb(rgb_to_lab(rgb)), rgb, atol=2e-4, rtol=0)
    red = rgb_to_lab(torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)).flatten()
    torch.testing.assert_close(red, torch.tensor([53.24, 80.09, 67.20]), atol=0.02, rtol=0)
    assert float(ciede2000(rgb_to_lab(rgb), rgb_to_lab(rgb)).abs().max()) == pytest.approx(0.0, abs=1e-6)


def _cube(n: int = 40) -> torch.Tensor:
    """Every combination of ``n`` levels per channel, channels last ``[n, n*n, 3]``, edges and darks included."""
    g = torch.linspace(0, 1, n)
    return torch.stack(torch.meshgrid(g, g, g, indexing="ij"), -1).reshape(n, n * n, 3)


def test_fused_cpu_conversion_matches_the_formulas():
    """The float32 CPU pass (tables in the square-root domain) against the same formulas in float64, and kornia."""
    import kornia.color

    rgb = _cube()
    fast = rgb_to_lab(rgb, dim=-1)
    exact = rgb_to_lab(rgb.double(), dim=-1)
    torch.testing.assert_close(fast.double(), exact, atol=1e-3, rtol=0)
    ref = kornia.color.rgb_to_lab(rgb.double().permute(2, 0, 1)[None])[0].permute(1, 2, 0)
    torch.testing.assert_close(fast.double(), ref, atol=6e-3, rtol=0)  # kornia rounds the D65 white point differently
    back = lab_to_rgb(fast, dim=-1)
    torch.testing.assert_close(back, rgb, atol=2e-5, rtol=0)  # a 16-bit code is 1.5e-5
    torch.testing.assert_close(lab_to_rgb(exact, dim=-1), rgb.double(), atol=1e-9, rtol=0)


def test_conversion_layouts_types_and_unclipped_values():
    rgb = torch.rand(2, 5, 7, 3)
    planar = rgb.permute(0, 3, 1, 2)
    torch.testing.assert_close(rgb_to_lab(planar).permute(0, 2, 3, 1), rgb_to_lab(rgb, dim=-1))
    as_numpy = rgb_to_lab(rgb.numpy(), dim=-1)
    assert isinstance(as_numpy, np.ndarray) and as_numpy.dtype == np.float32
    np.testing.assert_array_equal(as_numpy, rgb_to_lab(rgb, dim=-1).numpy())
    # a correction may push colours out of gamut: clip=False keeps them, exactly as the formula does
    lab = torch.tensor([[100.0, 0.0, 0.0], [104.0, 30.0, -20.0], [2.0, -40.0, 30.0], [50.0, 90.0, 0.0]])
    wide = lab_to_rgb(lab, dim=-1, clip=False)
    torch.testing.assert_close(wide.double(), lab_to_rgb(lab.double(), dim=-1, clip=False), atol=1e-5, rtol=0)
    assert float(wide.max()) > 1.0 and float(wide.min()) < 0.0
    assert float(lab_to_rgb(lab, dim=-1).max()) <= 1.0
    with pytest.raises(ValueError, match="3 colour channels"):
        rgb_to_lab(torch.rand(2, 4, 5, 5))


def test_ciede2000_fused_cpu_pass_matches_the_torch_formula():
    lab1 = torch.tensor([p[0] for p in SHARMA])
    lab2 = torch.tensor([p[1] for p in SHARMA])
    want = torch.tensor([p[2] for p in SHARMA])
    fast = ciede2000(lab1, lab2, dim=-1)  # float32 on the CPU: the fused pass
    assert fast.dtype == torch.float32
    torch.testing.assert_close(fast, want, atol=1e-4, rtol=0)
    g = torch.Generator().manual_seed(0)
    a = torch.rand(2, 3, 40, 50, generator=g) * torch.tensor([100.0, 200, 200]).view(1, 3, 1, 1) - torch.tensor([0.0, 100, 100]).view(1, 3, 1, 1)
    b = a + torch.randn(a.shape, generator=g) * 3
    torch.testing.assert_close(ciede2000(a, b).double(), ciede2000(a.double(), b.double()), atol=1e-4, rtol=0)
