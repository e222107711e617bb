"""Tile Loop Start / End in a real ComfyUI: the body runs once per tile inside one prompt (graph expansion), each
tile sees its finished neighbours, and the result equals the pure reference loop."""

import numpy as np
import pytest
import torch

from tilestitch.nodes.tiles import TileSplit
from tilestitch.tiling.loop import run_loop

from client_run import cancel_while_running, png_bytes, tiff_result
from support import load_photo

pytestmark = pytest.mark.comfyui


@pytest.mark.parametrize("order,scale,tile", [("serpentine", 1, (320, 224)), ("chess", 1, (320, 224)), ("serpentine", 2, (320, 224)),
                                              ("raster", 1, (96, 96))])
def test_a_tile_loop_runs_its_body_per_tile_and_equals_the_reference_loop(comfy, order, scale, tile):
    """4 x 3 tiles, or 8 x 12 (several chunks of the expansion); scale 2: the body upscales each tile x2 (nearest), so the
    result is x2 and the context flows at input scale."""
    server, client = comfy
    pixels = np.rint(load_photo("kodim23")[0].numpy() * 255).astype(np.uint8)  # 768 x 512
    name = client.upload_image(png_bytes(pixels), f"loop_{order}.png")
    widgets = dict(mode="tile_size", tile_width=tile[0], tile_height=tile[1], overlap=32 if tile[0] < 128 else 96, rows=2, cols=2,
                   max_megapixels=1.0, align=8)
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": name}},
        "2": {"class_type": "TileStitchSplit", "inputs": {"image": ["1", 0], **widgets}},
        "3": {"class_type": "TileStitchTileLoopStart", "inputs": {"image": ["1", 0], "plan": ["2", 1], "order": order, "band": 24,
                                                                 "keep_finished": False, "base_prompt": "", "prompts": ""}},
        "4": {"class_type": "ImageInvert", "inputs": {"image": ["3", 1]}},  # the body: any core node
        "7": {"class_type": "ImageScaleBy", "inputs": {"image": ["4", 0], "upscale_method": "nearest-exact", "scale_by": float(scale)}},
        "5": {"class_type": "TileStitchTileLoopEnd", "inputs": {"loop": ["3", 0], "tile": ["7", 0]}},
        "6": {"class_type": "TileStitchSaveImage16", "inputs": {"images": ["5", 0], "filename_prefix": f"loop_{order}_{scale}_{tile[0]}",
                                                               "format": "tiff_float32", "compression": 0}},
    }
    result = tiff_result(server, client, prompt)
    image = torch.from_numpy(pixels.astype(np.float32) / 255)[None]
    plan = TileSplit().split(image, **widgets)[1]  # the plan the graph's split made
    assert (plan.rows, plan.cols) == ((4, 3) if tile[0] > 128 else (8, 12))
    seen = []

    def invert(tile, pending, index, prompt):
        seen.append(index)
        return (1.0 - tile).repeat_interleave(scale, 1).repeat_interleave(scale, 2)

    reference = run_loop(image, plan, invert, order=order, band=24)[0].numpy()
    assert sorted(seen) == list(range(plan.count))
    assert result.shape == reference.shape
    assert float(np.abs(result - reference).max()) <= 1e-6
    # context propagation: inverting a tile that already holds inverted neighbours puts their pixels back, so the
    # loop's result differs from inverting every tile of the original independently
    independent = 1.0 - image[0].numpy()
    assert float(np.abs(result[::scale, ::scale] - independent).max()) > 0.3


