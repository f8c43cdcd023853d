"""Lesson panels, headless: set sliders like a learner, compare with the statistics API."""

import re

import numpy as np
import pytest
from conftest import LESSON_SUBJECTS, lesson_reference, lesson_state
from scipy import stats

from glmteach import corrections, data, permutation
from glmteach._flips import n_distinct_flips
from glmteach.widgets import (ComparisonPanel, FetchPanel, Lesson, LessonState, MaskPanel,
                              STEPS, TTestPanel, check_answer)

N_SUBJECTS = LESSON_SUBJECTS


@pytest.fixture(scope="module")
def state():
    return lesson_state()


@pytest.fixture(scope="module")
def reference(state):
    return lesson_reference(state)


def _bold_numbers(text):
    return [int(v.replace(",", "")) for v in re.findall(r"<b>([\d,]+)</b>", text)]


def test_fetch_threshold_slider(state):
    panel = FetchPanel(state, background=False)
    before = panel.image.value
    panel.threshold_slider.value = 3.5
    assert state.display_threshold == 3.5
    assert panel.image.value != before and len(before) > 1000
    assert "SIMULATED" in panel.origin.value


def test_ttest_p_slider_counts_match_api(state, reference):
    _, tt, _, _ = reference
    panel = TTestPanel(state, background=False)
    for p in (1e-2, 1e-4):
        before = panel.map_image.value
        panel.p_slider.value = p
        assert state.p_threshold == pytest.approx(p)
        assert _bold_numbers(panel.count.value)[0] == int((tt.p <= state.p_threshold).sum())
        assert panel.map_image.value != before


def test_comparison_alpha_counts_match_api(state, reference):
    masked, tt, field, perm = reference
    panel = ComparisonPanel(state, background=False)
    n_perm = n_distinct_flips(N_SUBJECTS)
    panel.n_perm_slider.value = n_perm
    for alpha in (0.05, 0.2):
        before = panel.maps_image.value, panel.null_image.value
        panel.alpha_slider.value = alpha
        assert state.alpha == alpha
        expected = [
            corrections.correct(tt, "bonferroni", alpha).n_survivors,
            corrections.correct(tt, "rft", alpha, field=field).n_survivors,
            perm.n_survivors(alpha, n_perm=n_perm),
        ]
        assert _bold_numbers(panel.table.value) == expected
        shown = state.comparison()
        assert shown["rft"].threshold == pytest.approx(field.threshold(alpha, tt.df))
        assert shown["permutation"].threshold == pytest.approx(perm.threshold(alpha, n_perm))
        assert panel.maps_image.value != before[0] and panel.null_image.value != before[1]


def test_alpha_move_sends_each_picture_once_with_its_text(state, reference, monkeypatch):
    """What the browser receives for one alpha move: each picture exactly once, its PNG
    and its text alternative in the same message (never a picture with a stale text),
    and the text carries the numbers the statistics API gives."""
    import comm

    _, tt, field, perm = reference
    panel = ComparisonPanel(state, background=False)
    n_perm = n_distinct_flips(N_SUBJECTS)
    panel.n_perm_slider.value = n_perm
    sent = []
    monkeypatch.setattr(comm.DummyComm, "publish_msg", lambda self, msg_type, data=None,
                        metadata=None, buffers=None, **keys: sent.append(
                            (self.comm_id, dict((data or {}).get("state", {})),
                             [bytes(b) for b in buffers or []])))
    panel.alpha_slider.value = 0.1 if state.alpha != 0.1 else 0.15
    alpha = state.alpha
    for image in (panel.maps_image, panel.null_image):
        messages = [(fields, buffers) for comm_id, fields, buffers in sent
                    if comm_id == image.comm.comm_id]
        assert len(messages) == 1
        fields, buffers = messages[0]
        assert fields["alt"] == image.alt and buffers == [image.value]
    bonferroni = corrections.correct(tt, "bonferroni", alpha).n_survivors
    rft = corrections.correct(tt, "rft", alpha, field=field)
    assert f"Bonferroni: {bonferroni:,} voxels" in panel.maps_image.alt
    assert (f"Permutation max-t: {perm.n_survivors(alpha, n_perm=n_perm):,} voxels"
            in panel.maps_image.alt)
    assert f"Random field theory {field.threshold(alpha, tt.df):.2f}" in panel.null_image.alt
    assert f"Random field theory: {rft.n_survivors:,} voxels" in panel.maps_image.alt


def test_n_perm_slider_takes_prefixes_without_recomputing(state, reference):
    _, _, _, perm = reference
    panel = ComparisonPanel(state, background=False)
    computed = state.permutation
    labels = [label for label, _ in panel.n_perm_slider.options]
    assert labels[-1] == f"all {n_distinct_flips(N_SUBJECTS):,} (exact)"
    panel.n_perm_slider.value = 128
    before = panel.null_image.value
    panel.n_perm_slider.value = 100
    assert state.n_perm == 100 and state.permutation is computed
    assert panel.null_image.value != before
    result = state.comparison()["permutation"]
    assert result.n_survivors == perm.n_survivors(state.alpha, n_perm=100)
    assert result.min_p == pytest.approx(perm.corrected_p(n_perm=100).min())
    assert "&plusmn;" in panel.table.value


