"""The change cues and the noise model of diff-merge (``diffmerge/cues.py``, ``detect.py``), as pure functions."""

import numpy as np
import pytest

from tilestitch.diffmerge.cues import (BusyBins, busyness, colour_cue, colour_drift, evidence_of, lightness_cue,
                                       monotone_capped, region_cue, structure_cue, texture_cue, undo_colour_drift)
from tilestitch.diffmerge.detect import (DetectOptions, drop_faint_groups, fill_dips, fill_holes, group_labels, group_stats, hysteresis,
                                         spread_weight)
from tilestitch.imaging.color import rgb_to_lab

from support import load_photo


@pytest.fixture(scope="module")
def photo():
    return np.ascontiguousarray(load_photo("kodim23")[0].numpy())  # 768 x 512, parrots on green bokeh


def lab(rgb):
    return rgb_to_lab(np.ascontiguousarray(rgb, np.float32), dim=-1)


def test_every_cue_is_zero_for_identical_images_and_grows_with_the_change(photo):
    L = lab(photo)
    for cue in (lambda a, b: colour_cue(a, b), lambda a, b: region_cue(a, b),
                lambda a, b: structure_cue(a[..., 0], b[..., 0]), lambda a, b: texture_cue(a[..., 0], b[..., 0])):
        assert float(np.abs(cue(L, L)).max()) < 1e-4
    patch = (slice(200, 300), slice(300, 450))
    small, large = photo.copy(), photo.copy()
    small[patch] = np.clip(small[patch] * 0.95, 0, 1)
    large[patch] = np.clip(large[patch] * 0.8, 0, 1)
    for name, cue in (("colour", colour_cue), ("region", region_cue)):
        a, b = cue(L, lab(small))[patch].mean(), cue(L, lab(large))[patch].mean()
        assert 0 < a < b, name


def test_the_lightness_cue_sees_white_on_white_that_ciede2000_weighs_down():
    L = np.full((32, 32), 96.0, np.float32)
    darker = L - 2.0  # a light grey on white: 2 L*
    lab_o = np.stack([L, np.zeros_like(L), np.zeros_like(L)], -1)
    lab_e = np.stack([darker, np.zeros_like(L), np.zeros_like(L)], -1)
    de = float(colour_cue(lab_o, lab_e).mean())
    assert de < 1.5  # CIEDE2000's lightness weight is small far from L* 50
    assert float(lightness_cue(L, darker).mean()) > 4 * de
    mid = np.full((32, 32), 50.0, np.float32)
    assert float(lightness_cue(mid, mid - 2.0).max()) == 0.0  # mid-tones are left to CIEDE2000


def test_the_region_cue_averages_noise_out_but_keeps_a_coherent_shift():
    rng = np.random.default_rng(0)
    base = np.zeros((128, 128, 3), np.float32)
    base[..., 0] = 60
    noise = base + rng.normal(0, 2.0, base.shape).astype(np.float32)
    shifted = base.copy()
    shifted[..., 0] += 2.0
    assert float(np.median(region_cue(base, noise))) < 0.25 * float(np.median(colour_cue(base, noise)))
    assert float(np.median(region_cue(base, shifted))) == pytest.approx(2.0, rel=0.05)


def test_the_region_cue_weighs_chroma_down_where_the_colour_is_vivid():
    grey = np.zeros((16, 16, 3), np.float32)
    grey[..., 0] = 50
    vivid = grey.copy()
    vivid[..., 1] = 60  # C* 60
    step = np.zeros_like(grey)
    step[..., 1] = 3.0
    assert region_cue(vivid, vivid + step).mean() == pytest.approx(3.0 / (1 + 0.045 * 60), rel=0.02)
    assert region_cue(grey, grey + step).mean() == pytest.approx(3.0, rel=0.02)


