"""The tile loop's pure parts (``tiling/loop.py``): orders, prompts, the pending mask and the paste."""

import pytest
import torch

from tilestitch.tiling import plan_by_tile_size
from tilestitch.tiling.loop import ORDERS, parse_prompts, run_loop, start_loop, tile_order

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
    assert float(pending[:, :overlap].max()) == 0.0 and float(pending[:, overlap + 16 :].min()) == 1.0
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
    cols = torch.nonzero(changed[:128, :128].any(0)).flatten()
    assert cols.numel() and int(cols.min()) >= t1.x - 8 - 1  # only the band's finished half (8 px) inside tile 0


def test_prompts_give_one_line_per_tile_with_the_base_filling_in():
    assert parse_prompts("a\n\n{base}, c", 4, "base") == ["a", "base", "base, c", "base"]
    with pytest.raises(ValueError, match="one line per tile"):
        parse_prompts("a\nb\nc", 2)
