"""The headless client against a hostile server on 127.0.0.1: names that escape, huge replies, trickled bytes."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tilestitch.client.api import ComfyClient, ComfyError, safe_output_path
from tilestitch.client.cli import main

PROMPT = {"1": {"class_type": "SaveImage", "inputs": {"filename_prefix": "x"}, "_meta": {"title": "Save"}}}


class Hostile(BaseHTTPRequestHandler):
    """``mode`` (a class attribute set per test) says how this server misbehaves."""

    mode = "names"
    outputs = []

    def log_message(self, *args):  # quiet
        pass

    def _json(self, obj, status=200):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, total, status=200, pace=0.0):
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        chunk = b"x" * (1 if pace else 1 << 16)
        sent = 0
        try:
            while sent < total:
                self.wfile.write(chunk)
                self.wfile.flush()
                sent += len(chunk)
                if pace:
                    time.sleep(pace)
        except OSError:
            pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.mode == "huge_error":
            return self._stream(200 << 20, status=400)
        self._json({"prompt_id": "p1"})

    def do_GET(self):
        if self.path.startswith("/history/"):
            if self.mode == "trickle":
                return self._stream(1 << 20, pace=0.5)
            if self.mode == "success_with_error":  # what ComfyUI v0.3.64 files for a dependency cycle in an expansion
                return self._json({"p1": {"status": {"completed": True, "status_str": "success", "messages": [
                    ["execution_start", {}], ["execution_error", {"node_id": "5", "node_type": "TileStitchTileLoopEnd",
                                                                  "exception_type": "graph.DependencyCycleError",
                                                                  "exception_message": "Dependency cycle detected"}]]},
                    "outputs": {}}})
            return self._json({"p1": {"status": {"completed": True, "status_str": "success"},
                                      "outputs": {"1": {"images": self.outputs}}}})
        if self.path.startswith("/view"):
            if self.mode == "huge":
                return self._stream(200 << 20)
            q = dict(p.split("=", 1) for p in self.path.split("?", 1)[1].split("&"))
            return self._json({"file": q.get("filename")})
        self._json({})


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def run(server, tmp_path, *extra):
    wf = tmp_path / "wf.api.json"
    wf.write_text(json.dumps(PROMPT))
    return main([str(wf), "--server", server, "--out", str(tmp_path / "out"), *extra])


def test_downloads_stay_inside_out_with_their_subfolders(server, tmp_path, capsys):
    Hostile.mode = "names"
    Hostile.outputs = [
        {"filename": "a.png", "subfolder": "one", "type": "output"},
        {"filename": "a.png", "subfolder": "two", "type": "output"},  # same name, another subfolder
        {"filename": "a.png", "subfolder": "", "type": "temp"},  # same name, a temp preview
    ]
    assert run(server, tmp_path) == 0
    out = tmp_path / "out"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == ["one/a.png", "temp/a.png", "two/a.png"]
    for escape in ("../../../../escaped.png", "/tmp/tilestitch_escaped.png"):
        Hostile.outputs = [{"filename": escape, "subfolder": "", "type": "output"}]
        assert run(server, tmp_path) == 1
        assert "outside the output folder" in capsys.readouterr().err
    Hostile.outputs = [{"filename": "b.png", "subfolder": "../..", "type": "output"}]
    assert run(server, tmp_path) == 1
    assert not list(tmp_path.parent.glob("escaped*")) and not (tmp_path.parent / "b.png").exists()


def test_nothing_is_overwritten(server, tmp_path):
    Hostile.mode = "names"
    Hostile.outputs = [{"filename": "a.png", "subfolder": "", "type": "output"}]
    assert run(server, tmp_path) == 0 and run(server, tmp_path) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "a_1.png"]


def test_huge_replies_are_refused_without_reading_them(server, tmp_path, capsys):
    Hostile.mode = "huge"
    Hostile.outputs = [{"filename": "a.png", "subfolder": "", "type": "output"}]
    t0 = time.monotonic()
    assert run(server, tmp_path, "--max-bytes", "1000000") == 1
    assert time.monotonic() - t0 < 10
    assert "more than the 1000000 bytes" in capsys.readouterr().err
    Hostile.mode = "huge_error"
    assert run(server, tmp_path) == 1
    err = capsys.readouterr().err
    assert len(err) < 10_000, "a 200 MB error body must not be printed"


def test_timeout_is_a_real_deadline_against_a_trickling_server(server, tmp_path, capsys):
    Hostile.mode = "trickle"
    t0 = time.monotonic()
    assert run(server, tmp_path, "--timeout", "3") == 1
    took = time.monotonic() - t0
    assert took < 6, f"--timeout 3 took {took:.1f} s"
    assert "in time" in capsys.readouterr().err
    client = ComfyClient(server, timeout=1.0)
    t0 = time.monotonic()
    with pytest.raises(ComfyError, match="in time"):
        client.history("p1")
    assert time.monotonic() - t0 < 3


def test_safe_output_path_refuses_every_escape(tmp_path):
    assert safe_output_path(tmp_path, "x/y", "b.png") == tmp_path / "x" / "y" / "b.png"
    for sub, name in [("..", "a"), ("", "../a"), ("", "/etc/passwd"), ("C:", "a"), ("a", "b\\c"), ("", ""),
                      ("", "a\nb")]:
        with pytest.raises(ValueError):
            safe_output_path(tmp_path, sub, name)


def test_an_execution_error_filed_as_success_is_an_error(server, tmp_path, capsys):
    Hostile.mode = "success_with_error"
    with pytest.raises(ComfyError, match="DependencyCycleError"):
        ComfyClient(server).wait("p1", timeout=10)
    assert run(server, tmp_path) == 1
    assert "Dependency cycle detected" in capsys.readouterr().err
