"""Text conditioning for SANA: Gemma 2 hidden states and their attention masks."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import List, Optional

import torch

from .models import SanaModels


@dataclass
class SanaPrompt:
    """Encoded prompt and negative prompt, on the CPU.

    ``embeds`` / ``negative_embeds``: ``[1, L, D]`` (D = the text encoder's width, 2304 for Gemma-2-2B);
    ``mask`` / ``negative_mask``: ``[1, L]`` with 1 for real tokens.
    """

    embeds: torch.Tensor
    mask: torch.Tensor
    negative_embeds: torch.Tensor
    negative_mask: torch.Tensor
    text: str = ""

    def pair(self, n: int, device, dtype):
        """``(embeds, masks)`` for a batch of ``n`` negative then ``n`` positive entries (CFG order)."""
        length = max(self.embeds.shape[1], self.negative_embeds.shape[1])
        e = torch.cat([_pad(self.negative_embeds, length).expand(n, -1, -1), _pad(self.embeds, length).expand(n, -1, -1)])
        m = torch.cat([_pad(self.negative_mask, length).expand(n, -1), _pad(self.mask, length).expand(n, -1)])
        return e.to(device, dtype), m.to(device)

    def positive(self, n: int, device, dtype):
        return self.embeds.expand(n, -1, -1).to(device, dtype), self.mask.expand(n, -1).to(device)


def _pad(t: torch.Tensor, length: int) -> torch.Tensor:
    if t.shape[1] == length:
        return t
    pad = [0, 0] * (t.ndim - 2) + [0, length - t.shape[1]]
    return torch.nn.functional.pad(t, pad)


def default_instruction() -> List[str]:
    """The release's "complex human instruction" that SANA prepends to prompts (diffusers' default)."""
    from diffusers import SanaPipeline

    default = inspect.signature(SanaPipeline.__call__).parameters["complex_human_instruction"].default
    return list(default or [])


def encode_prompt(models: SanaModels, prompt: str, negative: str = "", *, instruction: bool = True,
                  max_tokens: int = 300, instruction_lines: Optional[List[str]] = None) -> SanaPrompt:
    """Run the Gemma text encoder on ``prompt`` and ``negative`` (the text encoder visits the device meanwhile)."""
    if max_tokens < 2:
        raise ValueError(f"max_tokens must be at least 2, got {max_tokens}")
    pipe = models.pipe
    chi = (instruction_lines if instruction_lines is not None else default_instruction()) if instruction else None
    with models.on_device(pipe.text_encoder), torch.inference_mode():
        e, m, ne, nm = pipe.encode_prompt(
            prompt, do_classifier_free_guidance=True, negative_prompt=negative, device=models.device,
            max_sequence_length=max_tokens, complex_human_instruction=chi,
        )
    cpu = torch.device("cpu")
    return SanaPrompt(e.to(cpu), m.to(cpu), ne.to(cpu), nm.to(cpu), prompt)
