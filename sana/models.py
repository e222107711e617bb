"""A SANA model folder in diffusers format: find it, check it, load it.

SANA (Efficient-Large-Model) ships as a diffusers folder::

    Sana_1600M_1024px_BF16_diffusers/
        model_index.json
        transformer/   config.json + *.safetensors   (SanaTransformer2DModel)
        vae/           config.json + *.safetensors   (AutoencoderDC, f32c32)
        text_encoder/  config.json + *.safetensors   (Gemma 2)
        tokenizer/     tokenizer.json ...
        scheduler/     scheduler_config.json         (flow_shift)

Everything loads from local files only (``local_files_only=True``): a folder
that lacks a part fails here with the list of missing parts, never with a
hub download.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, List, Optional

import torch

#: parts a folder must have, each with the files that show it is there
REQUIRED_PARTS = {
    "transformer": ("config.json",),
    "vae": ("config.json",),
    "text_encoder": ("config.json",),
    "tokenizer": (),
}
WEIGHT_SUFFIXES = (".safetensors", ".bin")
DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}
WHERE_TO_GET = (
    "download a SANA diffusers folder (e.g. Efficient-Large-Model/Sana_1600M_1024px_BF16_diffusers on Hugging Face) "
    "into ComfyUI's models/diffusers/"
)


def missing_parts(folder: Path) -> List[str]:
    """What ``folder`` lacks to be a loadable SANA diffusers folder (empty when complete)."""
    folder = Path(folder)
    if not folder.is_dir():
        return [f"the folder {folder}"]
    missing = []
    if not (folder / "model_index.json").is_file():
        missing.append("model_index.json")
    for part, files in REQUIRED_PARTS.items():
        d = folder / part
        if not d.is_dir():
            missing.append(f"{part}/")
            continue
        missing += [f"{part}/{f}" for f in files if not (d / f).is_file()]
        if files and not any(p.suffix in WEIGHT_SUFFIXES for p in d.iterdir()):
            missing.append(f"{part}/ weights (*.safetensors)")
    return missing


def is_sana_folder(folder: Path) -> bool:
    """A diffusers folder whose model_index.json names a SANA pipeline."""
    try:
        index = json.loads((Path(folder) / "model_index.json").read_text())
    except (OSError, ValueError):
        return False
    return str(index.get("_class_name", "")).startswith("Sana")


def find_sana_folders(roots: Iterable[Path]) -> List[str]:
    """Names (relative to their root, ``/``-separated) of SANA folders up to two levels below each root."""
    found = []
    for root in map(Path, roots):
        if not root.is_dir():
            continue
        for index in sorted([*root.glob("*/model_index.json"), *root.glob("*/*/model_index.json")]):
            if is_sana_folder(index.parent):
                found.append(index.parent.relative_to(root).as_posix())
    return sorted(set(found))


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """``auto``: bfloat16 on a GPU that has it, else float16 on a GPU, float32 on the CPU."""
    if name != "auto":
        if name not in DTYPES:
            raise ValueError(f"dtype must be auto or one of {', '.join(DTYPES)}, got {name!r}")
        return DTYPES[name]
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


@dataclass
class SanaModels:
    """A loaded SANA pipeline (diffusers ``SanaPipeline``) and what the pack needs to know about it.

    ``pipe.transformer``: velocity (flow) prediction ``[B, C, h, w] -> [B, C, h, w]``;
    ``pipe.vae``: AutoencoderDC, images in -1..1, latents divided by ``latent_scale`` before decoding;
    ``flow_shift``: the release's timestep shift (from its scheduler config).
    Modules rest on ``offload_device`` and visit ``device`` while they work (``on_device``).
    """

    pipe: object
    folder: str
    dtype: torch.dtype
    device: torch.device
    offload_device: torch.device
    flow_shift: float

    @property
    def transformer(self):
        return self.pipe.transformer

    @property
    def vae(self):
        return self.pipe.vae

    @property
    def latent_channels(self) -> int:
        return int(self.vae.config.latent_channels)

    @property
    def latent_scale(self) -> float:
        return float(self.vae.config.scaling_factor)

    @property
    def vae_factor(self) -> int:
        return int(self.vae.spatial_compression_ratio)

    @property
    def patch_size(self) -> int:
        return int(self.transformer.config.patch_size)

    @contextlib.contextmanager
    def on_device(self, *modules: torch.nn.Module) -> Iterator[None]:
        """Move ``modules`` to the compute device for the block, back to the offload device after."""
        for m in modules:
            m.to(self.device)
        try:
            yield
        finally:
            if self.offload_device != self.device:
                for m in modules:
                    m.to(self.offload_device)


def load_sana(folder: Path, dtype: str = "auto", device: Optional[torch.device] = None,
              offload_device: Optional[torch.device] = None) -> SanaModels:
    """Load a SANA diffusers folder from local files (never the hub).

    Raises FileNotFoundError naming every missing part, ValueError for a
    folder that is not SANA or a SANA variant this pack cannot sample
    (SANA-Sprint's guidance-distilled transformer).
    """
    from diffusers import SanaPipeline

    folder = Path(folder)
    missing = missing_parts(folder)
    if missing:
        raise FileNotFoundError(f"the SANA folder {folder} is incomplete, missing: {', '.join(missing)}; {WHERE_TO_GET}")
    if not is_sana_folder(folder):
        raise ValueError(f"{folder} is a diffusers folder but its model_index.json does not name a SANA pipeline")
    device = device or torch.device("cpu")
    offload_device = offload_device or torch.device("cpu")
    torch_dtype = resolve_dtype(dtype, device)
    with warnings.catch_warnings():  # newer diffusers call it dtype; torch_dtype works in every supported version
        warnings.filterwarnings("ignore", message=".*torch_dtype.*deprecated")
        pipe = SanaPipeline.from_pretrained(str(folder), local_files_only=True, torch_dtype=torch_dtype)
    if getattr(pipe.transformer.config, "guidance_embeds", False):
        raise ValueError(f"{folder} holds a guidance-distilled SANA-Sprint transformer; use a SANA (1.0/1.5) release")
    pipe.to(offload_device)
    scheduler = pipe.scheduler.config
    shift = float(scheduler.get("flow_shift") or scheduler.get("shift") or 1.0)
    return SanaModels(pipe, folder.name, torch_dtype, device, offload_device, shift)
