"""Memory, 16-bit I/O, object-aware split and mask refine nodes, called directly (no ComfyUI process)."""


import numpy as np
import pytest
import torch

from tilestitch.media import ImageMeta, read_image_meta, write_image
from tilestitch.nodes.media import LoadImage16, SaveImage16
from tilestitch.nodes.masks import MaskRefineMerge
from tilestitch.nodes.sizing import TileSizeFromMemory
from tilestitch.nodes.stream import TiledUpscaleStream
from tilestitch.nodes.tiles import TileMerge, TileSplit, TileSplitAroundMask
from tilestitch.tiling import extract_tiles
from tilestitch.tiling.sizing import cpu_peak_supported

from support import srgb_icc_profile

from fakes import FakeUpscaleModel, install_folder_paths

PLAN = dict(mode="tile_size", tile_width=96, tile_height=96, overlap=16, rows=2, cols=2, max_megapixels=1.0, align=8)


def test_tiled_upscale_stream_matches_the_untiled_model_away_from_nothing():
    img = torch.rand(1, 200, 260, 3)
    model = FakeUpscaleModel()
    out, plan = TiledUpscaleStream().upscale(img, model, **PLAN, batch_size=3, blend="cosine", output_dtype="float32", device="cpu")
    with torch.inference_mode():
        whole = torch.clamp(model(img.movedim(-1, 1)).movedim(1, -1), 0, 1)
    assert out.shape == (1, 400, 520, 3) and plan.count > 4
    # a 3x3 conv sees 1 px past each tile edge: only those pixels may differ, and the blend keeps them small
    assert (out - whole).abs().mean() < 1e-3
    tiles, plan2, _ = TileSplit().split(img, **PLAN)
    with torch.inference_mode():
        up = torch.clamp(model(tiles.movedim(-1, 1)).movedim(1, -1), 0, 1)
    merged, _ = TileMerge().merge(up, plan2, "cosine")
    assert (out - merged).abs().max() < 1e-5  # same result as Tile Split -> model -> Tile Merge
    half, _ = TiledUpscaleStream().upscale(img, model, **PLAN, batch_size=8, blend="cosine", output_dtype="float16", device="cpu")
    assert half.dtype == torch.float16 and (half.float() - out).abs().max() < 2e-3


def test_tile_size_from_memory_fits_the_budget_and_the_model_multiple(monkeypatch):
    ok, why = cpu_peak_supported()
    if not ok:
        pytest.skip(why)
    import tilestitch.nodes.sizing as sizing

    monkeypatch.setattr(sizing, "free_bytes", lambda device: 600 * 2 ** 20)
    tile, batch, report = TileSizeFromMemory().choose(FakeUpscaleModel(), "cpu", 0.25, 4096, 64, 6, 64, 64,
                                                       image=torch.rand(1, 3000, 3000, 3), overlap=64)
    assert tile % 12 == 0  # lcm(align 6, the model's multiple 4)
    assert 64 <= tile <= 4096 and 1 <= batch <= 64
    assert "predicted peak" in report and "Probes" in report
    monkeypatch.setattr(sizing, "free_bytes", lambda device: 2 ** 20)
    with pytest.raises(ValueError, match="not even"):
        TileSizeFromMemory().choose(FakeUpscaleModel(), "cpu", 0.25, 1024, 64, 8, 16, 64)
    with pytest.raises(ValueError, match="UPSCALE_MODEL"):
        TileSizeFromMemory().choose(object(), "cpu", 0.25, 1024, 64, 8, 16, 64)


def test_split_around_mask_node_keeps_the_object_whole_and_merges_back():
    img = torch.rand(1, 600, 900, 3)
    mask = torch.zeros(1, 300, 450)  # half size: resized to the image
    mask[:, 130:170, 205:245] = 1.0  # a 80 px object at the even grid's seam
    tiles, plan, mask_tiles, report = TileSplitAroundMask().split(img, mask, 256, 256, 32, 8, 0.5, 2)
    assert "1 of 1 objects clear of every blend band, 1 of 1 that fit a tile inside one" in report.splitlines()[1]
    merged, merged_mask = TileMerge().merge(tiles, plan, "cosine", mask_tiles)
    assert (merged - img).abs().max() < 1e-6 and merged_mask.shape == (1, 600, 900)


def test_mask_refine_node():
    truth = torch.zeros(1, 512, 768)
    truth[:, 100:400, 150:611] = 1.0
    coarse = torch.nn.functional.interpolate(truth[:, None], size=(64, 96), mode="area")[:, 0].round()
    tiles, plan, _ = TileSplit().split(torch.rand(1, 512, 768, 3), **{**PLAN, "tile_width": 256, "tile_height": 256})
    from tilestitch.tiling import MASK

    (out,) = MaskRefineMerge().merge(coarse, extract_tiles(truth, plan, MASK), plan, 24, 0.05, 0.95)
    assert out.shape == truth.shape and ((out > 0.5) == (truth > 0.5)).all()


