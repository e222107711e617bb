"""Seam metrics: z-score and strip colour difference respond to steps, not to photos."""

import torch

from tilestitch.imaging.color import ciede2000, rgb_to_lab
from tilestitch.qa.seam_metrics import seam_scores
from tilestitch.tiling import plan_by_tile_size

from support import load_photo


def test_a_level_step_at_the_cut_raises_z_in_proportion_and_only_there():
    img = load_photo("bokeh", max_side=2048)[0]  # smooth aquarium bokeh
    plan = plan_by_tile_size(img.shape[0], img.shape[1], 1024, 1024, 128, 8)
    base = [s.z for s in seam_scores(img, plan)]
    for i, seam in enumerate(plan.seams):
        if seam.axis != 1:
            continue
        dz = []
        for k in (1, 2):
            stepped = img.clone()
            stepped[seam.span[0] : seam.span[1], seam.position :] += k / 255  # right side k/255 brighter
            z = [s.z for s in seam_scores(stepped, plan)]
            dz.append(z[i] - base[i])
            others = [abs(z[j] - base[j]) for j, o in enumerate(plan.seams) if o.axis == 1 and o.position != seam.position]
            assert max(others) < 0.05  # seams elsewhere did not move
        assert dz[0] > 0.35 and dz[1] > 0.8, dz  # about z 0.5-1.2 per 1/255 step on smooth photos
        assert 1.6 < dz[1] / dz[0] < 2.4, dz  # proportional to the step


def test_strip_delta_e_measures_the_jump_against_a_reference():
    img = load_photo("child", max_side=1024)[0]
    plan = plan_by_tile_size(img.shape[0], img.shape[1], 512, 512, 96, 8)
    assert max(s.delta_e for s in seam_scores(img, plan, reference=img)) < 1e-3
    seam = next(s for s in plan.seams if s.axis == 1)
    shifted = img.clone()
    shifted[:, seam.overlap[1] :] *= torch.tensor([1.04, 1.0, 0.97])  # warm the right side
    de = {s.index: s.delta_e for s in seam_scores(shifted, plan, reference=img)}
    i = plan.seams.index(seam)
    lab = rgb_to_lab(img[:, seam.overlap[1] : seam.overlap[1] + 8].permute(2, 0, 1)[None])
    lab2 = rgb_to_lab(shifted[:, seam.overlap[1] : seam.overlap[1] + 8].permute(2, 0, 1)[None])
    expected = float(ciede2000(lab.mean(dim=(2, 3)), lab2.mean(dim=(2, 3)), dim=1))
    assert abs(de[i] - expected) < 0.3 and de[i] > 1.0


def test_plans_are_scaled_to_the_merged_image():
    plan = plan_by_tile_size(512, 768, 256, 256, 32, 8)
    up = plan.for_image_size(2048, 3072)
    assert up.seams[0].position == 4 * plan.seams[0].position
    img = torch.rand(2048, 3072, 3)
    assert len(seam_scores(img, plan)) == len(plan.seams)
