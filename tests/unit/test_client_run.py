"""``python -m client run`` without a server: finding ComfyUI, which loader takes which photo, naming, the WebSocket reader."""

import base64
import hashlib
import os
import socket
import threading
import time

import pytest

from tilestitch.client import server as srv
from tilestitch.client.run import jobs, name_outputs, plan_inputs, resolve_workflow
from tilestitch.client.cli import find_node
from tilestitch.client.ws import WebSocketReader
from tilestitch.graph import shipped


def fake_comfyui(root):
    (root / "comfy").mkdir(parents=True)
    (root / "main.py").write_text("")
    (root / "custom_nodes").mkdir()
    return root


def test_the_comfyui_around_the_pack_is_found_before_home(tmp_path, monkeypatch):
    comfy = fake_comfyui(tmp_path / "ComfyUI")
    (comfy / "custom_nodes" / "comfyui-tilestitch").symlink_to(srv.PACK_ROOT, target_is_directory=True)
    monkeypatch.delenv("COMFYUI_PATH", raising=False)
    monkeypatch.setattr(srv, "_pack_locations", lambda: [comfy / "custom_nodes" / "comfyui-tilestitch"])
    assert srv.find_comfyui() == comfy
    assert srv.pack_installed(comfy)
    other = fake_comfyui(tmp_path / "Other")
    monkeypatch.setenv("COMFYUI_PATH", str(other))
    assert srv.find_comfyui() == other and not srv.pack_installed(other)  # the environment wins; the pack is added per run
    assert srv.find_comfyui(str(comfy)) == comfy  # --comfyui wins over both


def test_no_comfyui_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("COMFYUI_PATH", str(tmp_path / "nowhere"))
    with pytest.raises(srv.ComfyError, match=r"nowhere \(\$COMFYUI_PATH\).*--comfyui DIR"):
        srv.find_comfyui()


def test_base_directory_moves_the_custom_nodes_folder(tmp_path):
    comfy = fake_comfyui(tmp_path / "ComfyUI")
    base = tmp_path / "base"
    (base / "custom_nodes").mkdir(parents=True)
    (base / "custom_nodes" / "ts").symlink_to(srv.PACK_ROOT, target_is_directory=True)
    assert not srv.pack_installed(comfy)
    assert srv.pack_installed(comfy, ["--cpu", "--base-directory", str(base)])
    assert srv.pack_installed(comfy, [f"--base-directory={base}"])


def test_the_python_next_to_comfyui_is_preferred(tmp_path, monkeypatch):
    comfy = fake_comfyui(tmp_path / "ComfyUI")
    monkeypatch.delenv("COMFYUI_PYTHON", raising=False)
    (comfy / "venv" / "bin").mkdir(parents=True)
    (comfy / "venv" / "bin" / "python").write_text("")
    assert srv.find_python(comfy) == comfy / "venv" / "bin" / "python"
    assert srv.find_python(comfy, "/x/python") == srv.Path("/x/python")


PROMPT = {
    "1": {"class_type": "TileStitchLoadImage16", "inputs": {"image": "a.png"}, "_meta": {"title": "Original"}},
    "2": {"class_type": "LoadImage", "inputs": {"image": "b.png"}, "_meta": {"title": "Edit"}},
    "3": {"class_type": "SaveImage", "inputs": {"filename_prefix": "TileStitch/result", "images": ["1", 0]}},
    "4": {"class_type": "TileStitchSaveImage16", "inputs": {"filename_prefix": "plain", "images": ["1", 0]}},
}


def photos(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).write_bytes(b"x")
    return folder


def test_a_folder_is_one_job_per_photo_and_other_loaders_keep_their_file(tmp_path):
    folder = photos(tmp_path / "shots", ["b.jpg", "a.png", ".hidden.png", "notes.txt", "c.TIF"])
    edit = photos(tmp_path, ["edit.png"]) / "edit.png"
    inputs = plan_inputs(PROMPT, [f"Original={folder}", f"Edit={edit}"], find_node)
    todo = jobs(inputs)
    assert [j.stem for j in todo] == ["a", "b", "c"]
    assert [dict(j.files) for j in todo][1] == {"1": folder / "b.jpg", "2": edit}


