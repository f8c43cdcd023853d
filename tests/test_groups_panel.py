"""widgets.groups: the design panel and the nuisance null-world lab, driven without a browser."""

import html

import numpy as np
import pytest

import glmteach as gt
from glmteach.designs import compare_with_parametric
from glmteach.widgets.groups import ConfoundLab, GroupsPanel, _Stopped


@pytest.fixture(scope="module")
def small():
    maps = gt.load_checkerboards(n_subjects=6, source="embedded", verbose=0)
    return maps, gt.mask_maps(maps.stacked(), smoothing_fwhm=8.0)


def test_panel_runs_each_design_and_says_what_it_measured(small):
    maps, masked = small
    panel = GroupsPanel(maps, masked, n_perm=1000, background=False)
    assert panel.design_image.value[:4] == b"\x89PNG" and panel.result is None
    for kind in ("paired", "one-sample + age"):
        panel.kind.value = kind
        panel.run()
        result = panel.result
        design = gt.group_design(kind, maps.covariates)
        np.testing.assert_allclose(result.t, gt.glm_ttest(design.data(masked.Y),
                                                          design.matrix, design.contrast).t)
        expected = compare_with_parametric(design, result, 0.05)["sentence"]
        assert html.escape(expected) in panel.text.value
        assert panel.brain_image.value[:4] == b"\x89PNG"
    panel.alpha.value = 0.1  # re-scored from the stored null, nothing recomputed
    assert panel.result is result
    assert html.escape(compare_with_parametric(design, result, 0.1)["sentence"]) in \
        panel.text.value
    panel.kind.value = "paired"  # the paired result was kept
    assert "Paired design" in panel.text.value


def test_pictures_carry_text_alternatives_with_their_numbers(small):
    maps, masked = small
    panel = GroupsPanel(maps, masked, n_perm=1000, background=False)
    design = gt.group_design("paired", maps.covariates)
    rows, columns = design.matrix.shape
    assert f"{rows} rows (maps) x {columns} columns" in panel.design_image.alt
    assert "press Run" in panel.brain_image.alt
    panel.run()
    summary = compare_with_parametric(design, panel.result, 0.05)
    assert summary["sentence"] in panel.brain_image.alt
    assert f"keeps {summary['permutation_voxels']:,} voxels" in panel.brain_image.alt


def test_panel_refuses_unstacked_data(small):
    maps, masked = small
    with pytest.raises(ValueError, match="stacked"):
        GroupsPanel(maps, gt.mask_maps(maps.first), background=False)


def test_confound_lab_table_and_stop():
    lab = ConfoundLab(n_studies=50, n_perm=50, background=False)
    lab.n_studies.value = 50
    lab.run()
    table = lab.result.table(0.05)
    assert lab.table.value.count("<tr") == 1 + len(table)
    assert lab.plot.value[:4] == b"\x89PNG"
    assert "found a false positive in" in lab.text.value
    lab.worker._stop.set()  # Stop pressed: the next progress call ends the run cleanly
    with pytest.raises(_Stopped):
        lab.worker.progress(0.5)


def test_panels_are_exported_from_the_widgets_package():
    import glmteach.widgets as widgets

    assert widgets.GroupsPanel is GroupsPanel and widgets.ConfoundLab is ConfoundLab
    assert {"GroupsPanel", "ConfoundLab"} <= set(widgets.__all__)
