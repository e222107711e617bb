"""Every node against bad input, as a careless user or a broken upstream node would give it.

Each node gets valid inputs (small, real shapes); then, one input at a time,
each variant of its type replaces it: empty and degenerate sizes, NaN and
Inf, other channel counts, a batch that does not match, the wrong Python
type, a plan from another image, a latent plan where a pixel plan belongs
(and the reverse). A case passes when the node either runs (outputs checked:
no NaN / Inf, nothing empty) or raises a ValueError whose message names the
input. Anything else — a TypeError, a ZeroDivisionError, a RuntimeError from
inside torch, an unnamed message, NaN in an output — is a *deep traceback*,
and there must be none. ``test_matrix_totals`` prints the counts.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from typing import Any, Callable, Dict, List, Tuple

import pytest
import torch

import tilestitch
from tilestitch.correct.global_context import build_context
from tilestitch.tiling import TilePlan, extract_tiles, plan_tiles
from tilestitch.nodes.correct import FrequencySplit
from tilestitch.nodes.loop import TileLoopStart
from tilestitch.nodes.seam_tiles import LatentSeamTiles, SeamTiles

from fakes import FakeCLIP, FakeModel, FakeUpscaleModel, FakeVAE, install_folder_paths, install_patcher_extension

H, W = 64, 96
PLAN_WIDGETS = dict(mode="tile_size", tile_width=32, tile_height=32, overlap=8, rows=2, cols=2, max_megapixels=1.0, align=8)
LATENT_WIDGETS = dict(mode="tile_size", tile_width=8, tile_height=8, overlap=2, rows=2, cols=2, max_megapixels=1.0, align=2)
RESULTS: Dict[str, Counter] = {}
DEEP: List[str] = []


def image(h=H, w=W, c=3, b=1, seed=0) -> torch.Tensor:
    return torch.rand(b, h, w, c, generator=torch.Generator().manual_seed(seed))


def with_value(t: torch.Tensor, value: float) -> torch.Tensor:
    t = t.clone()
    t.view(-1)[t.numel() // 2] = value
    return t


PIXEL_PLAN = plan_tiles(H, W, tile_height=32, tile_width=32, overlap=8, align=8)
LATENT_PLAN = plan_tiles(H // 8, W // 8, tile_height=8, tile_width=8, overlap=2, align=2)
OTHER_PLAN = plan_tiles(H + 40, W + 24, tile_height=32, tile_width=32, overlap=8, align=8)


def image_variants(valid: torch.Tensor) -> Dict[str, Any]:
    b, h, w, c = valid.shape
    return {
        "0-size": torch.zeros(b, 0, w, c), "1x1": torch.rand(b, 1, 1, c), "1xN": torch.rand(b, 1, 37, c),
        "NaN": with_value(valid, float("nan")), "Inf": with_value(valid, float("inf")),
        "1 channel": valid[..., :1].contiguous(), "2 channels": valid[..., :1].repeat(1, 1, 1, 2),
        "4 channels": torch.cat([valid[..., :3], torch.ones_like(valid[..., :1])], -1),
        "batch mismatch": valid.repeat(3, 1, 1, 1), "int tensor": (valid * 255).to(torch.uint8),
        "wrong type str": "image.png", "wrong type dict": {"samples": valid},
    }


def mask_variants(valid: torch.Tensor) -> Dict[str, Any]:
    b, h, w = valid.shape
    return {
        "0-size": torch.zeros(b, 0, w), "1x1": torch.rand(b, 1, 1), "NaN": with_value(valid, float("nan")),
        "Inf": with_value(valid, float("inf")), "batch mismatch": valid.repeat(3, 1, 1), "wrong type": "mask",
        "5-D": valid[None, None],
    }


def latent_variants(valid: dict) -> Dict[str, Any]:
    s = valid["samples"]
    return {
        "0-size": {"samples": torch.zeros(s.shape[0], s.shape[1], 0, s.shape[3])},
        "0 channels": {"samples": torch.zeros(s.shape[0], 0, s.shape[2], s.shape[3])},
        "1x1": {"samples": torch.randn(s.shape[0], s.shape[1], 1, 1)}, "NaN": {"samples": with_value(s, float("nan"))},
        "3-D samples": {"samples": s[0]}, "bare tensor": s, "wrong type": "latent",
    }


def plan_variants(valid: TilePlan) -> Dict[str, Any]:
    out = {"wrong type str": valid.to_json(), "wrong type dict": valid.to_dict(), "plan of another image": OTHER_PLAN}
    if valid.height == H:
        out["latent plan into a pixel node"] = LATENT_PLAN
    else:
        out["pixel plan into a latent node"] = PIXEL_PLAN
    return out


def object_variants(kind: str) -> Dict[str, Any]:
    return {"wrong type str": f"not a {kind}", "wrong type tensor": torch.zeros(1, 3, 8, 8), "None": None}


def context_variants(valid) -> Dict[str, Any]:
    return {**object_variants("context"), "context of another image": build_context(image(H + 40, W + 24), 64)}


VARIANTS: Dict[str, Callable[[Any], Dict[str, Any]]] = {
    "IMAGE": image_variants, "MASK": mask_variants, "LATENT": latent_variants, "TILE_PLAN": plan_variants,
    "GLOBAL_CONTEXT": context_variants, "SEAM_TILE_PLAN": lambda valid: object_variants("seam plan"),
    "FREQUENCY_BANDS": lambda valid: object_variants("bands"), "TILE_LOOP": lambda valid: object_variants("loop"),
}


def valid_inputs(name: str, env) -> Dict[str, Any]:
    """Working inputs for node ``name`` (all required, the optional ones that have a type)."""
    img = image()
    tiles = extract_tiles(img, PIXEL_PLAN)
    masks = extract_tiles(torch.rand(1, H, W), PIXEL_PLAN, layout=tilestitch.tiling.MASK)
    latent = {"samples": torch.randn(1, 4, H // 8, W // 8)}
    context = build_context(img, 64)
    merged = img
    seam_widgets = dict(mode="bands", zone_width=8, tile_width=16, tile_height=16, overlap=4)
    seam_tiles, seam_plan, _, _ = SeamTiles().split(img, PIXEL_PLAN, **seam_widgets)
    bands = FrequencySplit().split(img, 2)[0]
    loop_widgets = dict(order="serpentine", band=8, keep_finished=False, base_prompt="b", prompts="a")
    loop_state, loop_tile = TileLoopStart().start(img, PIXEL_PLAN, **loop_widgets)[:2]
    latent_seam = dict(mode="bands", zone_width=4, tile_width=6, tile_height=6, overlap=2)
    latent_seam_tiles, latent_seam_plan, _, _ = LatentSeamTiles().split(latent, LATENT_PLAN, **latent_seam)
    return {
        "TileStitchTilePromptEncode": dict(clip=FakeCLIP(), prompt="w1 w2"),
        "TileStitchTilePromptsFromList": dict(captions=["a red clasp", None, "a\nstone"]),
        "TileStitchTilePlan": dict(image=image(64, 96), mode="tile_size", tile_width=48, tile_height=48, overlap=8, rows=2, cols=2,
                                   max_megapixels=1.0, align=8),
        "TileStitchTileTextEncode": dict(clip=FakeCLIP(), base_prompt="b", prompts="w1 w2\n\n{base} w3"),
        "TileStitchTileLoopStart": dict(image=img, plan=PIXEL_PLAN, **loop_widgets),
        "TileStitchSeamLoopStart": dict(image=merged, seam_plan=seam_plan, **loop_widgets),
        "TileStitchTileLoopEnd": dict(loop=copy.deepcopy(loop_state), tile=loop_tile),
        "TileStitchLatentSeamTiles": dict(samples=latent, plan=LATENT_PLAN, **latent_seam),
        "TileStitchLatentSeamTilesMerge": dict(samples=latent, tiles=latent_seam_tiles, seam_plan=latent_seam_plan),
        "TileStitchFrequencySplit": dict(image=img, bands=2),
        "TileStitchFrequencyBand": dict(bands=bands, index=0, offset=0.5),
        "TileStitchFrequencyBandReplace": dict(bands=bands, band=img, index=-1, offset=0.0),
        "TileStitchFrequencyJoin": dict(bands=bands),
        "TileStitchBandMerge": dict(original=img, edit=image(32, 48, seed=3), edit_weights="0, 0.5, 1", mask=torch.rand(1, H, W)),
        "TileStitchDetailEnergy": dict(image=img, bands=2, sigma=4.0),
        "TileStitchSeamTiles": dict(image=img, plan=PIXEL_PLAN, **seam_widgets),
        "TileStitchSeamTilesList": dict(image=img, plan=PIXEL_PLAN, **seam_widgets),
        "TileStitchSeamTilesMerge": dict(image=img, tiles=seam_tiles, seam_plan=seam_plan),
        "TileStitchSeamTilesMergeList": dict(image=[img], tiles=[seam_tiles[k : k + 1] for k in range(seam_plan.count)],
                                             seam_plan=[seam_plan]),
        "TileStitchSplit": dict(image=img, mask=torch.rand(1, H, W), **PLAN_WIDGETS),
        "TileStitchSplitList": dict(image=img, mask=torch.rand(1, H, W), **PLAN_WIDGETS),
        "TileStitchSplitAroundMask": dict(image=img, mask=(torch.rand(1, H, W) > 0.9).float(), tile_width=32, tile_height=32,
                                          overlap=8, align=8, threshold=0.5, extra_tiles=1),
        "TileStitchMerge": dict(tiles=tiles, plan=PIXEL_PLAN, blend="poisson", mask_tiles=masks),
        "TileStitchMergeList": dict(tiles=[tiles[k : k + 1] for k in range(PIXEL_PLAN.count)], plan=[PIXEL_PLAN], blend=["multiband"],
                                    mask_tiles=[masks[k : k + 1] for k in range(PIXEL_PLAN.count)]),
        "TileStitchPlanInfo": dict(plan=PIXEL_PLAN),
        "TileStitchSeamMerge": dict(tiles=tiles, plan=PIXEL_PLAN, method="poisson", seam="optimal", band_half_width=0,
                                    protect_mask=torch.rand(1, H, W), mask_tiles=masks),
        "TileStitchLatentSplit": dict(samples=latent, **LATENT_WIDGETS),
        "TileStitchLatentMerge": dict(tiles={"samples": extract_tiles(latent["samples"], LATENT_PLAN, layout=tilestitch.tiling.LATENT)},
                                      plan=LATENT_PLAN, blend="cosine"),
        "TileStitchTiledDenoise": dict(model=FakeModel(), tile_width=8, tile_height=8, overlap=2, tile_batch_size=2, blend="cosine",
                                       shift=False, reference_latents="crop", edge_margin=0,
                                       context=context.with_latent(torch.randn(1, 16, 8, 12)), adain_strength=0.5, skip_residual=0.0),
        "TileStitchGlobalContext": dict(image=img, max_side=64, vae=FakeVAE()),
        "TileStitchColorCorrect": dict(tiles=tiles, plan=PIXEL_PLAN, context=context, method="joint_gain", strength=1.0),
        "TileStitchFrequencyMerge": dict(image=merged, reference=image(32, 48, seed=1), method="gaussian", wavelet="sym4", levels=0, strength=1.0),
        "TileStitchSolarPreview": dict(image=img, shape="sine", cycles=8, keep_colour=True),
        "TileStitchSeamReport": dict(image=merged, plan=PIXEL_PLAN, z_threshold=3.0, delta_e_threshold=2.0, worst_count=5, reference=img),
        "TileStitchMaskRefineMerge": dict(coarse_mask=torch.rand(1, 16, 24), mask_tiles=masks, plan=PIXEL_PLAN, band=8, low=0.05, high=0.95),
        "TileStitchDiffMerge": dict(original=img, edited=image(32, 48, seed=2), threshold=4.0, registration="affine", blend="poisson",
                                    feather=4.0, colour_match=True, dilate=1, min_area=0.0, include_mask=torch.zeros(1, 8, 12),
                                    protect_mask=torch.zeros(1, 8, 12)),
        "TileStitchTileSizeFromMemory": dict(upscale_model=FakeUpscaleModel(), device="cpu", safety_margin=0.25, max_tile=64, min_tile=8,
                                             align=8, max_batch=4, probe_size=16, image=img, overlap=8),
        "TileStitchTiledUpscaleStream": dict(image=img, upscale_model=FakeUpscaleModel(), **PLAN_WIDGETS, batch_size=2, blend="cosine",
                                             output_dtype="float32", device="cpu"),
        "TileStitchSaveImage16": dict(images=img, filename_prefix="bad/x", format="tiff16", compression=1, meta=None),
        "TileStitchSanaVAEEncode": dict(sana=env["sana"], image=image(32, 48), tiling="stream", tile_size=16, overlap=4, tile_batch_size=2),
        "TileStitchSanaVAEDecode": dict(sana=env["sana"], samples=env["sana_latent"], tiling="stream", tile_size=16, overlap=4,
                                        tile_batch_size=2),
        "TileStitchSanaTiledSampler": dict(sana=env["sana"], conditioning=env["sana_cond"], samples=env["sana_latent"], seed=0, steps=1,
                                           cfg=1.0, denoise=0.5, flow_shift=0.0, tile_size=8, overlap=2, tile_batch_size=2,
                                           blend="cosine", shift_tiles=True),
        "TileStitchSanaTextEncode": dict(sana=env["sana"], prompt="w1 w2", negative_prompt="", complex_instruction=False, max_tokens=8),
    }[name]


SKIP = {
    "TileStitchLoadImage16": "takes a file name, not data: tests/nodes/test_15k_nodes.py tries every bad path",
    "TileStitchSanaLoader": "takes a folder name: tests/nodes/test_sana_nodes.py tries a missing one",
}


def input_type(cls, name: str) -> str:
    spec = cls.INPUT_TYPES()
    for section in ("required", "optional"):
        if name in spec.get(section, {}):
            typ = spec[section][name][0]
            return typ if isinstance(typ, str) else "COMBO"
    raise KeyError(name)


def names_the_input(message: str, name: str) -> bool:
    words = {name, name.replace("_", " "), name.split("_")[0] if name.endswith("_mask") else name}
    if name == "plan":
        words |= {"tile plan", "TILE_PLAN"}
    return any(re.search(rf"(?<![a-z_]){re.escape(w)}(?![a-z_])", message, re.IGNORECASE) for w in words)


def outputs_ok(result) -> Tuple[bool, str]:
    for t in tensors_of(result):
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            return False, "NaN / Inf in an output"
    return True, ""


def run_case(cls, kwargs: dict, name: str, value, is_list: bool) -> Tuple[str, str]:
    args = dict(kwargs)
    if is_list:
        args[name] = value if isinstance(value, list) and name != "plan" else [value]
        if name in ("tiles", "mask_tiles") and not isinstance(value, list):
            args[name] = [value] + list(kwargs[name][1:])
    else:
        args[name] = value
    try:
        result = getattr(cls(), cls.FUNCTION)(**args)
    except ValueError as e:
        if names_the_input(str(e), name):
            return "clear error", str(e)
        return "deep", f"ValueError not naming {name!r}: {e}"
    except Exception as e:  # noqa: BLE001 - the point: anything else is a deep traceback
        return "deep", f"{type(e).__name__}: {e}"
    ok, why = outputs_ok(result)
    return ("ran", "") if ok else ("deep", why)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    pytest.importorskip("transformers")
    from tilestitch.nodes.sana import SanaTextEncode, SanaVAEEncode
    from tilestitch.sana import load_sana

    from tiny_sana import build_tiny_sana

    root = tmp_path_factory.mktemp("sana")
    sana = load_sana(build_tiny_sana(root / "Sana_tiny_diffusers"))
    (latent,) = SanaVAEEncode().encode(sana, image(32, 48), "stream", 16, 4, 2)
    (cond,) = SanaTextEncode().encode(sana, "w1", "", False, 4)
    return {"sana": sana, "sana_latent": latent, "sana_cond": cond}


@pytest.fixture
def comfy_like(tmp_path, monkeypatch):
    install_folder_paths(tmp_path, monkeypatch)
    install_patcher_extension(monkeypatch)


NODES = [n for n in tilestitch.NODE_CLASS_MAPPINGS if n not in SKIP]


@pytest.mark.parametrize("node", NODES)
def test_bad_inputs_never_give_a_deep_traceback(node, env, comfy_like):
    cls = tilestitch.NODE_CLASS_MAPPINGS[node]
    kwargs = valid_inputs(node, env)
    is_list = bool(getattr(cls, "INPUT_IS_LIST", False))
    counts = RESULTS.setdefault(node, Counter())
    outcome, why = run_case(cls, kwargs, next(iter(kwargs)), kwargs[next(iter(kwargs))], False)
    assert outcome == "ran", f"{node} fails on its valid inputs: {why}"
    for name, valid in kwargs.items():
        typ = input_type(cls, name)
        if is_list and name in ("plan", "blend"):
            valid = valid[0]
        elif is_list and isinstance(valid, list):
            valid = valid[0]
        if typ in VARIANTS:
            cases = VARIANTS[typ](valid)
        elif typ in ("UPSCALE_MODEL", "MODEL", "VAE", "SANA_MODEL", "SANA_CONDITIONING", "IMAGE_META"):
            cases = object_variants(typ.lower())
            if name in ("vae", "meta", "context"):  # optional: None means "not connected", which must run
                cases.pop("None")
        else:
            continue
        for variant, value in cases.items():
            outcome, why = run_case(cls, kwargs, name, value, is_list)
            counts[outcome] += 1
            if outcome == "deep":
                DEEP.append(f"{node}.{name} [{variant}]: {why[:300]}")
    mine = [d for d in DEEP if d.startswith(node + ".")]
    assert not mine, "\n".join(mine)


def test_matrix_totals(capsys):
    total = sum(RESULTS.values(), Counter())
    if not RESULTS:
        pytest.skip("the matrix did not run")
    with capsys.disabled():
        print(f"\nbad-input matrix: {sum(total.values())} cases over {len(RESULTS)} nodes: "
              f"{total['ran']} ran correctly, {total['clear error']} clear errors, {total['deep']} deep tracebacks")
    assert total["deep"] == 0


def strided(t: torch.Tensor) -> torch.Tensor:
    """The same values in a non-contiguous tensor: every dimension strided by 2 (a slice of a bigger buffer)."""
    return torch.stack([t, torch.zeros_like(t)], -1)[..., 0]


def channels_first_view(t: torch.Tensor) -> torch.Tensor:
    """The same IMAGE as core nodes hand it on after working channels-first (ImageScaleBy: ``movedim`` of a [B, C, H, W] result)."""
    return t.movedim(-1, 1).contiguous().movedim(1, -1) if t.ndim == 4 else strided(t)


def relayout(value, how):
    if isinstance(value, torch.Tensor):
        return how(value) if value.is_floating_point() and value.ndim >= 2 else value
    if isinstance(value, list):
        return [relayout(v, how) for v in value]
    if isinstance(value, dict) and "samples" in value:
        return {k: relayout(v, how) for k, v in value.items()}
    return value


def tensors_of(result) -> List[torch.Tensor]:
    if isinstance(result, dict) and "result" in result:
        result = result["result"]
    found = []

    def walk(x):
        if isinstance(x, torch.Tensor):
            found.append(x)
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)

    walk(result)
    return found


@pytest.mark.parametrize("layout", [strided, channels_first_view], ids=["strided", "channels-first view"])
@pytest.mark.parametrize("node", NODES)
def test_non_contiguous_inputs_give_the_same_result(node, layout, env, comfy_like):
    """Core nodes hand on views (ImageScaleBy's output is channels-first memory): every node must take them as they are."""
    cls = tilestitch.NODE_CLASS_MAPPINGS[node]
    kwargs = valid_inputs(node, env)
    torch.manual_seed(0)
    expected = tensors_of(getattr(cls(), cls.FUNCTION)(**kwargs))
    args = {k: relayout(v, layout) for k, v in kwargs.items()}
    assert any(isinstance(v, torch.Tensor) and not v.is_contiguous() for v in tensors_of(list(args.values()))) or node in (
        "TileStitchPlanInfo", "TileStitchTiledDenoise", "TileStitchSanaTextEncode", "TileStitchSanaTiledSampler",
        "TileStitchFrequencyBand", "TileStitchFrequencyJoin", "TileStitchTilePromptEncode",
        "TileStitchTileTextEncode", "TileStitchTilePromptsFromList"), node  # these take no tensor
    torch.manual_seed(0)
    got = tensors_of(getattr(cls(), cls.FUNCTION)(**args))
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert a.shape == b.shape and torch.allclose(a.float(), b.float(), atol=1e-5, rtol=0, equal_nan=True), node