def test_captions_of_a_tile_list_become_the_loops_per_tile_prompts(comfy):
    """A captioner mapped over Tile Split (list)'s tiles gives a STRING list; Tile Prompts From List joins it into the
    loop's prompts, and each tile's body gets its own tile's caption (line breaks inside a caption kept on one line)."""
    server, client = comfy
    pixels = np.rint(load_photo("kodim23")[0].numpy() * 255).astype(np.uint8)  # 768 x 512
    name = client.upload_image(png_bytes(pixels), "loop_captions.png")
    widgets = dict(mode="tile_size", tile_width=320, tile_height=224, overlap=32, rows=2, cols=2, max_megapixels=1.0, align=8)
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": name}},
        "2": {"class_type": "TileStitchSplitList", "inputs": {"image": ["1", 0], **widgets}},
        "3": {"class_type": "TileStitchTestCaption", "inputs": {"image": ["2", 0]}},  # runs once per tile
        "4": {"class_type": "TileStitchTilePromptsFromList", "inputs": {"captions": ["3", 0]}},
        "5": {"class_type": "TileStitchTileLoopStart", "inputs": {"image": ["1", 0], "plan": ["2", 1], "order": "chess", "band": 24,
                                                                 "keep_finished": True, "base_prompt": "", "prompts": ["4", 0]}},
        "6": {"class_type": "TileStitchTestFillFromPrompt", "inputs": {"image": ["5", 1], "prompt": ["5", 4]}},
        "7": {"class_type": "TileStitchTileLoopEnd", "inputs": {"loop": ["5", 0], "tile": ["6", 0]}},
        "8": {"class_type": "TileStitchSaveImage16", "inputs": {"images": ["7", 0], "filename_prefix": "loop_captions",
                                                               "format": "tiff_float32", "compression": 0}},
    }
    result = tiff_result(server, client, prompt)
    image = torch.from_numpy(pixels.astype(np.float32) / 255)[None]
    plan = TileSplit().split(image, **widgets)[1]
    means = [float(image[:, t.y:t.y + t.height, t.x:t.x + t.width].double().mean()) for t in plan.tiles]
    assert len(set(np.round(means, 4))) == plan.count == 9  # the tiles' captions differ

    def fill(tile, pending, index, prompt):
        return torch.full_like(tile, float(prompt.split()[-1]))

    captions = [f"mean {m:.9f}" for m in means]
    reference = run_loop(image, plan, fill, order="chess", prompts=captions, band=24, keep_finished=True)[0].numpy()
    assert float(np.abs(result - reference).max()) <= 1e-6


def test_a_seam_loop_redraws_the_seam_tiles_in_order_and_nothing_outside_the_zones(comfy):
    """Seam Tiles' plan into Seam Loop Start: the body (ImageInvert) runs once per seam tile, each cut from the canvas as
    it is; the result equals the pure reference loop over the seam grid, and pixels outside the zones are unchanged."""
    from tilestitch.nodes.seam_tiles import SeamTiles
    from tilestitch.tiling.seam_tiles import seam_loop_grid, zone_weight

    server, client = comfy
    pixels = np.rint(load_photo("kodim23")[0].numpy() * 255).astype(np.uint8)  # 768 x 512
    name = client.upload_image(png_bytes(pixels), "seam_loop.png")
    widgets = dict(mode="tile_size", tile_width=320, tile_height=224, overlap=32, rows=2, cols=2, max_megapixels=1.0, align=8)
    seam = dict(mode="bands", zone_width=32, tile_width=128, tile_height=128, overlap=32)
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": name}},
        "2": {"class_type": "TileStitchTilePlan", "inputs": {"image": ["1", 0], **widgets}},
        "3": {"class_type": "TileStitchSeamTiles", "inputs": {"image": ["1", 0], "plan": ["2", 0], **seam}},
        "4": {"class_type": "TileStitchSeamLoopStart", "inputs": {"image": ["1", 0], "seam_plan": ["3", 1], "order": "chess",
                                                                 "band": 16, "keep_finished": False, "base_prompt": "", "prompts": ""}},
        "5": {"class_type": "ImageInvert", "inputs": {"image": ["4", 1]}},
        "6": {"class_type": "TileStitchTileLoopEnd", "inputs": {"loop": ["4", 0], "tile": ["5", 0]}},
        "7": {"class_type": "TileStitchSaveImage16", "inputs": {"images": ["6", 0], "filename_prefix": "seam_loop",
                                                               "format": "tiff_float32", "compression": 0}},
    }
    result = tiff_result(server, client, prompt)
    image = torch.from_numpy(pixels.astype(np.float32) / 255)[None]
    sp = SeamTiles().split(image, TileSplit().split(image, **widgets)[1], **seam)[1]
    grid = seam_loop_grid(sp)
    assert sp.count > 12  # several expansion chunks
    reference = run_loop(image, grid, lambda tile, pending, k, p: 1.0 - tile, order="chess", band=16, zone=grid.zone)[0].numpy()
    assert float(np.abs(result - reference).max()) <= 1e-6
    zone = zone_weight(sp, 0, sp.height, 0, sp.width).numpy()
    assert np.array_equal(result[zone == 0], image[0].numpy()[zone == 0])
    assert float(np.abs(result - image[0].numpy())[zone == 1].mean()) > 0.1  # the zones were redrawn


