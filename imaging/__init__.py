"""The lowest pure layer: colour, filters and resampling that every family imports.

* ``color`` — the one sRGB <-> CIELAB conversion (a fused CPU pass, torch
  elsewhere), CIEDE2000, grey -> RGB views;
* ``filters`` — separable blurs, binomial pyramids, low-pass, strip-wise
  upsampled additions;
* ``resample`` — the one resize helper (OpenCV on the CPU, torch on other
  devices), strip-wise bilinear rows.

It imports nothing else of the pack (and never ComfyUI).
"""