def test_exact_option_for_sixteen_subjects():
    s = LessonState(n_subjects=16)
    assert s.n_perm_options()[-1] == ("all 32,768 (exact)", 32768)
    assert [v for _, v in s.n_perm_options()][:7] == [100, 200, 500, 1000, 2000, 5000, 10000]


def test_smoothing_slider_remasks(state):
    panel = MaskPanel(state, background=False)
    old_masked, before = state.masked, panel.subject_image.value
    try:
        panel.smoothing_slider.value = 4.0
        assert state.masked is not old_masked and state.masked.smoothing_fwhm == 4.0
        assert panel.subject_image.value != before
        assert _bold_numbers(panel.count.value)[0] == state.masked.n_voxels
        assert state.permutation is None  # the old null belonged to other data
    finally:
        panel.smoothing_slider.value = 8.0
        state.permute()


def test_failing_fetch_shows_one_line_and_keeps_state(state, monkeypatch):
    def down(*args, **kwargs):
        raise data.DataUnavailableError("osf.io is unreachable: check your connection.")

    monkeypatch.setattr(data, "load_localizer", down)
    panel = FetchPanel(state, background=False)
    maps, ttest, picture = state.maps, state.ttest, panel.image.value
    panel.fetch_button.click()
    assert "osf.io is unreachable" in panel.message.value
    assert "Traceback" not in panel.message.value
    assert state.maps is maps and state.ttest is ttest and panel.image.value == picture
    assert not state.busy and not panel.fetch_button.disabled


def test_second_run_is_refused_not_crashed(state):
    panel = ComparisonPanel(state, background=False)
    state.busy = "permute"  # as if a run were in flight
    try:
        assert panel.run_button.disabled
        assert not panel.start("permute")
        assert "still running" in panel.message.value
    finally:
        state.busy = ""
    assert not panel.run_button.disabled


def test_background_run_reports_progress_and_stop_keeps_state(state, monkeypatch):
    computed, seen = state.permutation, []

    def slow_test(Y, progress=None, **kwargs):
        for fraction in (0.25, 0.5, 0.75):
            progress(fraction)
            seen.append(fraction)
            state.stop()  # the learner presses Stop after the first chunk
        return computed

    monkeypatch.setattr(permutation, "permutation_test", slow_test)
    panel = ComparisonPanel(state)
    state.permutation = None  # e.g. after a new smoothing: a run is needed
    try:
        assert panel.start("permute")
        state.wait(10)
        assert seen == [0.25] and state.permutation is None
        assert "stopped" in panel.message.value and not state.busy
        assert not panel.run_button.disabled
    finally:
        state.permutation = computed


def test_panels_render_users_maps(map_files):
    s = LessonState()
    fetch = FetchPanel(s, background=False)
    fetch.paths.value = str(map_files[0]).replace("sub-01", "sub-*")
    fetch.load_button.click()
    assert s.maps.source == "user" and s.masked.n_subjects == len(map_files)
    s.permute()
    panels = [MaskPanel(s, False), TTestPanel(s, False), ComparisonPanel(s, False)]
    images = [fetch.image, panels[0].mask_image, panels[1].map_image,
              panels[2].maps_image, panels[2].null_image]
    assert all(len(image.value) > 1000 for image in images)
    assert "SIMULATED" not in fetch.origin.value


def test_bad_user_paths_show_one_line_and_keep_state(state, tmp_path):
    panel = FetchPanel(state, background=False)
    maps = state.maps
    panel.paths.value = str(tmp_path / "nothing-*.nii.gz")
    panel.load_button.click()
    text = panel.message.value
    assert "nothing-*.nii.gz" in text and "Traceback" not in text and text.count("<div") == 1
    assert state.maps is maps


def test_lesson_steps_and_self_check(state):
    lesson = Lesson(state, background=False)
    assert lesson.back.disabled and lesson.body.children[0] is lesson.panels[0].widget
    lesson.choice.value = "none"
    assert not lesson.answer() and "4.6%" in lesson.feedback.value
    assert lesson.answer(1)
    lesson.next.click()
    assert lesson.index == 1
    lesson.number.value = f"{state.masked.n_voxels:,}"
    assert lesson.answer()
    assert not lesson.answer("12")
    assert not lesson.answer("many") and "number" in lesson.feedback.value
    state.permutation = None  # arriving at the comparison starts the permutations
    for _ in STEPS:
        lesson.next.click()
    assert lesson.index == len(STEPS) - 1 and lesson.next.disabled
    assert state.permutation is not None and "Permutation max-t" in lesson.panels[-1].table.value


