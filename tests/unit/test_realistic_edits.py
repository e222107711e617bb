"""The realistic-edit generator and its scoring (``diffmerge/realistic.py``), which the diff-merge benchmark and node
test are measured with: a score that could not tell a perfect merge from an empty one would measure nothing."""

import numpy as np
import pytest

from tilestitch.diffmerge.realistic import CASES, KONTEXT_RESOLUTIONS, kontext_like_edit, score_merge

from support import load_photo


@pytest.fixture(scope="module")
def photo():
    return np.ascontiguousarray(load_photo("beach", 1200)[0].numpy())


@pytest.mark.parametrize("case", CASES)
def test_the_truth_changes_only_its_box_and_the_edit_has_a_kontext_size(photo, case):
    edit = kontext_like_edit(photo, case, seed=5)
    y0, y1, x0, x1 = edit.box
    outside = np.ones(photo.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(edit.truth[outside], photo[outside, :3])
    assert edit.changed.any() and not edit.changed[outside].any()
    assert not (edit.visible & ~edit.changed).any()
    assert (edit.edited.shape[1], edit.edited.shape[0]) in KONTEXT_RESOLUTIONS
    assert np.array_equal(np.round(edit.edited * 255) / 255, edit.edited)  # 8-bit codes, as a PNG from the model


def test_a_perfect_merge_an_empty_one_and_the_visible_change_score_as_they_should(photo):
    edit = kontext_like_edit(photo, "remove_object", seed=5)
    margin = 24.0
    perfect = score_merge(photo, edit.truth, edit.changed.astype(np.float32), edit, margin)
    assert perfect["iou"] == 1.0 and perfect["missed"] == 0.0 and perfect["false_positive"] == 0.0
    assert perfect["far_identical"] == 1.0 and perfect["delta_e_truth"] < 1e-3
    empty = score_merge(photo, photo, np.zeros(photo.shape[:2], np.float32), edit, margin)
    assert empty["iou"] == 0.0 and empty["missed"] == 1.0 and empty["far_identical"] == 1.0
    assert empty["delta_e_truth"] > 1.0
    # the inpainted patch shows only partly at the edit's size: taking exactly that part scores iou_of_visible
    visible = score_merge(photo, photo, edit.visible.astype(np.float32), edit, margin)
    assert 0.3 < visible["iou_of_visible"] < 0.98
    assert visible["iou"] == pytest.approx(visible["iou_of_visible"]) and visible["iou_visible"] == 1.0
    far = np.zeros(photo.shape[:2], np.float32)
    far[:8, :8] = 1.0  # a corner far from the patch, touched
    touched = photo.copy()
    touched[:8, :8] += 0.01
    stray = score_merge(photo, touched, far, edit, margin)
    assert stray["false_positive"] == pytest.approx(64 / far.size) and stray["far_identical"] < 1.0
