"""The diff-merge pipeline: register, detect, composite (see the package docstring)."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

import numpy as np

from ..imaging.color import rgb_to_lab
from ..imaging.resample import resize_hwc
from .composite import (as3x3, blend_into, detail_weight, full_to_small, limit_alpha, membrane, redrawn_texture_weight, region_boxes,
                        ring_offset, scale_box, spread_of, warp_region)
from .detect import DetectOptions, regions_of, detect_changes
from .register import Alignment, register

BLENDS = ("feather", "poisson")
# FluxKontextImageScale picks the preferred Kontext resolution nearest the photo's aspect: up to 8.1 % off it within
# Kontext's range of aspects (0.43-2.33), the photo centre-cropped to fit; an edit farther off was cropped or padded
ASPECT_TOLERANCE = 0.09
EDGE_PX = 3  # edit pixels along the edit's frame (beyond its shift) that are not compared


@dataclass
class DiffMergeResult:
    """``image`` ``[H, W, C]`` (the original object itself when nothing changed), ``mask`` float32 ``[H, W]``
    (the feathered alpha that was applied), ``overlay`` ``[h, w, 3]`` at the edit's size, ``info`` (JSON-ready)."""

    image: np.ndarray
    mask: np.ndarray
    overlay: np.ndarray
    info: dict = field(default_factory=dict)
    detected: np.ndarray = None  # float32 [h, w]: the evidence alpha at the edit's size, before feathering

    def detected_full(self) -> np.ndarray:
        """What was taken from the edit at the original's size (bool: the applied alpha >= 0.5)."""
        return self.mask >= 0.5


def _check(original: np.ndarray, edited: np.ndarray, aspect_tolerance: float) -> None:
    for name, a in (("original", original), ("edited", edited)):
        if a.ndim != 3 or a.shape[-1] not in (3, 4):
            raise ValueError(f"{name} must be an RGB or RGBA image [height, width, 3 or 4], got {tuple(a.shape)}")
        if min(a.shape[:2]) < 8:
            raise ValueError(f"{name} is {a.shape[1]} x {a.shape[0]} px; diff-merge needs at least 8 px a side")
    H, W = original.shape[:2]
    h, w = edited.shape[:2]
    if h > H or w > W:
        raise ValueError(f"edited ({w} x {h}) is larger than the original ({W} x {H}); give the edit at its own (smaller or equal) size")
    ratio = abs(math.log((w / h) / (W / H)))
    if ratio > math.log1p(aspect_tolerance):
        raise ValueError(
            f"edited aspect {w / h:.3f} ({w} x {h}) differs from the original's {W / H:.3f} ({W} x {H}) by {100 * (math.exp(ratio) - 1):.1f} %, "
            f"more than aspect_tolerance ({100 * aspect_tolerance:.1f} %): was the edit cropped or padded?"
        )


def _overlay(orig_small: np.ndarray, alpha_small: np.ndarray, possible: List[dict]) -> np.ndarray:
    """The shrunk original in grey, what is taken from the edit tinted red by its alpha, possible changes boxed in blue."""
    import cv2

    base = 0.35 + 0.5 * orig_small[..., :3].mean(-1, keepdims=True)
    out = np.repeat(base, 3, axis=-1).astype(np.float32)
    a = np.clip(alpha_small, 0, 1)[..., None]
    out = out * (1 - 0.6 * a) + 0.6 * a * np.array([1.0, 0.1, 0.1], np.float32)
    for p in possible:
        x, y, w, h = p["box"]
        cv2.rectangle(out, (x - 2, y - 2), (x + w + 1, y + h + 1), (0.2, 0.5, 1.0), 2)
    return np.ascontiguousarray(out, dtype=np.float32)


@dataclass
class EditFrame:
    """Original and edit at the edit's resolution, registered: what detection and compositing compare.

    ``orig_small`` is the original area-shrunk to the edit's size, ``edit_rgb``
    the edit's colour, ``aligned`` the edit warped onto ``orig_small``,
    ``valid`` where that warp had data; ``sy, sx`` edit px per original px;
    ``shift``: the edit model's own shift in edit px (beyond a centre crop).
    """

    orig_small: np.ndarray
    edit_rgb: np.ndarray
    aligned: np.ndarray
    valid: np.ndarray
    alignment: Alignment
    sy: float
    sx: float
    shift: Tuple[float, float] = (0.0, 0.0)


