"""Queue a workflow on a ComfyUI server from the command line.

    python -m client run WORKFLOW [--image PHOTO_OR_FOLDER] [--out DIR]   # starts ComfyUI for the job: see client/run.py
    python -m client WORKFLOW.json [--server URL] [--image TITLE=photo.png] [--set TITLE.input=value] [--out DIR]

* WORKFLOW: API format (``*.api.json``), or UI format (what the editor saves),
  converted with the server's own ``/object_info``;
* ``--image TITLE=PATH`` uploads PATH and puts it in that Load Image node;
* ``--set TITLE.INPUT=VALUE`` sets any widget (VALUE is read as JSON when it
  parses, e.g. ``--set "Upscale each tile.seed=7"``, else as a string); TITLE
  is the node's title or its id;
* progress is followed over ComfyUI's websocket (``client/ws.py``) and
  printed to stderr;
* every saved file is downloaded into ``--out``; their paths are printed.

Exit status: 0 on success, 1 when the server refuses the prompt or the run
fails (the server's node error is printed), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from .api import DEFAULT_MAX_BYTES, ComfyClient, ComfyError, clip_text, write_output
from .ws import WebSocketReader

try:
    from ..graph.ui_format import ui_to_api
except (ImportError, ValueError):  # run as a top-level package: python -m client from the repo root
    from graph.ui_format import ui_to_api


def find_node(prompt: Dict[str, Any], ref: str) -> str:
    """The id of the node titled ``ref`` (or with id ``ref``); errors list the titles there are."""
    if ref in prompt:
        return ref
    hits = [k for k, v in prompt.items() if (v.get("_meta") or {}).get("title") == ref]
    if len(hits) == 1:
        return hits[0]
    titles = sorted({(v.get("_meta") or {}).get("title", "") for v in prompt.values()} - {""})
    if not hits:
        raise ValueError(f"no node titled {ref!r}; titles: {', '.join(titles)}")
    raise ValueError(f"{len(hits)} nodes are titled {ref!r} (ids {', '.join(hits)}); use an id")


def parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def apply_settings(prompt: Dict[str, Any], settings: List[str]) -> None:
    for item in settings:
        target, sep, value = item.partition("=")
        ref, dot, name = target.rpartition(".")
        if not sep or not dot:
            raise ValueError(f"--set wants TITLE.INPUT=VALUE, got {item!r}")
        node = prompt[find_node(prompt, ref)]
        if name not in node["inputs"]:
            raise ValueError(f"node {ref!r} ({node['class_type']}) has no input {name!r}; inputs: {', '.join(node['inputs'])}")
        if isinstance(node["inputs"][name], list):
            raise ValueError(f"{ref}.{name} is a link, not a widget")
        node["inputs"][name] = parse_value(value)


def load_prompt(client: ComfyClient, path: Path) -> Dict[str, Any]:
    data = json.loads(path.read_text())
    if isinstance(data, dict) and "nodes" in data and "links" in data:
        return ui_to_api(data, client.object_info())
    if isinstance(data, dict) and "prompt" in data and isinstance(data["prompt"], dict):
        return data["prompt"]
    return data


class Progress:
    """Follows the run over ComfyUI's websocket and prints one line per change (nothing when the socket cannot open)."""

    def __init__(self, client: ComfyClient, prompt: Dict[str, Any], stream=sys.stderr):
        self.client, self.prompt, self.stream = client, prompt, stream
        self.last = None
        try:
            url = client.base_url.replace("http", "ws", 1) + f"/ws?clientId={client.client_id}"
            self.ws = WebSocketReader(url, timeout=5.0)
        except OSError:
            self.ws = None

    def _name(self, node_id) -> str:
        node = self.prompt.get(str(node_id), {})
        return (node.get("_meta") or {}).get("title") or node.get("class_type", str(node_id))

    def _say(self, line: str) -> None:
        if line != self.last:
            print(line, file=self.stream)
            self.last = line

    def poll(self, budget: float = 0.5) -> None:
        """Print what arrived, for at most ``budget`` seconds (a chatty server cannot hold the client here)."""
        if self.ws is None:
            return
        until = time.monotonic() + budget
        try:
            while (left := until - time.monotonic()) > 0:
                raw = self.ws.recv_text(left)
                if raw is None:
                    return
                msg = json.loads(raw)
                if not isinstance(msg, dict) or not isinstance(msg.get("data", {}), dict):
                    continue
                kind, data = msg.get("type"), msg.get("data", {})
                if kind == "executing" and data.get("node") is not None:
                    self._say(f"  running {self._name(data['node'])}")
                elif kind == "progress" and data.get("max"):
                    value, top = data.get("value"), data.get("max")
                    if isinstance(value, int) and isinstance(top, int) and (value == top or value % max(1, top // 10) == 0):
                        self._say(f"  {self._name(data.get('node'))}: {value}/{top}")
                elif kind == "progress_text":
                    self._say(f"  {clip_text(str(data.get('text', '')), 200)}")
        except (OSError, ValueError):
            self.close()
            self.ws = None  # the socket broke: the run goes on, without progress lines

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["run"]:
        from .run import main as run_main

        return run_main(argv[1:])
    ap = argparse.ArgumentParser(prog="python -m client", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workflow", type=Path, help="workflow JSON (API or UI format)")
    ap.add_argument("--server", default="http://127.0.0.1:8188", help="ComfyUI's address (default %(default)s)")
    ap.add_argument("--image", action="append", default=[], metavar="TITLE=PATH", help="upload PATH into that Load Image node")
    ap.add_argument("--set", action="append", default=[], metavar="TITLE.INPUT=VALUE", help="set a widget value")
    ap.add_argument("--out", type=Path, default=Path("."), help="folder for the downloaded outputs (default: here)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds the whole run may take, uploads and downloads included (default %(default)s)")
    ap.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="largest reply or output file to accept (default %(default)s)")
    args = ap.parse_args(argv)
    if args.timeout <= 0 or args.max_bytes <= 0:
        print("error: --timeout and --max-bytes must be positive", file=sys.stderr)
        return 2
    client = ComfyClient(args.server, timeout=min(120.0, args.timeout), max_bytes=args.max_bytes,
                         deadline=time.monotonic() + args.timeout)
    try:
        prompt = load_prompt(client, args.workflow)
        for item in args.image:
            ref, sep, path = item.partition("=")
            if not sep:
                raise ValueError(f"--image wants TITLE=PATH, got {item!r}")
            node = prompt[find_node(prompt, ref)]
            if "image" not in node["inputs"]:
                raise ValueError(f"node {ref!r} ({node['class_type']}) has no image input")
            node["inputs"]["image"] = client.upload_image(Path(path).read_bytes(), Path(path).name)
        apply_settings(prompt, args.set)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ComfyError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    progress = Progress(client, prompt)
    try:
        start = time.monotonic()
        prompt_id = client.queue(prompt)
        print(f"queued {prompt_id}", file=sys.stderr)
        entry = client.wait(prompt_id, timeout=args.timeout, poll=0.2, on_poll=progress.poll)
        args.out.mkdir(parents=True, exist_ok=True)
        for f in client.output_files(entry):
            print(write_output(args.out, f.subfolder, f.filename, client.download(f), f.type))
        print(f"done in {time.monotonic() - start:.1f} s", file=sys.stderr)
        return 0
    except (ComfyError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        progress.close()