def test_which_loader_is_ambiguous_or_wrong_is_said(tmp_path):
    photo = photos(tmp_path, ["p.png"]) / "p.png"
    with pytest.raises(ValueError, match=r"2 image loaders \('Original', 'Edit'\): use --image TITLE=PATH"):
        plan_inputs(PROMPT, [str(photo)], find_node)
    with pytest.raises(ValueError, match="not an image loader"):
        plan_inputs(PROMPT, [f"3={photo}"], find_node)
    with pytest.raises(ValueError, match="no such file or folder"):
        plan_inputs(PROMPT, [f"Original={tmp_path / 'missing.png'}"], find_node)
    with pytest.raises(ValueError, match="holds no image files"):
        plan_inputs(PROMPT, [f"Original={photos(tmp_path / 'empty', ['a.txt'])}"], find_node)
    a, b = photos(tmp_path / "f1", ["x.png", "y.png"]), photos(tmp_path / "f2", ["x.png", "y.png"])
    with pytest.raises(ValueError, match="only one --image may be a folder"):
        plan_inputs(PROMPT, [f"Original={a}", f"Edit={b}"], find_node)
    single = {k: v for k, v in PROMPT.items() if k != "2"}
    assert plan_inputs(single, [str(photo)], find_node)[0].node_id == "1"  # one loader: no title needed


def test_results_are_named_after_the_photo_in_the_prefix_folder():
    prompt = {k: {**v, "inputs": dict(v["inputs"])} for k, v in PROMPT.items()}
    name_outputs(prompt, "DSC_0042")
    assert prompt["3"]["inputs"]["filename_prefix"] == "TileStitch/DSC_0042_result"
    assert prompt["4"]["inputs"]["filename_prefix"] == "DSC_0042_plain"


def test_shipped_names_resolve_to_their_api_twin(tmp_path):
    assert resolve_workflow("tilestitch_demo") == shipped.api_workflow("tilestitch_demo")
    own = tmp_path / "mine.json"
    own.write_text("{}")
    assert resolve_workflow(str(own)) == own
    with pytest.raises(ValueError, match="shipped: .*tilestitch_demo"):
        resolve_workflow("no_such_workflow")


# -- the WebSocket reader, against a server that sends what ComfyUI can ------------------------------------
def frame(opcode, payload, *, fin=True, mask=False):
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    size = bytes([n]) if n < 126 else (bytes([126]) + n.to_bytes(2, "big") if n < 65536 else bytes([127]) + n.to_bytes(8, "big"))
    if mask:
        key = b"\x01\x02\x03\x04"
        return head + bytes([size[0] | 0x80]) + size[1:] + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + size + payload


def serve_once(script):
    """A one-connection WebSocket server on loopback; ``script(conn)`` sends frames after the handshake."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    got = {}

    def run():
        conn, _ = listener.accept()
        request = b""
        while b"\r\n\r\n" not in request:
            request += conn.recv(1024)
        key = [ln.split(b": ")[1] for ln in request.split(b"\r\n") if ln.lower().startswith(b"sec-websocket-key")][0]
        accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC11B2A").digest())
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        script(conn, got)
        time.sleep(0.3)
        conn.close()
        listener.close()

    threading.Thread(target=run, daemon=True).start()
    return f"ws://127.0.0.1:{listener.getsockname()[1]}/ws?clientId=x", got


def test_the_reader_skips_previews_answers_pings_and_survives_a_pause_inside_a_frame():
    big_binary = os.urandom(3 << 20)
    text = b'{"type": "progress", "data": {"value": 3, "max": 9}}'

    def script(conn, got):
        conn.sendall(frame(0x2, big_binary))  # a preview image: skipped, never kept
        conn.sendall(frame(0x9, b"hi"))
        reply = conn.recv(64)
        got["pong"] = reply
        whole = frame(0x1, text)
        conn.sendall(whole[:5])
        time.sleep(0.6)  # longer than the reader's timeout: it must keep the half frame
        conn.sendall(whole[5:])
        conn.sendall(frame(0x1, b"x" * 70000))  # a long text frame (16-bit length)
        conn.sendall(frame(0x1, b"masked", mask=True))

    url, got = serve_once(script)
    ws = WebSocketReader(url, timeout=5)
    assert ws.recv_text(0.3) is None  # the half frame arrived, not the rest
    assert ws.recv_text(2.0) == text.decode()
    assert got["pong"][0] == 0x8A and got["pong"][1] & 0x80  # a masked pong
    assert ws.recv_text(2.0) == "x" * 70000
    assert ws.recv_text(2.0) == "masked"
    ws.close()


def test_the_reader_bounds_what_it_keeps():
    def script(conn, got):
        conn.sendall(frame(0x1, b"y" * (2 << 20)))  # over max_frame: skipped
        conn.sendall(frame(0x1, b"after"))

    url, _ = serve_once(script)
    ws = WebSocketReader(url, timeout=5, max_frame=1 << 20)
    assert ws.recv_text(3.0) == "after"
    ws.close()
