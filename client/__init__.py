"""Headless use of ComfyUI through its HTTP API (standard library only)."""

from .api import ComfyClient, ComfyError, OutputFile

__all__ = ["ComfyClient", "ComfyError", "OutputFile"]
