"""The tile loop's pure parts (``tiling/loop.py``): orders, prompts, the pending mask and the paste."""

import pytest
import torch

from tilestitch.tiling import plan_by_tile_size
from tilestitch.tiling.loop import ORDERS, join_prompt_list, parse_prompts, run_loop, start_loop, tile_order

PLAN = plan_by_tile_size(300, 400, 128, 128, 32)  # 3 x 4 tiles


@pytest.mark.parametrize("order", ORDERS)
def test_every_order_visits_every_tile_exactly_once(order):
    seq = tile_order(PLAN, order)
    assert sorted(seq) == list(range(PLAN.count))


def test_serpentine_steps_to_a_neighbour_and_chess_second_pass_sees_finished_neighbours_on_every_side():
    seq = tile_order(PLAN, "serpentine")
    for a, b in zip(seq, seq[1:]):
        ta, tb = PLAN.tiles[a], PLAN.tiles[b]
        assert abs(ta.row - tb.row) + abs(ta.col - tb.col) == 1
    chess = tile_order(PLAN, "chess")
    first = set(chess[: (PLAN.count + 1) // 2])
    for k in chess[len(first):]:
        for side, n in PLAN.neighbours(k).items():
            assert n is None or n in first, (k, side)


def test_identity_body_gives_the_image_back_in_every_order():
    img = torch.rand(2, 300, 400, 3, generator=torch.Generator().manual_seed(0))
    for order in ORDERS:
        out = run_loop(img, PLAN, lambda t, p, k, s: t, order=order, band=16)
        assert float((out - img).abs().max()) <= 1e-6


def test_the_next_tile_sees_its_finished_neighbours_and_keep_finished_leaves_them_untouched():
    img = torch.zeros(1, 300, 400, 3)
    loop = start_loop(img, PLAN, "raster", [""] * PLAN.count, band=16, keep_finished=True)
    loop.paste(torch.ones(1, 128, 128, 3))  # tile 0 drawn white
    t1 = PLAN.tiles[1]
    tile = loop.tile()
    overlap = PLAN.tiles[0].x + PLAN.tiles[0].width - t1.x
    assert float(tile[0, :, :overlap].min()) == 1.0 and float(tile[0, :, overlap:].max()) == 0.0  # context from tile 0
    pending = loop.pending()
    assert float(pending[:, :overlap].max()) == 0.0 and float(pending[:, overlap:].min()) == 1.0
    finished = loop.canvas[:, :128, :128].clone()
    loop.paste(torch.full((1, 128, 128, 3), 0.5))
    assert torch.equal(loop.canvas[:, :128, :128], finished)  # keep_finished: no finished pixel changes


def test_without_keep_finished_finished_pixels_change_only_inside_the_band():
    img = torch.zeros(1, 300, 400, 3)
    loop = start_loop(img, PLAN, "raster", [""] * PLAN.count, band=16, keep_finished=False)
    loop.paste(torch.ones(1, 128, 128, 3))
    before = loop.canvas.clone()
    t1 = PLAN.tiles[1]
    loop.paste(torch.zeros(1, 128, 128, 3))
    changed = (loop.canvas != before).any(-1)[0]
    overlap = PLAN.tiles[0].x + PLAN.tiles[0].width - t1.x
    cols = torch.nonzero(changed[:128, :128].any(0)).flatten()
    assert cols.numel() and int(cols.min()) >= t1.x + overlap - 16  # only the band (16 px) on tile 0's side of its edge
    assert float(loop.canvas[0, :128, 128:t1.x + 128].max()) == 0.0  # pending pixels take the new tile whole


@pytest.mark.parametrize("keep_finished", [False, True])
@pytest.mark.parametrize("order", ORDERS)
def test_every_pixel_ends_fully_processed(order, keep_finished):
    """A body that draws one colour everywhere: no pixel may keep any of the unprocessed image (a ramp on the pending side
    of a finished tile's edge would leave a band of the original between tiles)."""
    img = torch.rand(1, 300, 400, 3, generator=torch.Generator().manual_seed(1))
    out = run_loop(img, PLAN, lambda t, p, k, s: torch.full_like(t, 0.25), order=order, band=24, keep_finished=keep_finished)
    assert float((out - 0.25).abs().max()) <= 1e-6


@pytest.mark.parametrize("order", ["serpentine", "chess"])
def test_an_upscaling_body_gives_a_larger_result_and_its_context_at_input_scale(order):
    img = torch.rand(1, 300, 400, 3, generator=torch.Generator().manual_seed(2))
    up = lambda t: t.repeat_interleave(2, 1).repeat_interleave(2, 2)  # noqa: E731  (nearest x2: exactly invertible by area)
    out = run_loop(img, PLAN, lambda t, p, k, s: up(t), order=order, band=16)
    assert out.shape == (1, 600, 800, 3) and float((out - up(img)).abs().max()) <= 1e-6  # identity up to the scale

    seen = []

    def invert_up(tile, pending, index, prompt):
        seen.append((index, tile.clone()))
        return up(1.0 - tile)

    out = run_loop(img, PLAN, invert_up, order=order, band=0, keep_finished=True)
    assert float((out - up(1.0 - img)).abs().max()) <= 1e-6
    done = torch.zeros(300, 400, dtype=torch.bool)  # every tile's context: earlier tiles' processed pixels at input scale
    for index, tile in seen:
        t = PLAN.tiles[index]
        d = done[t.y : t.y + t.height, t.x : t.x + t.width]
        crop = img[:, t.y : t.y + t.height, t.x : t.x + t.width]
        want = torch.where(d[None, :, :, None], 1.0 - crop, crop)
        assert torch.allclose(tile, want, atol=1e-6), index
        done[t.y : t.y + t.height, t.x : t.x + t.width] = True
    assert done.all()


def test_a_body_that_changes_size_by_no_whole_factor_is_refused():
    loop = start_loop(torch.zeros(1, 300, 400, 3), PLAN, "raster", [""] * PLAN.count, band=16, keep_finished=False)
    with pytest.raises(ValueError, match="whole multiple"):
        loop.paste(torch.zeros(1, 192, 192, 3))
    loop.paste(torch.zeros(1, 256, 256, 3))
    with pytest.raises(ValueError, match="one scale"):
        loop.paste(torch.zeros(1, 128, 128, 3))


def test_prompts_give_one_line_per_tile_with_the_base_filling_in():
    assert parse_prompts("a\n\n{base}, c", 4, "base") == ["a", "base", "base, c", "base"]
    with pytest.raises(ValueError, match="one line per tile"):
        parse_prompts("a\nb\nc", 2)


def test_a_caption_list_becomes_one_line_per_tile_even_when_captions_span_lines():
    captions = ["a gold clasp,\n  polished", None, "", "{base} and a stone"]
    text = join_prompt_list(captions)
    assert parse_prompts(text, 5, "ring") == ["a gold clasp, polished", "ring", "ring", "ring and a stone", "ring"]
    with pytest.raises(ValueError, match=r"captions\[1\] must be text"):
        join_prompt_list(["a", 3])
