"""``python -m client run``: one workflow over one photo or a folder of photos, ComfyUI started for the job.

    python -m client run tilestitch_demo --out results
    python -m client run upscale_x4_tiled --image photos/ --out results --set "Upscale model.model_name=4x.pth"

* WORKFLOW: a shipped workflow's name (``python -m client run --list``) or a
  workflow file (API or UI format);
* ``--image PATH``: a photo, or a folder (every image file in it, sorted; one
  prompt per file), put into the workflow's image loader; with several
  loaders, ``--image TITLE=PATH`` says which one;
* the server: ``--server URL`` uses a running ComfyUI; otherwise the
  ComfyUI around the pack (or ``--comfyui`` / ``$COMFYUI_PATH``) is started
  headless on a free loopback port and stopped at the end (see
  ``client/server.py``);
* every saved file is downloaded into ``--out``, its name starting with the
  photo's name; nothing there is overwritten (a second run adds ``_1``);
* a failed photo is reported and skipped; the exit status is 1 when any
  failed, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import copy
import json
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from .api import DEFAULT_MAX_BYTES, ComfyClient, ComfyError, clip_text, write_output
from .server import LocalComfyUI, find_comfyui, find_python, has_accelerator

try:
    from ..graph import shipped
except (ImportError, ValueError):  # run as a top-level package: python -m client from the pack's folder
    from graph import shipped

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp")
LOADERS = ("LoadImage", "TileStitchLoadImage16")
UPLOAD_SUBFOLDER = "tilestitch_client"  # uploads go here inside ComfyUI's input folder, away from the user's files


def resolve_workflow(ref: str) -> Path:
    """A workflow file, or a shipped workflow's name (its API twin when there is one)."""
    path = Path(ref).expanduser()
    if path.is_file():
        return path
    for cand in (shipped.api_workflow(ref), shipped.ui_workflow(ref)):
        if cand.is_file():
            return cand
    raise ValueError(f"no workflow file {ref!r} and no shipped workflow of that name; shipped: {', '.join(shipped.workflow_names())}")


def image_files(path: Path) -> List[Path]:
    """``path`` itself, or the image files of the folder ``path`` (sorted, hidden files left out)."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
                       and p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f"folder {path} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
        return files
    if not path.is_file():
        raise ValueError(f"--image {path}: no such file or folder")
    return [path]


def loader_nodes(prompt: Dict[str, Any]) -> List[str]:
    return [k for k, v in prompt.items() if v.get("class_type") in LOADERS and isinstance(v.get("inputs", {}).get("image"), str)]


def title_of(prompt: Dict[str, Any], node_id: str) -> str:
    node = prompt[node_id]
    return (node.get("_meta") or {}).get("title") or node.get("class_type", node_id)


@dataclass
class ImageInput:
    node_id: str
    files: List[Path]


def plan_inputs(prompt: Dict[str, Any], items: List[str], find_node) -> List[ImageInput]:
    """Which loader takes which files; at most one of them may be a folder (the batch)."""
    inputs = []
    for item in items:
        ref, sep, path = item.partition("=")
        if sep and not Path(item).exists():
            node_id = find_node(prompt, ref)
            if prompt[node_id].get("class_type") not in LOADERS:
                raise ValueError(f"node {ref!r} ({prompt[node_id].get('class_type')}) is not an image loader")
        else:
            loaders = loader_nodes(prompt)
            if len(loaders) != 1:
                names = ", ".join(repr(title_of(prompt, k)) for k in loaders) or "none"
                raise ValueError(f"the workflow has {len(loaders)} image loaders ({names}): use --image TITLE=PATH")
            node_id, path = loaders[0], item
        inputs.append(ImageInput(node_id, image_files(Path(path).expanduser())))
    if sum(len(i.files) > 1 for i in inputs) > 1:
        raise ValueError("only one --image may be a folder")
    if len({i.node_id for i in inputs}) != len(inputs):
        raise ValueError("two --image options name the same loader")
    return inputs


@dataclass
class Job:
    files: List[Tuple[str, Path]]  # (loader node id, photo)
    stem: str  # what the results are named after: the photo that changes from job to job

    @property
    def label(self) -> str:
        return ", ".join(p.name for _, p in self.files)


def jobs(inputs: List[ImageInput]) -> List[Job]:
    """One job per file of the folder input (the other loaders get their one file each time)."""
    if not inputs:
        return [Job([], "")]
    batch = max(inputs, key=lambda i: len(i.files))
    return [Job([(i.node_id, i.files[k] if len(i.files) > 1 else i.files[0]) for i in inputs], batch.files[k].stem)
            for k in range(len(batch.files))]


def name_outputs(prompt: Dict[str, Any], stem: str) -> None:
    """Start every saver's file names with ``stem`` (the photo's name), keeping the prefix's subfolder."""
    for node in prompt.values():
        prefix = node.get("inputs", {}).get("filename_prefix")
        if isinstance(prefix, str):
            folder, _, base = prefix.rpartition("/")
            node["inputs"]["filename_prefix"] = (folder + "/" if folder else "") + f"{stem}_{base or 'output'}"