def test_the_texture_cue_flags_texture_removed_not_texture_redrawn():
    rng = np.random.default_rng(1)
    flat = np.full((128, 128), 50.0, np.float32)
    texture = flat + rng.normal(0, 4, flat.shape).astype(np.float32)
    redrawn = flat + rng.normal(0, 4, flat.shape).astype(np.float32)  # new grain of the same strength
    removed = float(np.median(texture_cue(texture, flat)))
    again = float(np.median(texture_cue(texture, redrawn)))
    assert removed > 5 * again


def test_spread_weight_cuts_the_region_tail_beside_a_strong_stroke_not_a_coherent_plateau():
    """A stroke of ink (ΔL* 50, 4 px wide) lends region evidence ~8 px out; where the pixels there do not stand out on
    their own, the weight is 0 beyond ~6 px and 1 on the stroke. A faint but wide darkening (ΔL* 3, a plateau) keeps 1
    all over its inside though no single pixel stands out, and a pixel that stands out on its own always keeps 1."""
    h, w = 40, 120
    base = np.zeros((h, w, 3), np.float32)
    base[..., 0] = 60.0
    ink = base.copy()
    ink[:, 58:62, 0] = 10.0
    region = region_cue(base, ink)
    quiet = np.zeros((h, w), np.float32)  # no pixel beside the stroke stands out on its own
    own = quiet.copy()
    own[:, 58:62] = 30.0
    weight = spread_weight(region, own)
    row = weight[20]
    assert row[58:62].min() == 1.0 and row[:52].max() == 0.0 and row[68:].max() == 0.0, row.round(2)
    assert float(np.abs(spread_weight(region, np.full((h, w), 1.5, np.float32)) - 1).max()) == 0.0
    faint = base.copy()
    faint[:, 30:90, 0] -= 3.0
    plateau = spread_weight(region_cue(base, faint), quiet)
    assert plateau[:, 36:84].min() == 1.0


def test_fill_dips_fills_a_dip_inside_a_change_and_leaves_a_fading_tail_as_it_is():
    """A plateau of evidence with a 7 px hole (a fill crossing the original) is filled; a shadow-like Gaussian bump
    and a ramp falling outwards come back unchanged (to float round-off), and nothing is ever lowered."""
    h, w = 64, 160
    x = np.arange(w, dtype=np.float32)
    bump = np.broadcast_to(np.exp(-0.5 * ((x - 80) / 18) ** 2), (h, w)).astype(np.float32)
    tail = np.broadcast_to(np.clip((120 - x) / 60, 0, 1), (h, w)).astype(np.float32)
    for smooth in (bump, tail):  # (within the closing's reach of the frame a tail falling towards it is raised)
        assert float(np.abs(fill_dips(np.ascontiguousarray(smooth)) - smooth)[:, 10:-10].max()) < 1e-6
    plateau = np.zeros((h, w), np.float32)
    plateau[8:56, 20:140] = 1.0
    plateau[28:35, 60:67] = 0.1  # the dip
    filled = fill_dips(plateau)
    assert filled[28:35, 60:67].min() == 1.0 and np.all(filled >= plateau)
    assert np.array_equal(filled[:, :20], plateau[:, :20])  # outside the change nothing rises


def test_fill_holes_takes_a_small_hole_inside_a_solid_change_not_a_counter_or_the_inside_of_a_frame():
    """A removed object's fill matching the original along a thin arc leaves a hole in a solid disk: it is taken
    (alpha 1). A letter's counter (a 3 px stroke around it) and the inside of a thick frame (most of its area) are
    not; every other pixel keeps its alpha, and the input is not written."""
    import cv2

    alpha = np.zeros((200, 420), np.float32)
    cv2.circle(alpha, (70, 100), 50, 0.9, -1)  # the removed object's fill, a solid body
    cv2.ellipse(alpha, (70, 100), (25, 25), 0, 200, 330, 0.2, 3)  # ... with a thin arc where the fill equals the original
    arc = (alpha > 0.1) & (alpha < 0.5)
    cv2.circle(alpha, (180, 100), 12, 0.8, 3)  # the letter O: its counter is enclosed by a thin stroke
    cv2.circle(alpha, (330, 100), 60, 1.0, 24)  # a recoloured frame, a body (12 px deep), but its inside is most of its area
    before = alpha.copy()
    filled = fill_holes(alpha)
    assert np.array_equal(alpha, before)
    assert arc.sum() > 100 and filled[arc].min() == 1.0
    assert np.array_equal(filled[~arc], alpha[~arc])  # the counter, the frame's inside and all else as they were
    assert filled[100, 180] == 0.0 and filled[100, 330] == 0.0


