"""What checks a merged result (pure: no ComfyUI).

* ``seam_metrics`` — per seam of a plan: the profile z-score of the step
  across the cut (whole seam and worst piece) and the colour jump either side;
* ``seam_report`` — verdicts, worst seams, a JSON report and a heatmap;
* ``solar`` — the solar-curve preview that turns 1/255 steps into visible
  contour breaks.
"""
