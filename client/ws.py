"""The smallest WebSocket reader ComfyUI's progress messages need (RFC 6455, standard library only).

Reads the text frames the server sends on ``/ws`` (JSON status and
progress); binary frames (preview images) are skipped without being kept,
pings are answered, and no frame larger than ``max_frame`` bytes is read
into memory. Nothing is sent but the handshake, pongs and the closing frame.
"""

from __future__ import annotations

import base64
import os
import socket
import urllib.parse
from typing import Optional

MAX_FRAME = 1 << 20  # text frames larger than this are skipped (ComfyUI's are a few hundred bytes)


class WebSocketError(OSError):
    pass


class WebSocketReader:
    def __init__(self, url: str, timeout: float = 5.0, max_frame: int = MAX_FRAME):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("ws", "http"):
            raise WebSocketError(f"only plain ws:// is supported, not {parts.scheme}://")
        self.max_frame = max_frame
        self.sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port or 80}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1024)
            if not chunk or len(head) > 16384:
                self.close()
                raise WebSocketError("the server did not accept the WebSocket")
            head += chunk
        head, self._buffer = head.split(b"\r\n\r\n", 1)
        self._skip_left = 0
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            self.close()
            raise WebSocketError("the server did not switch to WebSocket: " + head.split(b"\r\n", 1)[0].decode("latin-1"))

    def _fill(self, n: int) -> None:
        """Receive until ``n`` bytes are buffered (a timeout leaves what arrived in the buffer)."""
        while len(self._buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise WebSocketError("the server closed the WebSocket")
            self._buffer += chunk

    def _send(self, opcode: int, payload: bytes = b"") -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def recv_text(self, timeout: float) -> Optional[str]:
        """The next text message, or None when none came within ``timeout`` seconds.

        A frame is taken from the buffer only once it is whole, so a timeout
        in the middle of one loses nothing; frames that are skipped are
        dropped as they arrive.
        """
        self.sock.settimeout(timeout)
        try:
            while True:
                if self._skip_left:
                    if not self._buffer:
                        self._fill(1)
                    drop = min(self._skip_left, len(self._buffer))
                    self._buffer, self._skip_left = self._buffer[drop:], self._skip_left - drop
                    continue
                self._fill(2)
                b0, b1 = self._buffer[0], self._buffer[1]
                opcode, size, at = b0 & 0x0F, b1 & 0x7F, 2
                if size >= 126:
                    ext = 2 if size == 126 else 8
                    self._fill(2 + ext)
                    size = int.from_bytes(self._buffer[2 : 2 + ext], "big")
                    at += ext
                masked = bool(b1 & 0x80)
                at += 4 if masked else 0
                wanted = opcode in (0x1, 0x8, 0x9) and size <= self.max_frame and b0 & 0x80
                if not wanted:  # binary previews, continuation pieces, oversized text: not needed
                    self._fill(at)
                    self._buffer, self._skip_left = self._buffer[at:], size
                    continue
                self._fill(at + size)
                mask, data = self._buffer[at - 4 : at] if masked else b"", self._buffer[at : at + size]
                self._buffer = self._buffer[at + size :]
                if masked:
                    data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
                if opcode == 0x8:
                    raise WebSocketError("the server closed the WebSocket")
                if opcode == 0x9:
                    self._send(0xA, data[:125])
                    continue
                return data.decode("utf-8", "replace")
        except socket.timeout:
            return None

    def close(self) -> None:
        try:
            self._send(0x8)
        except OSError:
            pass
        self.sock.close()
