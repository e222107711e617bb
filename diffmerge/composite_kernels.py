"""The alpha blend of a changed region into the output (numba; loaded by ``diffmerge.composite``)."""

import numba as nb


@nb.njit(parallel=True, cache=True)
def blend_kernel(view, edit, alpha):
    """``view[y, x] += alpha[y, x] * (edit[y, x] - view[y, x])`` where ``alpha > 0``, in place; other pixels are not written.

    ``view`` ``[h, w, >= c]`` (a strided window of the output), ``edit`` ``[h, w, c]``, ``alpha`` ``[h, w]``: the same
    arithmetic, in the arrays' own precision, as ``base + a * (edit - base)`` in numpy.
    """
    h, w = alpha.shape
    c = edit.shape[2]
    for y in nb.prange(h):
        for x in range(w):
            a = alpha[y, x]
            if a > 0:
                for k in range(c):
                    base = view[y, x, k]
                    view[y, x, k] = base + a * (edit[y, x, k] - base)
