"""Per-tile conditioning: spatial tensors cropped, batch tensors untouched, references and ControlNets per tile."""

import pytest
import torch

from tilestitch.tiling.cond_tiling import ControlTiler, needs_single_tiles, stack_spatial, tile_conds
from tilestitch.tiling.denoise import latent_plan

H, W, B = 48, 64, 2


class Cond:
    """Stands in for comfy.conds.CONDRegular / CONDList: a ``cond`` payload and ``_copy_with``."""

    def __init__(self, cond):
        self.cond = cond

    def _copy_with(self, cond):
        return Cond(cond)


class Control:
    """Stands in for a ComfyUI ControlNet: copy(), a previous link, the original hint."""

    compression_ratio = 8
    upscale_algorithm = "nearest-exact"

    def __init__(self, hint, previous=None):
        self.cond_hint_original = hint
        self.previous_controlnet = previous
        self.extra_concat_orig = []
        self.timestep_range = (1.0, 0.0)

    def copy(self):
        c = Control(self.cond_hint_original)
        c.extra_concat_orig = list(self.extra_concat_orig)
        return c

    def set_previous_controlnet(self, previous):
        self.previous_controlnet = previous


def conform(image, width, height, method):
    return torch.nn.functional.interpolate(image, size=(height, width), mode="nearest")


@pytest.fixture
def plan():
    return latent_plan(H, W, 32, 32, 8, 2, B)


def test_spatial_tensors_are_cropped_tile_major_and_batch_tensors_kept(plan):
    concat = torch.randn(B, 4, H, W)
    mask8 = torch.rand(1, 1, H * 8, W * 8)  # a pixel-space inpaint mask, repeated to the batch
    cross = torch.randn(B, 77, 16)
    guidance = torch.full((B,), 3.5)
    cond = [{"model_conds": {"c_concat": Cond(concat), "denoise_mask": Cond(mask8), "c_crossattn": Cond(cross), "guidance": Cond(guidance)}}]
    tiles = list(plan.tiles[1:3])
    (out,) = tile_conds([cond], tiles, H, W, B)
    mc = out[0]["model_conds"]
    assert mc["c_crossattn"] is cond[0]["model_conds"]["c_crossattn"] and mc["guidance"] is cond[0]["model_conds"]["guidance"]
    got = mc["c_concat"].cond
    assert got.shape == (len(tiles) * B, 4, 32, 32)
    for i, t in enumerate(tiles):
        assert torch.equal(got[i * B : (i + 1) * B], concat[:, :, t.y : t.y + 32, t.x : t.x + 32])
        m = mc["denoise_mask"].cond[i * B : (i + 1) * B]
        assert torch.equal(m, mask8.expand(B, -1, -1, -1)[..., t.y * 8 : (t.y + 32) * 8, t.x * 8 : (t.x + 32) * 8])
    assert cond[0]["model_conds"]["c_concat"].cond is concat  # the input is not changed


def test_reference_latents_cropped_when_same_size_else_whole(plan):
    same = torch.randn(1, 16, H, W)
    other = torch.randn(1, 16, 32, 40)
    cond = [{"model_conds": {"ref_latents": Cond([same, other])}}]
    tiles = [plan.tiles[0], plan.tiles[-1]]
    refs = tile_conds([cond], tiles, H, W, B)[0][0]["model_conds"]["ref_latents"].cond
    assert refs[1] is other
    assert refs[0].shape == (len(tiles) * B, 16, 32, 32)
    t = tiles[1]
    assert torch.equal(refs[0][B], same[0, :, t.y : t.y + 32, t.x : t.x + 32])
    whole = tile_conds([cond], tiles, H, W, B, crop_references=False)[0][0]["model_conds"]["ref_latents"]
    assert whole is cond[0]["model_conds"]["ref_latents"]


def test_area_conditioning_moves_into_the_tile_and_skips_tiles_it_misses(plan):
    cond = [{"area": (8, 8, 0, 0), "strength": 1.0}, {"strength": 1.0}]
    assert needs_single_tiles([cond, None])
    first, last = plan.tiles[0], plan.tiles[-1]
    assert tile_conds([cond], [first], H, W, B)[0][0]["area"] == (8, 8, 0, 0)
    assert len(tile_conds([cond], [last], H, W, B)[0]) == 1  # the area misses the last tile
    with pytest.raises(ValueError, match="one tile per model call"):
        tile_conds([cond], [first, last], H, W, B)
    assert tile_conds([None], [first], H, W, B) == [None]


def test_controlnet_hint_is_cropped_per_tile_along_the_chain_and_cached(plan):
    hint = torch.rand(1, 3, H * 8, W * 8)
    first = Control(hint)
    second = Control(hint.flip(-1), previous=first)
    tiler = ControlTiler(conform)
    tiles = list(plan.tiles[:2])
    out = tile_conds([[{"control": second}]], tiles, H, W, B, control_tiler=tiler)[0][0]["control"]
    assert out is not second and second.cond_hint_original is not out.cond_hint_original
    for i, t in enumerate(tiles):
        crop = out.cond_hint_original[i * B]
        assert torch.equal(crop, hint.flip(-1)[0, :, t.y * 8 : (t.y + 32) * 8, t.x * 8 : (t.x + 32) * 8])
        assert torch.equal(out.previous_controlnet.cond_hint_original[i * B], hint[0, :, t.y * 8 : (t.y + 32) * 8, t.x * 8 : (t.x + 32) * 8])
    assert out.timestep_range == second.timestep_range
    again = tile_conds([[{"control": second}]], tiles, H, W, B, control_tiler=tiler)[0][0]["control"]
    assert again is out
    tiler.clear()
    assert tile_conds([[{"control": second}]], tiles, H, W, B, control_tiler=tiler)[0][0]["control"] is not out


def test_stack_spatial_rejects_other_layouts():
    assert stack_spatial(torch.randn(B, 77, 16), [], H, W, B) is None
    assert stack_spatial(torch.randn(B, 4, H + 1, W), [], H, W, B) is None
    assert stack_spatial(torch.randn(B, 4, H * 2, W * 3), [], H, W, B) is None
