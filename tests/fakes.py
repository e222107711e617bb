"""Stand-ins for what ComfyUI hands the nodes, for tests that call node classes directly (no ComfyUI process)."""

import os
import sys
import types

import torch


class FakeComfy:
    """Stand-ins for comfy.utils.ProgressBar and the interrupt check, as ComfyUI provides them."""

    def __init__(self, interrupt_after=None):
        self.updates = []
        self.checks = 0
        self.interrupt_after = interrupt_after
        fake = self

        class ProgressBar:
            def __init__(self, total):
                self.total = total

            def update_absolute(self, value, total=None):
                fake.updates.append((value, total))

        class Interrupted(Exception):
            pass

        def throw():
            fake.checks += 1
            if fake.interrupt_after is not None and fake.checks > fake.interrupt_after:
                raise Interrupted("interrupted")

        self.Interrupted = Interrupted
        self.utils = types.SimpleNamespace(ProgressBar=ProgressBar)
        self.mm = types.SimpleNamespace(throw_exception_if_processing_interrupted=throw)

    def install(self, monkeypatch):
        comfy = types.ModuleType("comfy")
        comfy.utils = self.utils
        comfy.model_management = self.mm
        monkeypatch.setitem(sys.modules, "comfy", comfy)
        monkeypatch.setitem(sys.modules, "comfy.utils", self.utils)
        monkeypatch.setitem(sys.modules, "comfy.model_management", self.mm)


class FakeModel:
    """A ModelPatcher stand-in: clone() and add_wrapper_with_key()."""

    def __init__(self):
        self.wrappers = {}
        self.model = types.SimpleNamespace(diffusion_model=types.SimpleNamespace(patch_size=2),
                                           latent_format=types.SimpleNamespace(process_in=lambda x: x))

    def clone(self):
        m = FakeModel()
        m.wrappers = {k: dict(v) for k, v in self.wrappers.items()}
        return m

    def add_wrapper_with_key(self, kind, key, fn):
        self.wrappers.setdefault(kind, {})[key] = fn


def install_patcher_extension(monkeypatch):
    """``comfy.patcher_extension`` as Tiled Denoise uses it (outside ComfyUI)."""
    comfy = types.ModuleType("comfy")
    ext = types.ModuleType("comfy.patcher_extension")
    ext.WrappersMP = types.SimpleNamespace(CALC_COND_BATCH="calc_cond_batch")
    comfy.patcher_extension = ext
    monkeypatch.setitem(sys.modules, "comfy", comfy)
    monkeypatch.setitem(sys.modules, "comfy.patcher_extension", ext)


class FakeUpscaleModel:
    """What ComfyUI's UPSCALE_MODEL (a spandrel descriptor) offers: a conv x2 network, callable on [B, C, H, W]."""

    def __init__(self):
        torch.manual_seed(0)
        self.model = torch.nn.Sequential(torch.nn.Conv2d(3, 12, 3, padding=1), torch.nn.PixelShuffle(2))
        self.scale = 2
        self.input_channels = 3
        self.size_requirements = types.SimpleNamespace(minimum=8, multiple_of=4, square=False)

    def to(self, device):
        self.model.to(device)
        return self

    def __call__(self, x):
        return self.model(x)


class FakeVAE:
    """What a ComfyUI VAE offers the node: ``encode(pixels [B, H, W, 3]) -> latent [B, 16, H/8, W/8]``."""

    def __init__(self):
        self.seen = None

    def encode(self, pixels):
        self.seen = pixels.shape
        return torch.nn.functional.avg_pool2d(pixels.permute(0, 3, 1, 2), 8).repeat(1, 6, 1, 1)[:, :16]


def install_folder_paths(tmp_path, monkeypatch=None):
    """A stand-in for ComfyUI's folder_paths: input/ and output/ under tmp_path (left installed without ``monkeypatch``)."""
    from pathlib import Path

    tmp_path = Path(tmp_path)
    inp, outp = tmp_path / "input", tmp_path / "output"
    inp.mkdir(exist_ok=True)
    outp.mkdir(exist_ok=True)
    fp = types.ModuleType("folder_paths")
    fp.get_input_directory = lambda: str(inp)
    fp.get_output_directory = lambda: str(outp)
    fp.get_temp_directory = lambda: str(tmp_path / "temp")

    def annotated_filepath(name):  # ComfyUI's own rule: a trailing [input] / [output] / [temp] names the folder
        for tag, folder in (("[output]", outp), ("[input]", inp), ("[temp]", tmp_path / "temp")):
            if name.endswith(tag):
                return name[: -len(tag) - 1], str(folder)
        return name, None

    fp.annotated_filepath = annotated_filepath

    def get_save_image_path(prefix, out_dir, w=0, h=0):
        sub, name = os.path.split(prefix)
        os.makedirs(os.path.join(out_dir, sub), exist_ok=True)
        return os.path.join(out_dir, sub), name, 1, sub, prefix

    fp.get_save_image_path = get_save_image_path
    if monkeypatch is None:
        sys.modules["folder_paths"] = fp
    else:
        monkeypatch.setitem(sys.modules, "folder_paths", fp)
    return inp, outp


class FakeCLIP:
    """What a ComfyUI CLIP offers a text node: ``tokenize(text)`` and ``encode_from_tokens_scheduled(tokens)``."""

    def tokenize(self, text):
        return {"words": text.split()}

    def encode_from_tokens_scheduled(self, tokens):
        n = max(1, len(tokens["words"]))
        return [[torch.zeros(1, n, 8), {"pooled_output": torch.zeros(1, 8)}]]
