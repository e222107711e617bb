"""Where the spatial dimensions sit in the tensors that travel between nodes.

ComfyUI's IMAGE is ``[B, H, W, C]`` (channels last), MASK is ``[B, H, W]`` and
a LATENT's ``samples`` is ``[B, C, H, W]`` (channels first). Tile code works on
all three through a ``Layout``; it never guesses the layout from ``ndim``
(IMAGE and LATENT are both 4-D).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Layout:
    name: str
    ndim: int
    y_dim: int
    x_dim: int
    channels_last: bool

    def check(self, t: torch.Tensor, what: str) -> None:
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{what} must be a torch.Tensor, got {type(t).__name__}")
        if t.ndim != self.ndim:
            raise ValueError(f"{what} must be a {self.ndim}-D {self.name} tensor, got shape {tuple(t.shape)}")

    def size(self, t: torch.Tensor) -> tuple:
        """``(height, width)`` of a tensor in this layout."""
        return t.shape[self.y_dim], t.shape[self.x_dim]

    def channels(self, t: torch.Tensor) -> int:
        if self.name == "BHW":
            return 1
        return t.shape[-1] if self.channels_last else t.shape[1]

    def crop(self, t: torch.Tensor, y: int, x: int, h: int, w: int) -> torch.Tensor:
        """A view of rows ``[y, y+h)`` and columns ``[x, x+w)``."""
        return t.narrow(self.y_dim, y, h).narrow(self.x_dim, x, w)

    def with_size(self, t: torch.Tensor, h: int, w: int) -> tuple:
        shape = list(t.shape)
        shape[self.y_dim] = h
        shape[self.x_dim] = w
        return tuple(shape)

    def rows(self, t: torch.Tensor) -> torch.Tensor:
        """A view with x (times channels, for channels-last) as the last dim: ``[..., H, W*k]``.

        Channels-last rows are contiguous runs of ``W*C`` values, so 1-D column
        weights repeated ``C`` times broadcast along the innermost dimension
        (about 4x faster on CPU than broadcasting ``[1, W, 1]``).
        """
        if not self.channels_last:
            return t
        if t.stride(-1) != 1 or t.stride(-2) != t.shape[-1]:
            raise ValueError(f"{self.name} tensor must have contiguous rows, got strides {t.stride()}")
        return t.flatten(-2)

    def x_repeat(self, t: torch.Tensor) -> int:
        """How many row elements one x position spans in ``rows(t)``."""
        return t.shape[-1] if self.channels_last else 1


IMAGE = Layout("BHWC", 4, -3, -2, True)
MASK = Layout("BHW", 3, -2, -1, False)
LATENT = Layout("BCHW", 4, -2, -1, False)