def run_job(client: ComfyClient, base: Dict[str, Any], job: Job, out: Path, timeout: float,
            previews: bool, progress_factory) -> Tuple[List[Path], List[str]]:
    """Upload, queue, wait, download; returns the files written and the nodes' text reports (e.g. the seam summary).

    Raises ComfyError / OSError / ValueError when the job fails.
    """
    prompt = copy.deepcopy(base)
    for node_id, path in job.files:
        prompt[node_id]["inputs"]["image"] = client.upload_image(path.read_bytes(), path.name, subfolder=UPLOAD_SUBFOLDER)
    if job.stem:
        name_outputs(prompt, job.stem)
    client.deadline = time.monotonic() + timeout
    progress = progress_factory(client, prompt)
    try:
        prompt_id = client.queue(prompt)
        entry = client.wait(prompt_id, timeout=timeout, poll=0.2, on_poll=progress.poll)
        written = []
        for f in client.output_files(entry):
            if f.type == "output" or previews:
                written.append(write_output(out, f.subfolder, f.filename, client.download(f), f.type))
        texts = [f"{title_of(prompt, node_id) if node_id in prompt else node_id}: {clip_text(str(t), 2000)}"
                 for node_id, shown in (entry.get("outputs") or {}).items() if isinstance(shown, dict)
                 for t in (shown.get("text") or []) if isinstance(t, str)]
        return written, texts
    except KeyboardInterrupt:
        try:
            client.deadline = time.monotonic() + 5
            client.interrupt()
        except ComfyError:
            pass
        raise
    finally:
        progress.close()


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m client run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workflow", nargs="?", help="a shipped workflow's name or a workflow file (API or UI format)")
    ap.add_argument("--list", action="store_true", help="list the shipped workflows and exit")
    ap.add_argument("--image", action="append", default=[], metavar="[TITLE=]PATH", help="a photo or a folder of photos")
    ap.add_argument("--set", action="append", default=[], metavar="TITLE.INPUT=VALUE", help="set a widget value (JSON when it parses)")
    ap.add_argument("--out", type=Path, default=Path("tilestitch_results"), help="folder for the results (default: %(default)s)")
    ap.add_argument("--previews", action="store_true", help="also download preview images (ComfyUI's temp outputs)")
    ap.add_argument("--server", help="use this running ComfyUI (e.g. http://127.0.0.1:8188) instead of starting one")
    ap.add_argument("--comfyui", help="the ComfyUI folder to start (default: $COMFYUI_PATH, the ComfyUI around the pack, ~/ComfyUI)")
    ap.add_argument("--python", help="the Python that runs it (default: $COMFYUI_PYTHON, its .venv / venv, this Python)")
    ap.add_argument("--comfyui-args", default="", metavar="ARGS", help="more arguments for ComfyUI's main.py, e.g. \"--cpu\"")
    ap.add_argument("--boot-timeout", type=float, default=600.0, help="seconds ComfyUI may take to start (default %(default)s)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds one photo may take, upload and downloads included (default %(default)s)")
    ap.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="largest reply or output file to accept (default %(default)s)")
    return ap


