"""A small client for ComfyUI's HTTP API (standard library only).

Covers what headless use needs: node definitions, image upload, queueing a
prompt, waiting for it, and downloading what it saved. It does not trust the
server: every reply is capped at ``max_bytes`` (error bodies are cut to a few
lines), every request ends by its deadline even when the server trickles
bytes, and ``safe_output_path`` keeps downloads inside the output folder
whatever names the server gives them.
"""

from __future__ import annotations

import http.client
import json
import mimetypes
import os
import socket
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Dict, List, Optional

DEFAULT_MAX_BYTES = 4 << 30  # the largest reply (an output file) the client reads: 4 GiB
JSON_MAX_BYTES = 64 << 20  # the largest JSON reply (/object_info of a big install is a few MB)
ERROR_TEXT_LIMIT = 4000  # characters of a server's error shown to the user
CHUNK = 1 << 16


def _shut(sock: socket.socket) -> None:
    """Unblock whatever is waiting on ``sock`` (the request's deadline passed)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class ComfyError(RuntimeError):
    """The server refused a prompt or a run failed; ``details`` holds the server's JSON."""

    def __init__(self, message: str, details: Any = None):
        super().__init__(message)
        self.details = details


class HTTPStatusError(ComfyError):
    """The server answered with an error status; ``body`` holds (at most 1 MiB of) what it said."""

    def __init__(self, status: int, body: bytes):
        super().__init__(f"HTTP {status}: {clip_text(body.decode('utf-8', 'replace'), 300)}")
        self.status, self.body = status, body


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


def clip_text(text: str, limit: int = ERROR_TEXT_LIMIT) -> str:
    """``text`` cut to ``limit`` characters (what a server says is shown, not trusted to be short)."""
    return text if len(text) <= limit else text[:limit] + f" ... ({len(text) - limit} more characters)"


def safe_output_path(out_dir: Path, subfolder: str, filename: str, kind: str = "output") -> Path:
    """Where a server's output file goes: ``out_dir/[kind/]subfolder/filename``, always inside ``out_dir``.

    ``subfolder`` and ``filename`` come from the server: absolute names, drive
    letters, ``..``, empty or dot components and control characters are
    refused (ValueError); files of type ``temp`` / ``input`` go under a folder
    of that name so they never overwrite outputs of the same name.
    """
    parts = []
    for text in ((kind,) if kind not in ("", "output") else ()) + (subfolder or "", filename or ""):
        if any(ord(ch) < 32 for ch in text) or "\\" in text or ":" in text:
            raise ValueError(f"the server named an output {text!r}: not a plain relative path")
        path = PurePosixPath(text)
        if path.is_absolute() or any(p in ("..", ".") for p in path.parts):
            raise ValueError(f"the server named an output {text!r}: outside the output folder")
        parts.extend(path.parts)
    if not filename or not parts:
        raise ValueError("the server gave an output without a file name")
    return Path(out_dir).joinpath(*parts)


def write_output(out_dir: Path, subfolder: str, filename: str, data: bytes, kind: str = "output") -> Path:
    """Write a downloaded file at ``safe_output_path``, never through a link out of ``out_dir`` and never over a file.

    An existing file keeps its place: the new one gets ``_1``, ``_2`` ... before its extension.
    """
    dst = safe_output_path(out_dir, subfolder, filename, kind)
    dst.parent.mkdir(parents=True, exist_ok=True)
    root = Path(out_dir).resolve()
    if os.path.commonpath([str(dst.parent.resolve()), str(root)]) != str(root):
        raise ValueError(f"the output folder for {filename!r} leads outside {out_dir} (a link)")
    stem, suffix, k = dst.stem, dst.suffix, 0
    while True:
        try:
            with open(dst, "xb") as f:  # exclusive: never overwrite, never follow a link planted at the name
                f.write(data)
            return dst
        except FileExistsError:
            k += 1
            dst = dst.with_name(f"{stem}_{k}{suffix}")