def test_busyness_is_low_on_smooth_and_high_on_textured_areas(photo):
    b = busyness(lab(photo)[..., 0])
    assert b.shape == photo.shape[:2] and b.dtype == np.float32 and (b >= 0).all()
    rng = np.random.default_rng(3)
    L = np.tile(np.linspace(30, 70, 128, dtype=np.float32), (64, 1))  # a smooth gradient ...
    L[:, 64:] += rng.normal(0, 3, (64, 64)).astype(np.float32)  # ... textured on the right
    b = busyness(L)
    assert np.median(b[:, 70:]) > 4 * np.median(b[:, :58])  # a ramp of 0.3 L* per px is about 1


def test_noise_levels_rise_with_busyness_but_a_crowded_bin_does_not_raise_them():
    edges = np.array([1.0, 2.0, 4.0, 8.0, 16.0], np.float32)
    clean = np.array([0.5, 0.9, 1.8, 3.5, 7.0], np.float32)
    assert np.array_equal(monotone_capped(clean, edges), clean)  # rising with busyness: left as it is
    smooth_crowded = clean.copy()
    smooth_crowded[0] = 20.0  # a big flat recolouring fills the smoothest bin
    assert monotone_capped(smooth_crowded, edges)[0] <= clean[1]
    edge_crowded = clean.copy()
    edge_crowded[3] = 40.0  # the edges of a change crowd a busy bin
    capped = monotone_capped(edge_crowded, edges)
    assert capped[3] <= clean[2] * 2 * 1.25 + 1e-6 and np.all(np.diff(capped) >= 0)


def test_evidence_is_one_at_the_99th_percentile_of_the_noise_of_pixels_like_it():
    rng = np.random.default_rng(2)
    busy = rng.random((400, 400)).astype(np.float32) * 10
    cue = (np.abs(rng.normal(0, 1, busy.shape)) * (0.2 + busy)).astype(np.float32)  # noise grows with busyness
    bins = BusyBins(busy, np.ones(busy.shape, bool))
    z, model = evidence_of(cue, bins, "colour")
    for lo, hi in ((0, 2), (4, 6), (8, 10)):
        sel = (busy >= lo) & (busy < hi)
        assert (z[sel] > 1).mean() == pytest.approx(0.01, abs=0.006), (lo, hi)
    assert np.all(np.diff(model.level) >= 0)


def test_the_colour_drift_fit_undoes_gain_and_gamma_despite_a_changed_area(photo):
    drifted = np.clip(photo, 0, 1) ** 1.04 * np.array([1.02, 0.99, 0.985], np.float32)
    drifted[100:200, 100:250] = [0.9, 0.1, 0.1]  # an edit the mask missed: 4 % of the pixels
    where = np.ones(photo.shape[:2], bool)
    undone = undo_colour_drift(drifted, colour_drift(photo, drifted, where))
    keep = np.ones_like(where)
    keep[100:200, 100:250] = False
    keep &= photo.min(-1) > 0.03
    assert float(np.abs(undone - photo)[keep].max()) < 0.01
    assert float(np.abs(drifted - photo)[keep].max()) > 0.02  # there was a drift to undo