def centre_crop_framing(H: int, W: int, h: int, w: int) -> Optional[np.ndarray]:
    """Where an ``h x w`` edit of an ``H x W`` original sits if the original was centre-cropped to the edit's aspect
    before it was shrunk (what FluxKontextImageScale does): the 2 x 3 affine from edit pixels to the original shrunk
    to ``h x w``; None when the aspects agree within 0.2 %."""
    aspect_o, aspect_e = W / H, w / h
    if abs(math.log(aspect_e / aspect_o)) < 0.002:
        return None
    if aspect_o > aspect_e:  # the original is wider: its sides were cut
        kept = aspect_e / aspect_o
        return np.array([[kept, 0.0, (1 - kept) * w / 2], [0.0, 1.0, 0.0]])
    kept = aspect_o / aspect_e  # taller: top and bottom were cut
    return np.array([[1.0, 0.0, 0.0], [0.0, kept, (1 - kept) * h / 2]])


def register_framed(orig_small: np.ndarray, edit_rgb: np.ndarray, registration: str, framing: Optional[np.ndarray]):
    """``(alignment, residual shift)``: the edit registered to the shrunk original, starting from ``framing`` (a
    centre crop, see ``centre_crop_framing``) and from a plain resize, whichever registers better; the residual is
    the shift beyond the framing (what the edit model moved)."""
    import cv2

    plain = register(orig_small, edit_rgb, registration)
    if framing is None or registration == "none":
        return plain, plain.shift
    h, w = orig_small.shape[:2]
    framed_edit = cv2.warpAffine(edit_rgb, framing, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    rest = register(orig_small, framed_edit, registration)
    if rest.response < plain.response:
        return plain, plain.shift
    total = (as3x3(rest.matrix) @ as3x3(framing))[:2]
    return Alignment(total, f"{rest.method} after a centre crop", rest.response), rest.shift


def register_edit(original: np.ndarray, edited: np.ndarray, registration: str) -> EditFrame:
    """Step 1: shrink the original to the edit's frame and undo the edit model's shift / scale."""
    import cv2

    H, W = original.shape[:2]
    h, w = edited.shape[:2]
    orig_small = resize_hwc(original[..., :3], h, w, "area")
    edit_rgb = np.ascontiguousarray(edited[..., :3], dtype=np.float32)
    framing = centre_crop_framing(H, W, h, w)
    align, residual = register_framed(orig_small, edit_rgb, registration, framing)
    aligned = cv2.warpAffine(edit_rgb, align.matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # what the edit does not cover (a centre crop's margins) is not compared, and so never changed
    valid = cv2.warpAffine(np.ones((h, w), np.float32), align.matrix, (w, h), flags=cv2.INTER_LINEAR) > 0.999
    # the edit model made up what it shifted in at its frame's edges: compare only inside (a change there is not merged)
    border = int(math.ceil(max(abs(residual[0]), abs(residual[1])))) + EDGE_PX
    valid = cv2.erode(valid.astype(np.uint8), np.ones((2 * border + 1, 2 * border + 1), np.uint8),
                      borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
    return EditFrame(orig_small, edit_rgb, aligned, valid, align, h / H, w / W, tuple(residual))


def feathered_alpha(alpha: np.ndarray, sigma: float) -> np.ndarray:
    """Step 3: the evidence alpha (edit size, [0, 1]) with a Gaussian fall-off of ``sigma`` edit px added outside it.

    Inside, the alpha stays what the evidence says (a soft change stays
    soft); outside, the blurred alpha takes over where it is larger.
    """
    import cv2

    alpha = alpha.astype(np.float32, copy=True)
    if sigma > 0.3:
        alpha = np.maximum(alpha, cv2.GaussianBlur(alpha, (0, 0), sigma))
    alpha[alpha < 1.0 / 1024] = 0.0
    return alpha


def composite_regions(out: np.ndarray, frame: EditFrame, alpha_small: np.ndarray, *, blend: str, colour_match: bool,
                      ring: int, group_radius: int = 0, original: Optional[np.ndarray] = None, detail: Optional[np.ndarray] = None,
                      progress: Optional[Callable[[int, int], None]] = None) -> Tuple[np.ndarray, np.ndarray, int, int]:
    """Step 4: per changed region, the edit at full resolution blended into ``out`` (a copy of the original, written in
    place), its alpha limited at full resolution to where the edit differs (``composite.limit_alpha``); with
    ``original`` and ``detail`` (``composite.detail_weight``, edit size) given, the original's detail finer than the
    edit is carried into the patch where the edit kept the original's structure (``composite.add_detail``, done in
    ``limit_alpha``'s pass).

    Returns ``(out, alpha at full size, changed pixels, regions)``; pixels
    whose alpha is 0 are never written.
    """
    import cv2

    if detail is not None and original is None:
        raise ValueError("composite_regions: detail is carried from the original: pass original with it")
    H, W = out.shape[:2]
    sy, sx = frame.sy, frame.sx
    support = (alpha_small > 0).astype(np.uint8)
    to_edit_frame = np.linalg.inv(as3x3(frame.alignment.matrix))  # original-at-edit-size frame -> edit pixels
    alpha_full = np.zeros((H, W), np.float32)
    regions = region_boxes(support, pad=2 + int(math.ceil(sx)), group_radius=group_radius)
    busy = texture = None
    if regions:  # the shrunk original and the edit in CIELAB once, for the spread and the texture floor's weight
        lab_orig, lab_edit = (rgb_to_lab(np.ascontiguousarray(x[..., :3], dtype=np.float32), dim=-1) for x in (frame.orig_small, frame.aligned))
        busy = spread_of(lab_orig[..., 0])
        texture = redrawn_texture_weight(lab_orig, lab_edit, busy)
    changed = 0
    for i, (box, component) in enumerate(regions):
        fy0, fy1, fx0, fx1 = scale_box(box, sy, sx, H, W)
        rh, rw = fy1 - fy0, fx1 - fx0
        f2s = full_to_small(sy, sx, fy0, fx0)
        comp_alpha = np.where(component, alpha_small, 0.0).astype(np.float32)
        a = warp_region(comp_alpha, f2s, rh, rw, cv2.INTER_LINEAR)
        a[a < 1.0 / 1024] = 0.0
        patch = warp_region(frame.edit_rgb, to_edit_frame @ f2s, rh, rw, cv2.INTER_LANCZOS4)
        offset = (ring_offset(frame.orig_small, frame.aligned, component, support, frame.valid, ring) if colour_match
                  else np.zeros(3, np.float32))
        patch += offset
        carried = None if detail is None else np.where(component, detail, 0.0).astype(np.float32)
        limit_alpha(a, patch, frame.orig_small, busy, f2s, 1.0 / sx, texture=texture,
                    original=None if detail is None else original[fy0:fy1, fx0:fx1], detail=carried)
        if blend == "poisson":  # a membrane carries the remaining difference on the box's edge smoothly inwards
            y0, y1, x0, x1 = box
            diff = frame.orig_small[y0:y1, x0:x1] - (frame.aligned[y0:y1, x0:x1] + offset)
            patch += warp_region(membrane(diff), _box_frame(f2s, y0, x0), rh, rw, cv2.INTER_LINEAR)
        blend_into(out, (fy0, fy1, fx0, fx1), patch, a)
        alpha_full[fy0:fy1, fx0:fx1] = np.maximum(alpha_full[fy0:fy1, fx0:fx1], a)
        changed += int((a > 0).sum())
        if progress is not None:
            progress(i + 1, len(regions))
    return out, alpha_full, changed, len(regions)


def _to_original(box, frame: EditFrame) -> List[int]:
    """An edit-size ``[x, y, w, h]`` box in original pixels."""
    x, y, w, h = box
    return [int(x / frame.sx), int(y / frame.sy), int(round(w / frame.sx)), int(round(h / frame.sy))]


def _report(original: np.ndarray, edited: np.ndarray, frame: EditFrame, shift: np.ndarray, detect: DetectOptions) -> dict:
    """The JSON-ready facts every result reports: sizes, registration, the global colour shift, the threshold."""
    H, W = original.shape[:2]
    h, w = edited.shape[:2]
    align = frame.alignment
    notes: List[str] = []
    if original.shape[-1] == 4:
        notes.append("original alpha kept as it is")
    if edited.shape[-1] == 4:
        notes.append("edited alpha ignored (colour only)")
    return {
        "original": [W, H], "edited": [w, h],
        "registration": align.method, "shift_px": [round(frame.shift[0] / frame.sx, 2), round(frame.shift[1] / frame.sy, 2)],
        "shift_edit_px": [round(frame.shift[0], 3), round(frame.shift[1], 3)], "scale": round(align.scale, 5),
        "global_shift_lab": [round(float(v), 3) for v in shift],
        "threshold": detect.threshold if detect.threshold > 0 else "auto", "alpha_notes": notes,
    }


def diff_merge(
    original: np.ndarray,
    edited: np.ndarray,
    *,
    registration: str = "affine",
    detect: DetectOptions = DetectOptions(),
    feather: float = 2.0,
    blend: str = "feather",
    colour_match: bool = True,
    ring: int = 6,
    include: Optional[np.ndarray] = None,
    protect: Optional[np.ndarray] = None,
    aspect_tolerance: float = ASPECT_TOLERANCE,
    keep_detail: bool = True,
    progress: Optional[Callable[[int, int], None]] = None,
) -> DiffMergeResult:
    """Merge what changed between ``original`` ``[H, W, C]`` and ``edited`` ``[h, w, C']`` into the original.

    Float32 in [0, 1] (other float values pass through untouched). ``feather``
    is the soft edge in full-resolution pixels (Gaussian sigma);
    ``include`` / ``protect`` are bool masks at the edit's size; ``keep_detail``:
    where the edit changed only colour or tone over the same structure, the
    original's detail finer than the edit is kept (``composite.add_detail``;
    off: the edit's blur, as pasted). Pixels with alpha 0 are not written:
    they are bit-identical to ``original``.
    Steps: ``register_edit`` -> ``detect_changes`` -> ``feathered_alpha`` -> ``composite_regions``.
    """
    if blend not in BLENDS:
        raise ValueError(f"blend must be one of {BLENDS}, got {blend!r}")
    _check(original, edited, aspect_tolerance)
    H, W = original.shape[:2]
    with ThreadPoolExecutor(max_workers=1) as pool:
        # the output starts as a copy of the original, made while the edit is registered and compared: its first touch
        # of fresh memory (1.15 GB at 96 MP, ~1 s on this VM) overlaps them; when nothing changed it is dropped
        canvas = pool.submit(original.copy)
        frame = register_edit(original, edited, registration)
        det = detect_changes(frame.orig_small, frame.aligned, frame.valid, detect, include, protect)
        info = _report(original, edited, frame, det.shift, detect)
        found = regions_of(det.mask, {"delta_e": det.delta_e, "evidence": det.evidence}, cue=det.cue,
                           group_radius=detect.group_radius)
        possible = [{**p, "box": _to_original(p["box"], frame)} for p in det.possible]
        info.update(noise=det.noise, possible_changes=possible,
                    changes=[{**r, "box": _to_original(r["box"], frame)} for r in found])
        hint = (f"; {len(possible)} possible change(s) below the threshold (see possible_changes, blue in the overlay)"
                if possible else "")
        overlay = _overlay(frame.orig_small, det.alpha, det.possible)
        if not det.alpha.any():
            canvas.cancel()
            info.update(regions=0, changed_fraction=0.0,
                        message="no change found above the threshold: the original is returned unchanged" + hint)
            return DiffMergeResult(original, np.zeros((H, W), np.float32), overlay, info, det.alpha)
        alpha_small = feathered_alpha(det.alpha, feather * frame.sx)
        out, alpha_full, changed, regions = composite_regions(canvas.result(), frame, alpha_small, blend=blend, colour_match=colour_match,
                                                              ring=ring, group_radius=detect.group_radius, original=original,
                                                              detail=detail_weight(det.structure) if keep_detail else None, progress=progress)
        info.update(regions=regions, changed_fraction=round(changed / (H * W), 6), max_delta_e=round(float(det.delta_e.max()), 2),
                    message=f"{regions} changed region(s), {100 * changed / (H * W):.2f} % of the pixels" + hint)
        return DiffMergeResult(out, alpha_full, overlay, info, det.alpha)


def _box_frame(f2s: np.ndarray, y0: int, x0: int) -> np.ndarray:
    """``f2s`` (full region -> edit-size frame) re-based on an edit-size box's corner."""
    shift = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]])
    return shift @ f2s