def test_check_answer_is_data_driven():
    step = {"question": "2 + 2?", "choices": ["3", "4"], "answer": 1, "why": {0: "count"}}
    assert check_answer(step, "4")[0] and not check_answer(step, 0)[0]
    assert "count" in check_answer(step, 0)[1]


def test_cluster_and_tfce_columns_match_api(state, reference):
    from glmteach.clusters import cluster_permutation_test

    masked = reference[0]
    panel = ComparisonPanel(state, background=False)
    panel.clusters_box.value = True
    try:
        assert "press Run permutations" in panel.table.value
        panel.run_button.click()
        field = reference[2]
        for cdt_p in (0.001, 0.01):
            panel.cdt.dropdown.value = cdt_p
            assert state.cluster_cdt_p == cdt_p
            t = stats.t.isf(cdt_p / 2, masked.Y.shape[0] - 1)
            assert f"|t| &gt; {t:.2f}" in panel.cdt.label.value
            panel.run_button.click()
            direct = cluster_permutation_test(masked.Y, masked.mask, masked.affine,
                                              n_perm=128, cluster_threshold=cdt_p)
            n_perm = state.effective_n_perm()
            rft_p = field.cluster_p(direct.cluster_sizes(), t, masked.Y.shape[0] - 1)
            expected = [int(np.isin(direct.labels, 1 + np.flatnonzero(rft_p <= state.alpha))
                            .sum()),
                        int((direct.cluster_p("size", n_perm) <= state.alpha).sum()),
                        int((direct.tfce_p(n_perm) <= state.alpha).sum())]
            assert _bold_numbers(panel.table.value)[3:] == expected
        with pytest.raises(Exception, match="looks like a t value"):
            state.cluster_cdt_p = 3.1
        assert state.cluster_cdt_p == 0.01
    finally:
        panel.clusters_box.value = False
        state.cluster_cdt_p = 0.001
    assert state.methods == ["bonferroni", "rft", "permutation"]


def test_app_lesson_hides_load_my_maps_notebook_panel_shows_it(state):
    lesson = Lesson(state, background=False)
    fetch = lesson.panels[0]
    assert not fetch.allow_user_paths and fetch.load_button.disabled
    assert all(fetch.paths not in getattr(box, "children", ()) for box in fetch.widget.children)
    panel = FetchPanel(state, background=False)
    assert panel.allow_user_paths and any(panel.paths in getattr(box, "children", ())
                                          for box in panel.widget.children)


def test_refused_smoothing_snaps_back_and_warning_clears(state):
    panel = MaskPanel(state, background=False)
    shown = state.masked.smoothing_fwhm or 0.0
    state.busy = "permute"  # a long task is running
    try:
        panel.smoothing_slider.value = shown + 3.0
        assert "still running" in panel.message.value
        assert panel.smoothing_slider.value == shown == state.smoothing_fwhm  # snapped back
        assert (state.masked.smoothing_fwhm or 0.0) == shown
    finally:
        state.busy = ""  # the run ends
    assert panel.message.value == ""  # the stale warning is gone


def test_stop_is_disabled_for_fetch_and_masking(state):
    fetch, mask = FetchPanel(state, background=False), MaskPanel(state, background=False)
    state.busy = "fetch"
    try:
        assert fetch.progress.stop_button.disabled
    finally:
        state.busy = ""
    state.busy = "remask"
    try:
        assert mask.progress.stop_button.disabled
    finally:
        state.busy = ""
    comparison = ComparisonPanel(state, background=False)
    state.busy = "permute"
    try:
        assert not comparison.progress.stop_button.disabled  # permutations can stop
    finally:
        state.busy = ""


def test_failed_fetch_shows_one_line_in_a_notebook(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("NILEARN_DATA", str(tmp_path))
    s = LessonState(source="nilearn", n_subjects=3)
    s.start("fetch", background=False)
    text = s.summary()  # what the notebooks print after fetching
    assert text.startswith("Failed: ") and "\n" not in text and "embedded" in text
    assert s.maps is None


def test_settings_text_labels_the_numbers(state):
    text = state.settings_text(alpha=0.05)
    assert "alpha = 0.05" in text and f"{state.n_distinct:,} distinct flips" in text
    assert f"{state.masked.n_subjects} subjects" in text and "SIMULATED" in text


def test_failed_fetch_puts_the_controls_back(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("NILEARN_DATA", str(tmp_path))
    s = LessonState(source="embedded", n_subjects=4)
    s.start("fetch", background=False)
    panel = FetchPanel(s, background=False)
    panel.source.value, panel.n_subjects.value = "nilearn", 6
    panel.fetch_button.click()  # offline: fails with one line
    assert "embedded" in panel.message.value and s.maps.n_subjects == 4
    assert (panel.source.value, panel.n_subjects.value) == ("embedded", 4)
