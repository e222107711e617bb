"""Diff-merge: detection, registration, colour, and the bit-identical guarantee outside the change."""

import json

import numpy as np
import pytest
import torch

from tilestitch.imaging.color import ciede2000, rgb_to_lab
from tilestitch.imaging.resample import resize_hwc
from tilestitch.diffmerge import diff_merge
from tilestitch.diffmerge.composite import membrane
from tilestitch.diffmerge.synthetic import synthetic_edit
from tilestitch.nodes.diffmerge import DiffMerge

from support import load_photo

EDIT = (816, 1232)  # ~1 MP, the parrots scan's aspect


@pytest.fixture(scope="module")
def parrots():
    return load_photo("parrots")[0].numpy()  # 2048 x 3072 film scan


@pytest.fixture(scope="module")
def edit(parrots):
    return synthetic_edit(parrots, EDIT, shift=(1.5, -1.0))


def mean_delta_e(a, b, where):
    return float(ciede2000(torch.from_numpy(rgb_to_lab(a[..., :3], dim=-1)[where]), torch.from_numpy(rgb_to_lab(b[..., :3], dim=-1)[where]), dim=-1).mean())


@pytest.mark.parametrize("blend", ["feather", "poisson"])
def test_synthetic_edit_is_found_registered_and_merged_without_touching_anything_else(parrots, edit, blend):
    r = diff_merge(parrots, edit.edited, blend=blend)
    det = r.detected_full()
    iou = (det & edit.changed).sum() / (det | edit.changed).sum()
    assert iou >= 0.9, iou
    # the edit's content sits 1.5 px right and 1 px up of the original's: undone (in edit pixels)
    assert r.info["shift_edit_px"] == pytest.approx([-1.5, 1.0], abs=0.25)
    assert r.info["regions"] == 2
    untouched = r.mask == 0
    assert untouched.mean() > 0.8
    assert np.array_equal(r.image[untouched], parrots[untouched])  # bit-identical, not just close
    assert mean_delta_e(r.image, edit.truth, edit.changed) < 1.5  # the global 1.5 % shift is not carried in
    assert mean_delta_e(r.image, edit.truth, np.ones_like(untouched)) < 0.5


def test_no_change_returns_the_original_itself_and_says_so(parrots):
    small = resize_hwc(parrots, *EDIT, "area") * np.array([1.01, 1.0, 0.99], np.float32)  # only a global drift
    r = diff_merge(parrots, small)
    assert r.image is parrots and not r.mask.any()
    assert "no change found" in r.info["message"]


