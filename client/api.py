"""A small client for ComfyUI's HTTP API (standard library only).

Covers what headless use needs: node definitions, image upload, queueing a
prompt, waiting for it, and downloading what it saved.
"""

from __future__ import annotations

import json
import mimetypes
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional


class ComfyError(RuntimeError):
    """The server refused a prompt or a run failed; ``details`` holds the server's JSON."""

    def __init__(self, message: str, details: Any = None):
        super().__init__(message)
        self.details = details


@dataclass
class OutputFile:
    node_id: str
    filename: str
    subfolder: str
    type: str


def describe_prompt_error(body: Dict[str, Any]) -> str:
    """The server's validation errors, one line per problem."""
    lines = []
    err = body.get("error") or {}
    if err:
        lines.append(f"{err.get('message', 'error')}: {err.get('details', '')}".rstrip(": "))
    for node_id, ne in (body.get("node_errors") or {}).items():
        for e in ne.get("errors", []):
            lines.append(f"node {node_id} ({ne.get('class_type', '?')}): {e.get('message', '')}: {e.get('details', '')}")
    return "\n".join(lines) or json.dumps(body)


def describe_execution_error(entry: Dict[str, Any]) -> str:
    """The failing node and exception of a finished-with-error history entry."""
    for kind, data in entry.get("status", {}).get("messages", []):
        if kind == "execution_error":
            return f"node {data.get('node_id')} ({data.get('node_type')}): {data.get('exception_type')}: {data.get('exception_message', '').strip()}"
        if kind == "execution_interrupted":
            return f"interrupted at node {data.get('node_id')} ({data.get('node_type')})"
    return "the run failed"


class ComfyClient:
    def __init__(self, base_url: str = "http://127.0.0.1:8188", timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.client_id = uuid.uuid4().hex

    # -- plumbing -------------------------------------------------------
    def _request(self, path: str, data: Optional[bytes] = None, headers: Optional[dict] = None, method: Optional[str] = None) -> bytes:
        req = urllib.request.Request(self.base_url + path, data=data, headers=headers or {}, method=method)
        with urllib.request.urlopen(req, timeout=self.timeout) as r:
            return r.read()

    def get_json(self, path: str) -> Any:
        return json.loads(self._request(path))

    def post_json(self, path: str, payload: Any) -> Any:
        body = self._request(path, json.dumps(payload).encode(), {"Content-Type": "application/json"})
        return json.loads(body) if body else None

    # -- API ------------------------------------------------------------
    def object_info(self) -> Dict[str, Any]:
        return self.get_json("/object_info")

    def upload_image(self, data: bytes, filename: str, subfolder: str = "", overwrite: bool = True) -> str:
        """Upload an image to the input folder; returns the name a LoadImage node takes."""
        boundary = uuid.uuid4().hex
        ctype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        parts = []
        for name, value in (("overwrite", "true" if overwrite else "false"), ("subfolder", subfolder), ("type", "input")):
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{filename}"\r\n'
            f"Content-Type: {ctype}\r\n\r\n".encode() + data + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        body = self._request("/upload/image", b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        info = json.loads(body)
        return f"{info['subfolder']}/{info['name']}" if info.get("subfolder") else info["name"]

    def queue(self, prompt: Dict[str, Any]) -> str:
        """Queue an API-format prompt; raises ComfyError with the node errors when the server rejects it."""
        try:
            res = self.post_json("/prompt", {"prompt": prompt, "client_id": self.client_id})
        except urllib.error.HTTPError as e:
            try:
                body = json.loads(e.read())
            except ValueError:
                raise ComfyError(f"the server refused the prompt: HTTP {e.code}") from None
            raise ComfyError("the server refused the prompt:\n" + describe_prompt_error(body), body) from None
        return res["prompt_id"]

    def history(self, prompt_id: str) -> Optional[Dict[str, Any]]:
        return self.get_json(f"/history/{prompt_id}").get(prompt_id)

    def wait(self, prompt_id: str, timeout: float = 600.0, poll: float = 0.25, on_poll: Optional[Callable[[], None]] = None) -> Dict[str, Any]:
        """Block until the prompt finished; raise ComfyError if it failed or took longer than ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            entry = self.history(prompt_id)
            if entry and entry.get("status", {}).get("completed") is not None:
                if entry["status"].get("status_str") == "error":
                    raise ComfyError(describe_execution_error(entry), entry)
                return entry
            if on_poll:
                on_poll()
            time.sleep(poll)
        raise ComfyError(f"prompt {prompt_id} did not finish within {timeout:.0f} s")

    @staticmethod
    def output_files(entry: Dict[str, Any]) -> List[OutputFile]:
        files = []
        for node_id, out in entry.get("outputs", {}).items():
            for kind in ("images", "gifs", "files", "latents", "audio"):
                for f in out.get(kind, []):
                    files.append(OutputFile(node_id, f["filename"], f.get("subfolder", ""), f.get("type", "output")))
        return files

    def download(self, f: OutputFile) -> bytes:
        q = urllib.parse.urlencode({"filename": f.filename, "subfolder": f.subfolder, "type": f.type})
        return self._request(f"/view?{q}")

    def interrupt(self) -> None:
        self._request("/interrupt", b"", method="POST")
