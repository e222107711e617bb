"""The minimum-cost cut through a seam band by dynamic programming (numba; loaded by ``blenders.seam_paths``)."""

import numba as nb
import numpy as np


@nb.njit(cache=True)
def min_cost_path_kernel(cost, lo, hi, path):
    """``path[y]``: the column of the cheapest top-to-bottom 8-connected path through ``cost`` ``[L, W]`` within ``[lo, hi)``.

    Ties go to the left step, then straight on (the first minimum), and the
    path ends in the first cheapest column.
    """
    length, width = cost.shape
    inf = np.inf
    acc = np.full(width, inf)
    nxt = np.empty(width)
    back = np.zeros((length, width), np.int8)
    for x in range(lo, hi):
        acc[x] = cost[0, x]
    for y in range(1, length):
        for x in range(width):
            best, step = acc[x - 1] if x > 0 else inf, -1
            if acc[x] < best:
                best, step = acc[x], 0
            if x + 1 < width and acc[x + 1] < best:
                best, step = acc[x + 1], 1
            back[y, x] = step
            nxt[x] = best + (cost[y, x] if lo <= x < hi else inf)
        acc, nxt = nxt, acc
    end = lo
    for x in range(width):
        if acc[x] < acc[end]:
            end = x
    path[length - 1] = end
    for y in range(length - 1, 0, -1):
        path[y - 1] = path[y] + back[y, path[y]]