def main(argv: Optional[List[str]] = None, stream=sys.stderr) -> int:
    from .cli import Progress, apply_settings, find_node, load_prompt

    ap = build_parser()
    args = ap.parse_args(argv)
    if args.list:
        for name in shipped.workflow_names():
            print(name)
        return 0
    if not args.workflow:
        ap.print_usage(stream)
        print("error: name a workflow (python -m client run --list shows the shipped ones)", file=stream)
        return 2
    if args.timeout <= 0 or args.max_bytes <= 0 or args.boot_timeout <= 0:
        print("error: --timeout, --boot-timeout and --max-bytes must be positive", file=stream)
        return 2
    try:
        workflow = resolve_workflow(args.workflow)
        raw = json.loads(workflow.read_text(encoding="utf-8"))
        is_ui = isinstance(raw, dict) and "nodes" in raw and "links" in raw
        comfy = None if args.server else find_comfyui(args.comfyui)
        extra = shlex.split(args.comfyui_args)
    except (ValueError, OSError, ComfyError) as e:
        print(f"error: {e}", file=stream)
        return 2

    def go(url: str) -> int:
        client = ComfyClient(url, timeout=min(120.0, args.timeout), max_bytes=args.max_bytes)
        try:
            base = load_prompt(client, workflow)
            inputs = plan_inputs(base, args.image, find_node)
            apply_settings(base, args.set)
        except (ValueError, OSError) as e:
            print(f"error: {e}", file=stream)
            return 2
        except ComfyError as e:
            print(f"error: {e}", file=stream)
            return 1
        todo = jobs(inputs)
        args.out.mkdir(parents=True, exist_ok=True)
        failed: List[Tuple[str, str]] = []
        for k, job in enumerate(todo, 1):
            label = job.label or workflow.name.removesuffix(".json").removesuffix(".api")
            print(f"[{k}/{len(todo)}] {label}", file=stream)
            start = time.monotonic()
            try:
                written, texts = run_job(client, base, job, args.out, args.timeout, args.previews,
                                         lambda c, p: Progress(c, p, stream))
            except (ComfyError, OSError, ValueError) as e:
                reason = clip_text(str(e), 2000)
                failed.append((label, reason.splitlines()[0] if reason else "failed"))
                print(f"[{k}/{len(todo)}] {label}: FAILED, skipped: {reason}", file=stream)
                continue
            for text in texts:
                print("  " + text.replace("\n", "\n  "), file=stream)
            for path in written:
                print(path)
            print(f"[{k}/{len(todo)}] {label}: done in {time.monotonic() - start:.1f} s, {len(written)} file(s)", file=stream)
        done = len(todo) - len(failed)
        print(f"{done} of {len(todo)} done" + (f", {len(failed)} failed: " + "; ".join(f"{n} ({r})" for n, r in failed) if failed else "")
              + f"; results in {args.out}", file=stream)
        return 1 if failed else 0

    if args.server:
        return go(args.server)
    python = find_python(comfy, args.python)
    if "--cpu" not in extra and not has_accelerator(python):
        extra.insert(0, "--cpu")
        print(f"no GPU visible to {python}: ComfyUI runs with --cpu (slow for diffusion models, fine for the demo)", file=stream)
    print(f"starting ComfyUI at {comfy} with {python}{' (UI workflow: converted with its node list)' if is_ui else ''} ...", file=stream)
    t0 = time.monotonic()
    try:
        with LocalComfyUI(comfy, python, extra, boot_timeout=args.boot_timeout) as url:
            print(f"ComfyUI ready at {url} after {time.monotonic() - t0:.0f} s", file=stream)
            return go(url)
    except ComfyError as e:
        print(f"error: {e}", file=stream)
        return 1
    except KeyboardInterrupt:
        print("stopped (Ctrl-C); ComfyUI was shut down", file=stream)
        return 130