@pytest.fixture
def comfy_folders(tmp_path, monkeypatch):
    return install_folder_paths(tmp_path, monkeypatch)


def test_load_process_save_16_bit_keeps_every_code_and_the_profile(comfy_folders):
    inp, outp = comfy_folders
    codes = (np.arange(256 * 384 * 4) * 40503 % 65536).astype(np.uint16).reshape(256, 384, 4)
    icc = srgb_icc_profile()
    write_image(str(inp / "ring.png"), (codes / 65535.0).astype(np.float32), ImageMeta(icc_profile=icc, dpi=(240.0, 240.0)), "png16")
    assert "ring.png" in LoadImage16.INPUT_TYPES()["required"]["image"][0]
    assert LoadImage16.VALIDATE_INPUTS("ring.png") is True and LoadImage16.VALIDATE_INPUTS("nope.png") != True  # noqa: E712
    image, mask, meta, info = LoadImage16().load("ring.png")
    assert image.shape == (1, 256, 384, 3) and "16-bit" in info and "ICC profile" in info
    assert (mask[0] - torch.from_numpy(1.0 - codes[:, :, 3] / 65535.0).float()).abs().max() < 1e-7
    tiles, plan, _ = TileSplit().split(image, **PLAN)
    merged, _ = TileMerge().merge(tiles, plan, "cosine")
    assert torch.equal(merged, image)  # identical tiles blend back bit for bit
    for fmt, ext in (("png16", ".png"), ("tiff16", ".tif")):
        res = SaveImage16().save(merged, f"out/{fmt}", fmt, 4, meta=meta, prompt={"1": {"class_type": "X"}},
                                 extra_pnginfo={"workflow": {"nodes": []}})
        (path,) = res["result"][0].splitlines()
        assert path.endswith(ext) and res["ui"]["images" if fmt == "png16" else "files"][0]["subfolder"] == "out"
        back, back_meta = read_image_meta(str(outp / path))
        assert np.array_equal(np.rint(back.astype(np.float64) * 65535).astype(np.uint16), codes[:, :, :3])
        assert back_meta.icc_profile == icc and back_meta.dpi == pytest.approx((240.0, 240.0), abs=0.01)
        if fmt == "png16":
            assert '"class_type": "X"' in back_meta.text["prompt"] and "workflow" in back_meta.text
    with pytest.raises(ValueError, match="IMAGE_META"):
        SaveImage16().save(merged, "x", "png16", 4, meta="not meta")


def test_load_image_16_reads_only_regular_image_files_inside_the_input_folder(comfy_folders, tmp_path):
    inp, outp = comfy_folders
    pixels = np.full((8, 8, 3), 0.5, np.float32)
    write_image(str(inp / "ok.png"), pixels, ImageMeta(), "png16")
    write_image(str(outp / "made.png"), pixels, ImageMeta(), "png16")
    write_image(str(tmp_path / "secret.png"), pixels, ImageMeta(), "png16")
    (inp / "link.png").symlink_to(tmp_path / "secret.png")
    (inp / "notes.txt").write_text("not an image")
    (inp / "sub").mkdir()
    write_image(str(inp / "sub" / "deep.png"), pixels, ImageMeta(), "png16")
    for good in ("ok.png", "sub/deep.png", "made.png [output]"):
        assert LoadImage16.VALIDATE_INPUTS(good) is True, good
        assert LoadImage16().load(good)[0].shape == (1, 8, 8, 3)
    refusals = set()
    for bad in ("../secret.png", str(tmp_path / "secret.png"), "link.png", "/dev/zero", "notes.txt", "missing.png",
                "sub/../../secret.png", "", "ok.png\x00", 12):
        msg = LoadImage16.VALIDATE_INPUTS(bad)
        assert isinstance(msg, str) and "input folder" in msg, bad
        refusals.add(msg.split(":", 1)[1])  # the same words whatever the reason: no file-existence oracle
        with pytest.raises(ValueError, match="input folder"):
            LoadImage16().load(bad)
        assert LoadImage16.IS_CHANGED(bad).startswith("refused:")  # never opens it (/dev/zero would hash forever)
    assert len(refusals) == 1
    assert "link.png" not in LoadImage16.INPUT_TYPES()["required"]["image"][0]
    assert LoadImage16.IS_CHANGED("ok.png") == LoadImage16.IS_CHANGED("ok.png") != LoadImage16.IS_CHANGED("sub/deep.png")