def test_protect_mask_keeps_a_region_original(parrots, edit):
    protect = np.zeros(EDIT, bool)
    protect[:, : EDIT[1] // 2] = True  # the left half holds the pasted disk
    r = diff_merge(parrots, edit.edited, protect=protect)
    left = slice(0, parrots.shape[1] // 2 - 8)
    assert np.array_equal(r.image[:, left], parrots[:, left])
    assert r.info["regions"] == 1


def test_rgba_original_keeps_its_alpha_bit_identical(parrots, edit):
    rgba = np.concatenate([parrots, np.random.default_rng(0).random(parrots.shape[:2] + (1,), dtype=np.float32)], -1)
    r = diff_merge(rgba, edit.edited)
    assert r.image.shape == rgba.shape and np.array_equal(r.image[..., 3], rgba[..., 3])
    assert "original alpha kept as it is" in r.info["alpha_notes"]


@pytest.mark.parametrize("edited, message", [
    (np.zeros((700, 1232, 3), np.float32), "aspect"),
    (np.zeros((4096, 6144, 3), np.float32), "larger than the original"),
    (np.zeros((816, 1232, 1), np.float32), "RGB or RGBA"),
])
def test_bad_edits_are_refused_clearly(parrots, edited, message):
    with pytest.raises(ValueError, match=message):
        diff_merge(parrots, edited)


def test_membrane_reproduces_a_harmonic_boundary():
    yy, xx = np.mgrid[:40, :57].astype(np.float64)
    plane = np.stack([0.3 * xx - 0.2 * yy + 1, xx * 0 + 2.0], -1)  # planes are harmonic
    border_only = plane.copy()
    border_only[1:-1, 1:-1] = 0
    assert np.abs(membrane(border_only) - plane).max() < 1e-4


def test_node_returns_full_size_image_mask_overlay_and_report(parrots, edit):
    out = DiffMerge().merge(torch.from_numpy(parrots)[None], torch.from_numpy(edit.edited)[None], 4.0, "affine", "feather",
                            24.0, True, 3, 0.0005)
    image, mask, overlay, report = out
    assert image.shape == (1, 2048, 3072, 3) and mask.shape == (1, 2048, 3072) and overlay.shape == (1, 816, 1232, 3)
    info = json.loads(report)
    assert info["regions"] == 2 and info["shift_px"][0] == pytest.approx(-1.5 * 3072 / 1232, abs=0.7)
    with pytest.raises(ValueError, match="2 images for 1 originals"):
        DiffMerge().merge(torch.from_numpy(parrots)[None], torch.from_numpy(edit.edited)[None].repeat(2, 1, 1, 1), 4.0,
                          "affine", "feather", 24.0, True, 3, 0.0005)


def test_edge_alpha_puts_a_crisp_edge_at_its_half_maximum_and_only_ever_lowers_alpha():
    """A dark stroke 12 px wide on a smooth grey wall, the edit at a fifth of the size: resampled back it spreads over
    ~10 px either side, and so does the detection's dilated alpha. Refined, alpha >= 0.5 is the stroke give or take a
    pixel or two; alpha never rises and stays 0 where it was 0. On a busy original the stroke (far stronger than the
    texture) is refined the same way, while a change no stronger than the texture (the texture inpainted away) keeps
    the alpha as detected: a fill that crosses the original here and there gets no holes."""
    import cv2

    from tilestitch.diffmerge.composite import EDGE_RADIUS, edge_alpha, lightness_spread

    H, W, k = 200, 300, 5
    wall = np.full((H, W, 3), 0.8, np.float32)
    truth = wall.copy()
    truth[:, 144:156] = 0.2
    small_truth = cv2.resize(truth, (W // k, H // k), interpolation=cv2.INTER_AREA)
    small_wall = cv2.resize(wall, (W // k, H // k), interpolation=cv2.INTER_AREA)
    up = lambda x: cv2.resize(x, (W, H), interpolation=cv2.INTER_LANCZOS4)  # noqa: E731
    detected = np.zeros((H, W), np.float32)
    detected[:, 125:176] = 1.0  # the stroke plus the detection's spread
    detected[:, 120:125] = detected[:, 176:181] = 0.4
    alpha = edge_alpha(detected.copy(), up(small_truth), up(small_wall), up(lightness_spread(small_wall)), float(k))
    assert np.all(alpha <= detected) and np.all(alpha[detected == 0] == 0)
    taken = np.nonzero(alpha[100] >= 0.5)[0]
    assert abs(int(taken[0]) - 144) <= 2 and abs(int(taken[-1]) - 155) <= 2, taken
    assert float(alpha[:, 146:154].min()) == 1.0  # the stroke itself is taken whole
    # the same stroke on a busy original (texture at the edit's own scale, which the edit carries too)
    for strength in (0.04, 0.12):  # L* spread about 4 and 12 (yarn, brushed metal; foliage)
        texture = np.random.default_rng(0).normal(0, strength, small_wall.shape[:2] + (1,)).astype(np.float32)
        small_busy, small_edit = np.clip(small_wall + texture, 0, 1), np.clip(small_truth + texture, 0, 1)
        busy = up(lightness_spread(small_busy))
        if strength < 0.1:  # the stroke is ~12 x the texture's spread: refined like on the wall, within the edge rule's
            near = np.where(np.abs(np.arange(W) - 149.5) < 6 + EDGE_RADIUS * k, detected, 0.0)  # reach (detection's
            busy_alpha = edge_alpha(near, up(small_edit), up(small_busy), busy, float(k))  # spread_weight cuts the rest)
            taken = np.nonzero(busy_alpha[100] >= 0.5)[0]
            assert abs(int(taken[0]) - 144) <= 2 and abs(int(taken[-1]) - 155) <= 2, taken
        fill_alpha = edge_alpha(detected.copy(), up(small_wall), up(small_busy), busy, float(k))  # the texture inpainted away
        assert float(np.abs(fill_alpha - detected).max()) < 0.05, strength


def test_edge_alpha_puts_a_moderate_recolour_edge_at_its_half_maximum_too():
    """A band recoloured by ~10 ΔE76 (a tint, not a dark stroke): resampled back from a fifth of the size its
    difference spreads ~10 px out, where the floor (below 2 ΔE76) does not yet cut; the edge rule, acting from a peak
    of 4 ΔE76, puts the edge at half maximum, so alpha >= 0.5 is the band give or take two pixels, not its blur."""
    import cv2

    from tilestitch.diffmerge.composite import edge_alpha, lightness_spread

    H, W, k = 200, 300, 5
    wall = np.full((H, W, 3), 0.55, np.float32)
    truth = wall.copy()
    truth[:, 130:170] = (0.60, 0.52, 0.47)  # a warmer tint of the same grey
    lab = rgb_to_lab(np.stack([wall[0, 0], truth[0, 150]])[None], dim=-1)[0]
    assert 8.0 < float(np.linalg.norm(lab[1] - lab[0])) < 12.0
    small_truth = cv2.resize(truth, (W // k, H // k), interpolation=cv2.INTER_AREA)
    small_wall = cv2.resize(wall, (W // k, H // k), interpolation=cv2.INTER_AREA)
    up = lambda x: cv2.resize(x, (W, H), interpolation=cv2.INTER_LANCZOS4)  # noqa: E731
    detected = np.zeros((H, W), np.float32)
    detected[:, 118:183] = 1.0  # the band plus the detection's spread
    alpha = edge_alpha(detected.copy(), up(small_truth), up(small_wall), up(lightness_spread(small_wall)), float(k))
    taken = np.nonzero(alpha[100] >= 0.5)[0]
    assert abs(int(taken[0]) - 130) <= 2 and abs(int(taken[-1]) - 169) <= 2, taken
    assert float(alpha[:, 134:166].min()) == 1.0


def test_the_texture_floor_keeps_re_drawn_texture_beside_a_stroke_but_not_the_inside_of_a_fill_over_texture():
    """A dark stroke on a textured original, the edit re-drawing that texture (its contrast 15 % lower, 15 % of it new),
    the detection's alpha spread 2.5 edit px beyond the stroke: the edge rule alone keeps a band of re-drawn texture
    beyond its reach; with the texture floor alpha >= 0.5 is the stroke give or take 2 px. Where the edit inpainted a
    dark blob and the texture around it away (smooth over busy), the floor does not act: alpha is what the edge rule
    alone gives."""
    import cv2

    from tilestitch.diffmerge.composite import edge_alpha, lightness_spread, redrawn_texture_weight

    H, W, k = 200, 300, 5
    h, w = H // k, W // k
    rng = np.random.default_rng(1)
    grain = lambda: cv2.GaussianBlur(rng.normal(0, 0.06, (h, w)).astype(np.float32), (0, 0), 0.7)[..., None]  # noqa: E731
    texture = grain()
    small_orig = np.clip(0.75 + texture, 0, 1).repeat(3, -1)
    small_edit = np.clip(0.75 + 0.85 * texture + 0.15 * grain(), 0, 1).repeat(3, -1)  # the texture re-drawn
    small_edit[:, 29:31] = 0.15  # the stroke, 10 original px wide at 145-155
    up = lambda x: cv2.resize(x, (W, H), interpolation=cv2.INTER_LANCZOS4)  # noqa: E731
    detected = np.zeros((H, W), np.float32)
    detected[:, 132:168] = 1.0
    busy = lightness_spread(small_orig)
    weight = redrawn_texture_weight(rgb_to_lab(small_orig, dim=-1), rgb_to_lab(small_edit, dim=-1), busy)
    args = (up(small_edit), up(small_orig), up(busy), float(k))
    alone = edge_alpha(detected.copy(), *args)
    floored = edge_alpha(detected.copy(), *args, texture=up(weight))
    assert np.all(floored <= alone)
    x = np.arange(W)
    band = (np.abs(x - 149.5) > 7.5) & (x >= 132) & (x < 168)  # beside the stroke, inside the detected alpha
    assert float((alone[:, band] >= 0.5).mean()) > 0.15  # beyond the edge rule's reach the re-drawn texture is taken
    assert float((floored[:, band] >= 0.5).mean()) < 0.03
    assert float((floored[:, 147:153] >= 0.5).mean()) > 0.97  # the stroke itself is kept
    # a dark blob and its textured surround inpainted away: the edit is smooth where the original is busy
    small_blob = small_orig.copy()
    small_blob[16:24, 26:34] = 0.15
    smooth = np.full_like(small_orig, 0.75)
    busy_blob = lightness_spread(small_blob)
    fill_weight = redrawn_texture_weight(rgb_to_lab(small_blob, dim=-1), rgb_to_lab(smooth, dim=-1), busy_blob)
    assert float(fill_weight.max()) < 0.05
    fill_args = (up(smooth), up(small_blob), up(busy_blob), float(k))
    patch_alpha = np.ones((H, W), np.float32)
    assert float(np.abs(edge_alpha(patch_alpha.copy(), *fill_args, texture=up(fill_weight))
                        - edge_alpha(patch_alpha.copy(), *fill_args)).max()) < 0.05


def test_add_detail_carries_the_originals_fine_detail_into_a_tone_change_and_nothing_where_the_weight_is_0(parrots):
    """A darkening of a real photo, the edit a quarter of its size: the edit resampled back is blurred (it lost the
    photo's fine detail); with the original's detail added the patch is several times closer to the full-resolution
    truth. Weight 0 leaves the patch as it was; row strips give what one pass gives."""
    import cv2

    from tilestitch.diffmerge.composite import add_detail, detail_weight, full_to_small, warp_region

    original = np.ascontiguousarray(parrots[..., :3])
    H, W = original.shape[:2]
    truth = original * 0.85  # a darkening: colour and tone over the same structure
    small = np.ascontiguousarray(resize_hwc(original, H // 4, W // 4, "area"))
    small_edit = np.ascontiguousarray(resize_hwc(truth, H // 4, W // 4, "area"))
    f2s = full_to_small(0.25, 0.25)
    patch = warp_region(small_edit, f2s, H, W, cv2.INTER_LANCZOS4)
    before = float(np.abs(patch - truth).mean())
    kept = patch.copy()
    add_detail(kept, original, small, np.ones(small.shape[:2], np.float32), f2s)
    assert float(np.abs(kept - truth).mean()) < before / 3
    untouched = patch.copy()
    add_detail(untouched, original, small, np.zeros(small.shape[:2], np.float32), f2s)
    assert np.array_equal(untouched, patch)
    weight = np.random.default_rng(0).random(small.shape[:2]).astype(np.float32)
    whole, strips = patch.copy(), patch.copy()
    add_detail(whole, original, small, weight, f2s, rows=H)
    add_detail(strips, original, small, weight, f2s, rows=37)
    assert float(np.abs(whole - strips).max()) < 1e-5
    # the weight: 1 where the structure evidence stays at the noise's level, 0 within 2 px of where it stands out
    structure = np.zeros((40, 60), np.float32)
    structure[20, 30] = 5.0
    w = detail_weight(structure)
    assert w[0, 0] == 1.0 and w[20, 30] == 0.0 and w[20, 32] == 0.0 and w[20, 34] == 1.0


def test_keep_detail_brings_a_darkening_on_texture_closer_to_the_truth_and_changes_nothing_else():
    """A soft darkening of embroidery threads, rendered the way Kontext returns it: with the original's detail kept
    (the default) the merged threads are closer to the full-resolution truth than the 1 MP edit's blur; what is taken
    (the alpha) and every untouched pixel are the same either way."""
    from tilestitch.diffmerge.realistic import kontext_like_edit

    photo = np.ascontiguousarray(load_photo("fabric", 2400)[0].numpy())
    edit = kontext_like_edit(photo, "darken_metal", seed=6)
    kept = diff_merge(photo, edit.edited)
    blurred = diff_merge(photo, edit.edited, keep_detail=False)
    assert np.array_equal(kept.mask, blurred.mask)
    untouched = kept.mask == 0
    assert np.array_equal(kept.image[untouched], photo[untouched]) and np.array_equal(blurred.image[untouched], photo[untouched])
    inside = edit.changed
    assert mean_delta_e(kept.image, edit.truth, inside) < 0.8 * mean_delta_e(blurred.image, edit.truth, inside)


def test_the_edge_alpha_in_row_strips_equals_one_pass_over_the_region(parrots):
    """Strips keep the temporaries at a strip's size; each carries a halo as deep as the blur and the peak reach, so the
    strips give what one pass gives (up to resampling round-off)."""
    import cv2

    from tilestitch.diffmerge.composite import edge_alpha, full_to_small, lightness_spread, limit_alpha, warp_region

    small = np.ascontiguousarray(resize_hwc(parrots, parrots.shape[0] // 4, parrots.shape[1] // 4, "area"))
    edit = small.copy()
    edit[40:60, 30:150] = (0.9, 0.1, 0.1)  # a red bar: strong edges for the edge rule
    busy = lightness_spread(small)
    f2s = full_to_small(0.25, 0.25, 8, 12)
    h, w = parrots.shape[0] - 16, parrots.shape[1] - 24
    patch = warp_region(edit, f2s, h, w, cv2.INTER_LANCZOS4)
    alpha = np.random.default_rng(0).random((h, w)).astype(np.float32)
    whole = edge_alpha(alpha.copy(), patch, warp_region(small, f2s, h, w, cv2.INTER_LANCZOS4),
                       warp_region(busy, f2s, h, w, cv2.INTER_LINEAR), 4.0)
    assert float(np.abs(whole - alpha).max()) > 0.5  # the limit does act here
    for rows in (37, 128):
        strips = alpha.copy()
        limit_alpha(strips, patch, small, busy, f2s, 4.0, rows=rows)
        assert float(np.abs(strips - whole).max()) < 1e-3, rows


def test_blend_into_writes_only_where_alpha_is_above_0_with_numpys_arithmetic():
    """The float32 kernel: a strided window of the output, pixels with alpha 0 left bit for bit (NaN, inf and -0.0
    included, which a dense lerp would change), the others equal to numpy's ``base + a * (edit - base)``."""
    from tilestitch.diffmerge.composite import blend_into

    rng = np.random.default_rng(3)
    out = rng.random((40, 50, 4), dtype=np.float32)
    out[5, 7, :3], out[6, 8, :3], out[7, 9, :3] = np.nan, np.inf, -0.0
    edit = rng.random((20, 30, 3), dtype=np.float32)
    alpha = rng.random((20, 30), dtype=np.float32)
    alpha[alpha < 0.4] = 0.0
    alpha[0:3, 0:3] = 0.0  # the three special pixels (rows 5-7, columns 7-9) sit there
    before = out.copy()
    blend_into(out, (5, 25, 7, 37), edit, alpha)
    view, base = out[5:25, 7:37, :3], before[5:25, 7:37, :3]
    hit = alpha > 0
    assert np.array_equal(view[~hit].view(np.uint32), base[~hit].view(np.uint32))
    assert np.array_equal(view[hit], base[hit] + alpha[hit][:, None] * (edit[hit] - base[hit]))
    outside = np.ones(out.shape[:2], bool)
    outside[5:25, 7:37] = False
    assert np.array_equal(out[outside].view(np.uint32), before[outside].view(np.uint32))
    assert np.array_equal(out[..., 3], before[..., 3])  # the original's alpha channel
    assert hit.sum() > 300 and np.abs(view[hit] - base[hit]).max() > 0.1  # it did blend


def test_detail_carried_in_the_edge_alpha_pass_equals_adding_it_after(parrots):
    """``limit_alpha`` with ``original`` and ``detail`` shares its resampled original with ``add_detail``: the alpha is
    the same as without them and the patch the same as ``add_detail`` after it (up to resampling round-off), also when
    a strip is shallower than the halo (the detail then waits for several strips)."""
    import cv2

    from tilestitch.diffmerge.composite import add_detail, full_to_small, lightness_spread, limit_alpha, warp_region

    small = np.ascontiguousarray(resize_hwc(parrots, parrots.shape[0] // 4, parrots.shape[1] // 4, "area"))
    edit = small * 0.8
    edit[40:60, 30:150] = (0.9, 0.1, 0.1)
    busy = lightness_spread(small)
    weight = np.zeros(small.shape[:2], np.float32)
    weight[:, : small.shape[1] // 2] = 1.0  # detail carried on the left half only
    f2s = full_to_small(0.25, 0.25, 8, 12)
    h, w = parrots.shape[0] - 16, parrots.shape[1] - 24
    region = np.ascontiguousarray(parrots[8 : 8 + h, 12 : 12 + w])
    patch = warp_region(edit, f2s, h, w, cv2.INTER_LANCZOS4)
    alpha = np.random.default_rng(0).random((h, w)).astype(np.float32)
    want_alpha, want_patch = alpha.copy(), patch.copy()
    limit_alpha(want_alpha, want_patch, small, busy, f2s, 4.0)
    add_detail(want_patch, region, small, weight, f2s)
    assert float(np.abs(want_patch - patch).max()) > 0.05  # the detail does change the patch
    for rows in (512, 37, 10):  # the halo is 16 rows here
        got_alpha, got_patch = alpha.copy(), patch.copy()
        limit_alpha(got_alpha, got_patch, small, busy, f2s, 4.0, rows=rows, original=region, detail=weight)
        assert float(np.abs(got_alpha - want_alpha).max()) < 1e-3, rows
        assert float(np.abs(got_patch - want_patch).max()) < 1e-5, rows