def test_groups_count_nearby_parts_together_and_faint_groups_are_dropped():
    mask = np.zeros((60, 60), np.uint8)
    mask[10:14, 10:14] = 1
    mask[10:14, 16:20] = 1  # 2 px from the first: one group (a word's letters)
    mask[40:44, 40:44] = 1
    n, labels = group_labels(mask, 2)
    assert len(np.unique(labels[mask > 0])) == 2
    stats = group_stats(labels, n)
    assert sorted(stats[1:, 4][stats[1:, 4] > 0].tolist()) == [16, 32]
    first = labels[11, 11]
    assert stats[first, :4].tolist() == [10, 10, 10, 4]
    de = np.zeros((60, 60), np.float32)
    de[40:44, 40:44] = 0.8  # invisible
    de[10:14, 10:20] = 5.0
    kept = drop_faint_groups(mask, de, 1.5, 2)
    assert kept[11, 11] and kept[11, 17] and not kept[41, 41]


def test_hysteresis_keeps_weak_areas_only_where_they_touch_a_strong_pixel():
    weak = np.zeros((20, 20), bool)
    weak[2:6, 2:10] = True
    weak[12:16, 12:16] = True
    strong = np.zeros_like(weak)
    strong[3, 3] = True
    out = hysteresis(strong, weak)
    assert out[2:6, 2:10].all() and not out[12:16, 12:16].any()


def test_detect_options_derive_grow_and_possible_from_sensitivity_and_refuse_nonsense():
    o = DetectOptions(sensitivity=4.0)
    assert (o.grow, o.possible) == (2.0, 3.0)
    with pytest.raises(ValueError, match="grow"):
        DetectOptions(sensitivity=2.0, grow=3.0)


def test_the_largest_cue_equals_numpys_max_and_argmax_over_the_stack():
    """``detect._largest`` (in place, no [5, h, w] stack): the maximum, the first cue reaching it (ties included, as
    ``argmax``), and the maximum of the per-pixel cues alone."""
    from tilestitch.diffmerge.detect import PIXEL_CUES, _largest

    rng = np.random.default_rng(5)
    cues = [np.round(rng.random((30, 40), dtype=np.float32) * 4) / 4 for _ in range(5)]  # coarse values: many ties
    stack = np.stack(cues)
    z, cue, z_pixel = _largest(cues)
    assert np.array_equal(z, stack.max(axis=0))
    assert np.array_equal(cue, np.argmax(stack, axis=0).astype(np.uint8))
    assert np.array_equal(z_pixel, stack[:PIXEL_CUES].max(axis=0))
    assert (stack == stack.max(axis=0)).sum(axis=0).max() > 1  # ties do occur
    assert np.array_equal(stack, np.stack(cues))  # the inputs are not changed


def test_the_tone_field_follows_a_smooth_drift_and_fills_far_from_any_quiet_pixel_with_the_median():
    """``tone_field`` over quiet pixels only: a smooth drift is recovered, a change (not quiet) neither pulls it nor
    leaves a hole, and where no quiet pixel is within reach the field is the median drift of all of them."""
    from tilestitch.diffmerge.cues import tone_field

    h, w = 240, 320
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    lab_o = np.zeros((h, w, 3), np.float32)
    drift = np.stack([0.5 + xx / w, -0.3 + 0 * xx, 0.2 * yy / h], -1).astype(np.float32)
    lab_e = lab_o + drift
    lab_e[100:140, 100:140] += 30.0  # a change, not quiet
    quiet = np.ones((h, w), bool)
    quiet[100:140, 100:140] = False
    field = tone_field(lab_o, lab_e, quiet, 16.0)
    inner = (slice(40, 200), slice(40, 280))  # away from the frame's edges, where the drift's slope bends the average
    assert float(np.abs(field - drift)[inner].max()) < 0.05  # also over the change
    far = np.zeros((h, w), bool)
    far[:, : w // 2] = True  # no quiet pixel on the left half: far beyond the blur's reach there
    field = tone_field(lab_o, lab_e, ~far, 4.0)
    median = np.median(drift[~far], axis=0)
    assert np.allclose(field[:, :40], median, atol=1e-6)
    assert float(np.abs(field - drift)[:, 200:280].max()) < 0.05