def test_an_image_wired_into_the_loop_end_from_outside_the_loop_is_not_freed(comfy):
    """End frees each iteration's processed tile once pasted, but a tile-sized image from outside the body (the same
    tensor every iteration, cached by ComfyUI) must survive: the loop pastes it everywhere and the next prompt that
    reads the cached image gets it intact."""
    server, client = comfy
    pixels = np.rint(load_photo("kodim23")[0].numpy() * 255).astype(np.uint8)  # 768 x 512
    name = client.upload_image(png_bytes(pixels), "loop_outside.png")
    patch = np.rint(load_photo("kodim04")[0].numpy()[:224, :320] * 255).astype(np.uint8)
    patch_name = client.upload_image(png_bytes(patch), "loop_outside_patch.png")
    widgets = dict(mode="tile_size", tile_width=320, tile_height=224, overlap=32, rows=2, cols=2, max_megapixels=1.0, align=8)
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": name}},
        "2": {"class_type": "TileStitchTilePlan", "inputs": {"image": ["1", 0], **widgets, "shrink_tiles": False}},
        "3": {"class_type": "TileStitchTileLoopStart", "inputs": {"image": ["1", 0], "plan": ["2", 0], "order": "raster",
                                                                 "band": 0, "keep_finished": True, "base_prompt": "", "prompts": ""}},
        "4": {"class_type": "ImageInvert", "inputs": {"image": ["3", 1]}},  # the body, unused by End
        "8": {"class_type": "LoadImage", "inputs": {"image": patch_name}},
        "9": {"class_type": "ImageInvert", "inputs": {"image": ["8", 0]}},  # outside the loop, memory torch owns
        "5": {"class_type": "TileStitchTileLoopEnd", "inputs": {"loop": ["3", 0], "tile": ["9", 0]}},
        "6": {"class_type": "TileStitchSaveImage16", "inputs": {"images": ["5", 0], "filename_prefix": "loop_outside",
                                                               "format": "tiff_float32", "compression": 0}},
    }
    result = tiff_result(server, client, prompt)
    expected = 1.0 - patch.astype(np.float32) / 255
    image = torch.from_numpy(pixels.astype(np.float32) / 255)[None]
    plan = TileSplit().split(image, **widgets)[1]
    reference = run_loop(image, plan, lambda tile, pending, k, p: torch.from_numpy(expected)[None], order="raster", band=0,
                         keep_finished=True)[0].numpy()
    assert plan.count > 8 and float(np.abs(result - reference).max()) <= 1e-6  # every tile pasted, after many frees
    again = tiff_result(server, client, {
        "8": {"class_type": "LoadImage", "inputs": {"image": patch_name}},
        "9": {"class_type": "ImageInvert", "inputs": {"image": ["8", 0]}},  # cached: the same tensor End was given
        "6": {"class_type": "TileStitchSaveImage16", "inputs": {"images": ["9", 0], "filename_prefix": "loop_outside_patch",
                                                               "format": "tiff_float32", "compression": 0}}})
    assert float(np.abs(again - expected).max()) <= 1e-6


def rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def test_a_121_tile_loop_keeps_its_memory_bounded(comfy):
    """121 tiles of 256 x 256 (0.75 MB each) over a 2304 x 2304 image (64 MB as float32): the server grows by less
    than a copy of every tile per node per iteration would (121 x 3 nodes x 0.75 MB = 272 MB); the canvas is one
    tensor updated in place."""
    server, client = comfy
    pixels = np.rint(load_photo("bokeh", 2304)[0, :2304, :2304].numpy() * 255).astype(np.uint8)
    name = client.upload_image(png_bytes(pixels), "loop_100.png")
    widgets = dict(mode="tile_size", tile_width=256, tile_height=256, overlap=32, rows=2, cols=2, max_megapixels=1.0, align=8)

    def prompt(rows_cols):
        return {
            "1": {"class_type": "LoadImage", "inputs": {"image": name}},
            "2": {"class_type": "TileStitchSplit", "inputs": {"image": ["1", 0], **widgets, **rows_cols}},
            "3": {"class_type": "TileStitchTileLoopStart", "inputs": {"image": ["1", 0], "plan": ["2", 1], "order": "raster",
                                                                     "band": 16, "keep_finished": False, "base_prompt": "", "prompts": ""}},
            "4": {"class_type": "ImageInvert", "inputs": {"image": ["3", 1]}},
            "5": {"class_type": "TileStitchTileLoopEnd", "inputs": {"loop": ["3", 0], "tile": ["4", 0]}},
            "6": {"class_type": "PreviewImage", "inputs": {"images": ["5", 0]}},
        }

    pid = server.launcher.proc.pid
    client.wait(client.queue(prompt({"tile_width": 248})), timeout=600)  # warm up (imports, caches) on another plan
    before = rss_mb(pid)
    import time

    t0 = time.perf_counter()
    client.wait(client.queue(prompt({})), timeout=600)
    seconds = time.perf_counter() - t0
    grown = rss_mb(pid) - before
    print(f"121-tile loop: {seconds:.1f} s ({1000 * seconds / 121:.0f} ms per tile with an ImageInvert body), RSS +{grown:.0f} MB")
    assert grown < 150, grown


def test_a_second_prompt_that_changes_only_the_body_runs_the_loop_again_from_the_image(comfy):
    server, client = comfy
    pixels = np.rint(load_photo("kodim23")[0].numpy() * 255).astype(np.uint8)
    name = client.upload_image(png_bytes(pixels), "loop_again.png")
    widgets = dict(mode="tile_size", tile_width=320, tile_height=224, overlap=96, rows=2, cols=2, max_megapixels=1.0, align=8)
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": name}},
        "2": {"class_type": "TileStitchSplit", "inputs": {"image": ["1", 0], **widgets}},
        "3": {"class_type": "TileStitchTileLoopStart", "inputs": {"image": ["1", 0], "plan": ["2", 1], "order": "raster", "band": 24,
                                                                 "keep_finished": False, "base_prompt": "", "prompts": ""}},
        "4": {"class_type": "ImageInvert", "inputs": {"image": ["3", 1]}},
        "5": {"class_type": "TileStitchTileLoopEnd", "inputs": {"loop": ["3", 0], "tile": ["4", 0]}},
        "6": {"class_type": "TileStitchSaveImage16", "inputs": {"images": ["5", 0], "filename_prefix": "loop_again",
                                                               "format": "tiff_float32", "compression": 0}},
    }
    client.wait(client.queue(prompt), timeout=600)
    prompt["7"] = {"class_type": "ImageInvert", "inputs": {"image": ["4", 0]}}  # the body becomes the identity
    prompt["5"]["inputs"]["tile"] = ["7", 0]
    result = tiff_result(server, client, prompt)
    assert float(np.abs(result - pixels.astype(np.float32) / 255).max()) <= 1e-6  # from the image, not the first run's canvas


