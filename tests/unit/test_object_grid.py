"""Object-aware grids: objects whole inside one tile, blend bands off the mask."""

import numpy as np
import pytest
import torch

from tilestitch.tiling import compose, extract_tiles, plan_by_tile_size
from tilestitch.tiling.object_grid import _axis_extents, axis_cost, mask_grid_report, object_boxes, plan_around_mask


def discs(height, width, n, seed, rmin=60, rmax=200):
    rng = np.random.default_rng(seed)
    mask = np.zeros((height, width), np.float32)
    yy, xx = np.ogrid[:height, :width]
    for _ in range(n):
        r = rng.integers(rmin, rmax)
        cy, cx = rng.integers(r, height - r), rng.integers(r, width - r)
        mask[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = 1.0
    return mask


def held_whole(plan, mask):
    boxes = object_boxes(mask)
    fits = [b for b in boxes if b[2] <= plan.tile_width and b[3] <= plan.tile_height]
    whole = [any(t.x <= x and x + w <= t.x + t.width and t.y <= y and y + h <= t.y + t.height for t in plan) for x, y, w, h in fits]
    return sum(whole), len(fits)


def clear_of_bands(plan, mask):
    bands = [list(zip(plan.axis(d).starts[1:], plan.axis(d).ends[:-1])) for d in (0, 1)]
    return sum(
        1 for x, y, w, h in object_boxes(mask)
        if not any(lo < y + h and y < hi for lo, hi in bands[0]) and not any(lo < x + w and x < hi for lo, hi in bands[1])
    )


def band_mass(plan, mask):
    return sum(axis_cost(plan.axis(d), mask.sum(axis=1 - d, dtype=np.float64), []).band_mass for d in (0, 1))


def test_every_object_that_fits_lies_wholly_inside_a_tile():
    mask = discs(2400, 3600, 10, 0)
    even = plan_by_tile_size(2400, 3600, 768, 768, 96, 8)
    plan = plan_around_mask(mask, 768, 768, 96, 8)
    whole, fits = held_whole(plan, mask)
    assert whole == fits > 0
    assert held_whole(even, mask)[0] < fits  # the even grid strands some (else the test proves nothing)
    # a valid grid: aligned starts, overlaps between the minimum and half a tile
    for axis in (plan.rows_axis, plan.cols_axis):
        assert all(s % 8 == 0 for s in axis.starts[:-1])
        assert all(96 <= o <= 768 // 2 for o in axis.overlaps)


def test_better_than_the_even_grid_on_crowded_masks():
    # with overlaps capped at half a tile a crowded mask cannot keep every object off the bands
    whole_aware = whole_even = mass_aware = mass_even = 0
    for seed in range(1, 8):
        mask = discs(2400, 3600, 12, seed)
        plan = plan_around_mask(mask, 768, 768, 96, 8)
        even = plan_by_tile_size(2400, 3600, 768, 768, 96, 8)
        assert clear_of_bands(plan, mask) >= clear_of_bands(even, mask)
        mass_aware += band_mass(plan, mask)  # second to the objects: per photo it may rise, overall it falls
        mass_even += band_mass(even, mask)
        whole_aware += held_whole(plan, mask)[0]
        whole_even += held_whole(even, mask)[0]
    assert whole_aware > whole_even
    assert mass_aware < 0.85 * mass_even


def test_a_seam_through_an_object_moves_off_it():
    mask = np.zeros((1000, 5000), np.float32)
    yy, xx = np.ogrid[:1000, :5000]
    mask[(yy - 500) ** 2 + (xx - 1700) ** 2 < 50 ** 2] = 1.0
    even = plan_by_tile_size(1000, 5000, 1000, 1024, 64, 8)
    plan = plan_around_mask(mask, 1000, 1024, 64, 8)
    profile = mask.sum(axis=0, dtype=np.float64)
    assert axis_cost(even.cols_axis, profile, []).band_mass > 0  # the even grid blends across the disc
    assert axis_cost(plan.cols_axis, profile, []).band_mass == 0.0
    assert plan.count == even.count  # without needing more tiles


def test_empty_mask_gives_the_fewest_tiles_and_merges_exactly():
    mask = np.zeros((900, 1300), np.float32)
    plan = plan_around_mask(mask, 512, 512, 64, 8)
    even = plan_by_tile_size(900, 1300, 512, 512, 64, 8)
    assert plan.count == even.count
    img = torch.rand(1, 900, 1300, 3)
    mask[100:300, 200:500] = 1
    plan = plan_around_mask(mask, 512, 512, 64, 8)
    out = compose(extract_tiles(img, plan), plan, "cosine")
    assert (out - img).abs().max() < 1e-6  # uneven overlaps still form a partition of unity


def test_objects_larger_than_a_tile_count_only_by_mass_and_the_report_says_so():
    mask = np.zeros((1200, 1200), np.float32)
    mask[100:1100, 100:1100] = 1  # 1000 px square, tiles 512: cannot fit
    plan = plan_around_mask(torch.from_numpy(mask), 512, 512, 64, 8)
    even = plan_by_tile_size(1200, 1200, 512, 512, 64, 8)
    for d in (0, 1):
        profile, extents = mask.sum(axis=1 - d, dtype=np.float64), _axis_extents(object_boxes(mask), d)
        assert axis_cost(plan.axis(d), profile, extents).band_mass <= axis_cost(even.axis(d), profile, extents).band_mass
    report = mask_grid_report(plan, mask)
    assert "0 of 1 objects clear" in report and "0 of 0 that fit a tile" in report
    with pytest.raises(ValueError, match="2-D"):
        plan_around_mask(np.zeros((2, 3, 4)), 64, 64, 8)


def test_detail_energy_as_the_mask_moves_the_blend_bands_off_the_photos_detail_and_ghosts_less_texture():
    """Seam placement by Detail Energy (README): on a real photo the bands of a grid placed around the detail map hold
    less of the detail than the even grid's, and tiles that redraw texture with their own sub-pixel shift lose less of
    it to the cross-fade."""
    import cv2

    from support import load_photo
    from tilestitch.blenders import blend
    from tilestitch.correct.bands import detail_energy

    image = load_photo("water", max_side=1024)
    energy = detail_energy(image[0])
    even = plan_by_tile_size(image.shape[1], image.shape[2], 256, 256, 32, 8)
    placed = plan_around_mask(energy, 256, 256, 32, 8, threshold=1.0)

    def in_bands(plan):
        cover = torch.zeros(plan.height, plan.width)
        for t in plan:
            cover[t.y:t.y + t.height, t.x:t.x + t.width] += 1
        return float(energy[cover > 1].sum() / energy.sum())

    def detail_lost(plan):
        tiles = extract_tiles(image, plan).numpy()
        rng = np.random.default_rng(0)
        for k in range(tiles.shape[0]):
            m = np.float32([[1, 0, rng.uniform(-1.5, 1.5)], [0, 1, rng.uniform(-1.5, 1.5)]])
            tiles[k] = cv2.warpAffine(tiles[k], m, tiles[k].shape[1::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        tiles = torch.from_numpy(tiles)

        def fine(x):
            return float(np.square(cv2.Laplacian(x[0].numpy().mean(axis=-1), cv2.CV_32F, ksize=1)).sum(dtype=np.float64))

        return 1 - fine(blend(tiles, plan, "cosine")) / fine(blend(tiles, plan, "none"))

    assert in_bands(placed) < 0.85 * in_bands(even)
    assert detail_lost(placed) < 0.92 * detail_lost(even)