class ComfyClient:
    """``timeout``: seconds any one request may take in all; ``deadline`` (``time.monotonic()``): the latest any may end."""

    def __init__(self, base_url: str = "http://127.0.0.1:8188", timeout: float = 60.0, max_bytes: int = DEFAULT_MAX_BYTES,
                 deadline: Optional[float] = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.deadline = deadline
        self.client_id = uuid.uuid4().hex

    # -- plumbing -------------------------------------------------------
    def _ends_by(self) -> float:
        end = time.monotonic() + self.timeout
        return end if self.deadline is None else min(end, self.deadline)

    def _request(self, path: str, data: Optional[bytes] = None, headers: Optional[dict] = None, method: Optional[str] = None,
                 limit: Optional[int] = None) -> bytes:
        """One request, over by ``_ends_by()`` whatever the server does (a watchdog shuts the socket at the deadline).

        Returns the body (at most ``limit`` or ``max_bytes``); an HTTP error status raises ``HTTPStatusError``.
        """
        ends_by = self._ends_by()
        limit = self.max_bytes if limit is None else limit
        left = ends_by - time.monotonic()
        if left <= 0:
            raise ComfyError("out of time before asking the server")
        url = urllib.parse.urlsplit(self.base_url + path)
        kind = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        conn = kind(url.hostname, url.port, timeout=left)
        timer = None
        try:
            conn.connect()  # the socket outlives conn.sock (http.client hands it to the response)
            timer = threading.Timer(max(0.0, ends_by - time.monotonic()), _shut, (conn.sock,))
            timer.daemon = True
            timer.start()
            target = url.path + (f"?{url.query}" if url.query else "")
            conn.request(method or ("POST" if data is not None else "GET"), target, body=data, headers=headers or {})
            r = conn.getresponse()
            size = r.getheader("Content-Length")
            cap = limit if r.status < 400 else 1 << 20
            if size and size.isdigit() and int(size) > cap:
                raise ComfyError(f"the server's reply is {int(size)} bytes, more than the {cap} allowed (--max-bytes)")
            chunks, total = [], 0
            while True:
                chunk = r.read(CHUNK)
                if not chunk:
                    break
                total += len(chunk)
                if total > cap:
                    raise ComfyError(f"the server's reply is more than the {cap} bytes allowed (--max-bytes)")
                chunks.append(chunk)
            body = b"".join(chunks)
            if time.monotonic() > ends_by:
                raise ComfyError("the server did not answer in time")
        except (OSError, http.client.HTTPException) as e:
            if time.monotonic() >= ends_by - 1e-3:
                raise ComfyError("the server did not answer in time") from None
            raise ComfyError(f"cannot talk to the server at {self.base_url}: {clip_text(str(e), 200)}") from None
        finally:
            if timer is not None:
                timer.cancel()
            conn.close()
        if r.status >= 400:
            raise HTTPStatusError(r.status, body)
        return body

    def get_json(self, path: str) -> Any:
        return json.loads(self._request(path, limit=min(self.max_bytes, JSON_MAX_BYTES)))

    def post_json(self, path: str, payload: Any) -> Any:
        body = self._request(path, json.dumps(payload).encode(), {"Content-Type": "application/json"},
                             limit=min(self.max_bytes, JSON_MAX_BYTES))
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
        except HTTPStatusError as e:
            try:
                body = json.loads(e.body)
            except ValueError:
                raise ComfyError(f"the server refused the prompt: HTTP {e.status}") from None
            raise ComfyError("the server refused the prompt:\n" + clip_text(describe_prompt_error(body)), body) from None
        return res["prompt_id"]

    def history(self, prompt_id: str) -> Optional[Dict[str, Any]]:
        entry = self.get_json(f"/history/{urllib.parse.quote(prompt_id)}")
        return entry.get(prompt_id) if isinstance(entry, dict) else None

    def wait(self, prompt_id: str, timeout: float = 600.0, poll: float = 0.25, on_poll: Optional[Callable[[], None]] = None) -> Dict[str, Any]:
        """Block until the prompt finished; raise ComfyError if it failed or took longer than ``timeout``."""
        deadline = time.monotonic() + timeout
        if self.deadline is not None:
            deadline = min(deadline, self.deadline)
        while time.monotonic() < deadline:
            entry = self.history(prompt_id)
            if entry and entry.get("status", {}).get("completed") is not None:
                kinds = {m[0] for m in entry["status"].get("messages") or [] if isinstance(m, (list, tuple)) and m}
                # ComfyUI v0.3.64 files some failures (a dependency cycle in an expanded graph) as "success" with an
                # execution_error message and no outputs: the message decides
                if entry["status"].get("status_str") == "error" or kinds & {"execution_error", "execution_interrupted"}:
                    raise ComfyError(clip_text(describe_execution_error(entry)), entry)
                return entry
            if on_poll:
                on_poll()
            time.sleep(poll)
        raise ComfyError(f"prompt {prompt_id} did not finish within {timeout:.0f} s")

    @staticmethod
    def output_files(entry: Dict[str, Any]) -> List[OutputFile]:
        files = []
        for node_id, out in (entry.get("outputs") or {}).items():
            for kind in ("images", "gifs", "files", "latents", "audio"):
                for f in (out.get(kind) or []) if isinstance(out, dict) else []:
                    if isinstance(f, dict) and isinstance(f.get("filename"), str):
                        files.append(OutputFile(node_id, f["filename"], str(f.get("subfolder") or ""), str(f.get("type") or "output")))
        return files

    def download(self, f: OutputFile) -> bytes:
        q = urllib.parse.urlencode({"filename": f.filename, "subfolder": f.subfolder, "type": f.type})
        return self._request(f"/view?{q}")

    def interrupt(self) -> None:
        self._request("/interrupt", b"", method="POST")