def test_cancel_stops_a_long_tile_loop_between_tiles_and_the_next_prompt_runs_clean(comfy):
    server, client = comfy
    widgets = dict(mode="tile_size", tile_width=64, tile_height=64, overlap=16, rows=2, cols=2, max_megapixels=1.0, align=8)
    long_loop = {  # 4096 x 4096 in 64 px tiles: 85 x 85 = 7225 tiles, well over ten seconds of loop
        "1": {"class_type": "EmptyImage", "inputs": {"width": 4096, "height": 4096, "batch_size": 1, "color": 8421504}},
        "2": {"class_type": "TileStitchSplit", "inputs": {"image": ["1", 0], **widgets}},
        "3": {"class_type": "TileStitchTileLoopStart", "inputs": {"image": ["1", 0], "plan": ["2", 1], "order": "raster", "band": 8,
                                                                 "keep_finished": False, "base_prompt": "", "prompts": ""}},
        "4": {"class_type": "ImageInvert", "inputs": {"image": ["3", 1]}},
        "5": {"class_type": "TileStitchTileLoopEnd", "inputs": {"loop": ["3", 0], "tile": ["4", 0]}},
        "6": {"class_type": "PreviewImage", "inputs": {"images": ["5", 0]}},
    }
    cancel_while_running(client, client.queue(long_loop))

    pixels = np.rint(load_photo("kodim23")[0].numpy() * 255).astype(np.uint8)  # the next prompt: a clean 4 x 3 loop
    name = client.upload_image(png_bytes(pixels), "loop_after_cancel.png")
    widgets = dict(widgets, tile_width=320, tile_height=224, overlap=96)
    after = {
        "1": {"class_type": "LoadImage", "inputs": {"image": name}},
        "2": {"class_type": "TileStitchSplit", "inputs": {"image": ["1", 0], **widgets}},
        "3": dict(long_loop["3"], inputs=dict(long_loop["3"]["inputs"], image=["1", 0], band=24)),
        "4": long_loop["4"],
        "5": long_loop["5"],
        "6": {"class_type": "TileStitchSaveImage16", "inputs": {"images": ["5", 0], "filename_prefix": "loop_after_cancel",
                                                               "format": "tiff_float32", "compression": 0}},
    }
    result = tiff_result(server, client, after)
    image = torch.from_numpy(pixels.astype(np.float32) / 255)[None]
    plan = TileSplit().split(image, **widgets)[1]
    reference = run_loop(image, plan, lambda t, p, k, s: 1.0 - t, order="raster", band=24)[0].numpy()
    assert float(np.abs(result - reference).max()) <= 1e-6


def test_a_loop_of_large_tiles_does_not_keep_every_iterations_tiles(comfy):
    """16 tiles of 1024 x 1024 (12.6 MB each) over a 4096 x 4096 image: ComfyUI's cache would keep three tile-sized
    tensors per iteration (Start's tile and mask, the body's result: ~470 MB); the loop frees them once pasted (counted
    in the server: live tensors of the tile's shape)."""
    server, client = comfy
    widgets = dict(mode="tile_size", tile_width=1024, tile_height=1024, overlap=64, rows=2, cols=2, max_megapixels=1.0, align=8)

    def prompt(colour, tile):
        return {
            "1": {"class_type": "EmptyImage", "inputs": {"width": 4096, "height": 4096, "batch_size": 1, "color": colour}},
            "2": {"class_type": "TileStitchTilePlan", "inputs": {"image": ["1", 0], **dict(widgets, tile_width=tile, tile_height=tile)}},
            "3": {"class_type": "TileStitchTileLoopStart", "inputs": {"image": ["1", 0], "plan": ["2", 0], "order": "raster",
                                                                     "band": 16, "keep_finished": False, "base_prompt": "", "prompts": ""}},
            "4": {"class_type": "ImageInvert", "inputs": {"image": ["3", 1]}},
            "5": {"class_type": "TileStitchTileLoopEnd", "inputs": {"loop": ["3", 0], "tile": ["4", 0]}},
            "6": {"class_type": "ImageScale", "inputs": {"image": ["5", 0], "upscale_method": "area", "width": 64, "height": 64, "crop": "disabled"}},
            "7": {"class_type": "PreviewImage", "inputs": {"images": ["6", 0]}},
        }

    client.wait(client.queue(prompt(1, 1024)), timeout=600)
    tiles = client.get_json("/tilestitch_test/live_tensor_bytes?shape=1,1024,1024,3")["count"]
    print(f"after a 16-tile loop of 1024 px tiles: {tiles} tile-sized images alive")
    # the first iteration's (the graph as drawn: Start's tile, the body's result); without freeing: 2 per iteration
    assert tiles <= 3, tiles
