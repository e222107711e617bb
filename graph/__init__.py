"""ComfyUI workflow graphs as data: node definitions, UI <-> API format, offline validation (pure)."""

from .object_info import load_object_info, node_definition, pack_object_info, widget_layout
from .ui_format import ui_to_api, widget_values
from .validate import merged_object_info, validate_api, validate_ui

__all__ = [
    "load_object_info", "node_definition", "pack_object_info", "widget_layout",
    "ui_to_api", "widget_values", "merged_object_info", "validate_api", "validate_ui",
]
