"""The cluster-failure side of the null world: noise models, the CDT, RFT cluster extent
and permutation cluster size, against SciPy labelling, the statistics API and theory."""

import numpy as np
import pytest
from scipy import ndimage, stats

import glmteach as gt
from glmteach import _noise, nullworld as nw
from glmteach.clusters import cluster_permutation_test
from glmteach.rft import cdt_from_p

VOXEL = (3.0, 3.0, 3.0)


def ball(size=16, radius=7.5):
    grid = np.indices((size,) * 3) - (size - 1) / 2
    return (grid**2).sum(axis=0) <= radius**2


def largest_cluster_scipy(t, mask, threshold, two_sided=True):
    """Largest 6-connected cluster above threshold (and below -threshold), by SciPy."""
    vol = np.zeros(mask.shape)
    vol[mask] = t
    best = 0
    for side in ((vol > threshold), (vol < -threshold)) if two_sided else ((vol > threshold),):
        labels, n = ndimage.label(side)  # default structure: faces (6-connected)
        if n:
            best = max(best, int(np.bincount(labels.ravel())[1:].max()))
    return best


@pytest.mark.parametrize("fwhm", [6.0, 8.0, 12.0])
def test_long_tailed_model_has_the_nominal_neighbour_correlation(fwhm):
    model = _noise.noise_model("long_tailed", fwhm, (2.0, 3.0, 4.0))
    assert sum(a**2 for a in model.amplitudes) == pytest.approx(1.0)
    for axis, size in enumerate((2.0, 3.0, 4.0)):
        # the lag-one correlation, which the FWHM estimate reads, is the Gaussian one...
        assert model.acf(size, axis) == pytest.approx(model.gaussian_acf(size, axis),
                                                      rel=1e-10)
        # ...but far away the long-tailed noise is still correlated
        far = 2.5 * fwhm
        assert model.acf(far, axis) > 0.1 > 20 * model.gaussian_acf(far, axis)
    gaussian = _noise.noise_model("gaussian", fwhm, (2.0, 3.0, 4.0))
    assert gaussian.acf(fwhm / np.sqrt(2), 0) == pytest.approx(0.5)  # ACF FWHM: sqrt(2) f
    assert "long-tailed" in model.describe() and "Gaussian" in gaussian.describe()


def test_long_tailed_noise_unit_variance_estimated_fwhm_and_tail():
    mask = np.ones((26, 26, 26), bool)
    Y = np.concatenate([nw.simulate_null_cohort(mask, 16, 8.0, VOXEL, random_state=s,
                                                noise="long_tailed") for s in range(3)])
    assert abs(Y.var() - 1.0) < 0.15
    field = gt.random_field(Y, mask, VOXEL)
    np.testing.assert_allclose(field.fwhm_mm, 8.0, rtol=0.1)  # "the same smoothness"
    vol = Y.reshape((-1,) + mask.shape)
    model = _noise.noise_model("long_tailed", 8.0, VOXEL)
    for lag in (1, 3, 8):  # 3, 9 and 24 mm along the first axis
        r = np.mean(vol[:, lag:] * vol[:, :-lag]) / np.mean(vol**2)
        assert r == pytest.approx(model.acf(3.0 * lag), abs=0.06)
    assert model.acf(24.0) > 0.05 > 1000 * model.gaussian_acf(24.0)


def test_gaussian_noise_is_what_it_was():
    """The noise model refactor left the Gaussian null studies unchanged (seeded)."""
    mask = ball(10, 4.5)
    a = nw.simulate_null_cohort(mask, random_state=4, study=1)
    b = nw.simulate_null_cohort(mask, random_state=4, study=1, noise="gaussian")
    np.testing.assert_array_equal(a, b)
    c = nw.simulate_null_cohort(mask, random_state=4, study=1, noise="long_tailed")
    assert not np.allclose(a, c)


@pytest.mark.parametrize("noise", ["gaussian", "long_tailed"])
@pytest.mark.parametrize("cdt_p", [0.01, 0.001])
def test_rft_cluster_is_the_cluster_p_of_the_largest_cluster(noise, cdt_p):
    mask = ball(16, 7.5)
    res = nw.run_null_world(mask, n_experiments=3, n_perm=20, random_state=2,
                            methods=["rft_cluster"], noise=noise, cdt_p=cdt_p,
                            smoothing_fwhm=9.0)
    u = cdt_from_p(cdt_p, 15)
    assert res.cdt_t == pytest.approx(u) and res.cdt_p == cdt_p
    for study in range(3):
        Y = nw.simulate_null_cohort(mask, 16, 9.0, VOXEL, random_state=2, study=study,
                                    noise=noise)
        tt = gt.one_sample_ttest(Y)
        size = largest_cluster_scipy(tt.t, mask, u)
        assert res.max_cluster[study] == size
        field = gt.random_field(Y, mask, VOXEL)
        expected = field.cluster_p(size, u, 15) if size else 1.0
        assert res.min_p["rft_cluster"][study] == pytest.approx(expected, rel=1e-3)
        np.testing.assert_allclose(res.fwhm_mm[study], field.fwhm_mm, rtol=1e-4)


def test_permutation_cluster_uses_the_cdt_and_records_its_null():
    mask = ball(12, 5.5)
    res = nw.run_null_world(mask, n_experiments=2, n_perm=40, random_state=1, cdt_p=0.01,
                            methods=["rft_cluster", "cluster"], smoothing_fwhm=10.0,
                            noise="long_tailed")
    plan = nw._make_plan(mask, 16, 10.0, 40, True, 1, VOXEL, (), noise="long_tailed")
    for study in range(2):
        Y = nw.simulate_null_cohort(mask, 16, 10.0, random_state=1, study=study,
                                    noise="long_tailed")
        ref = cluster_permutation_test(Y, mask, n_perm=40, cluster_threshold=0.01,
                                       tfce=False, random_state=nw._study_seeds(plan, study)[1])
        np.testing.assert_array_equal(res.cluster_null[study], ref.max_size_null)
        assert res.max_cluster[study] == ref.max_size_null[0]
        assert res.min_p["cluster"][study] == pytest.approx(
            ref.cluster_p("size").min(initial=1.0))
    # the per-study cluster-size thresholds say the same as the per-study p-values
    for alpha in (0.05, 0.2, 0.5):
        sizes = res.cluster_thresholds(alpha)
        for method in ("rft_cluster", "cluster"):
            np.testing.assert_array_equal(res.max_cluster >= sizes[method],
                                          res.false_positives(method, alpha))


def test_permutation_cluster_fwer_is_exact_and_long_tails_make_bigger_null_clusters():
    mask = np.ones((20, 20, 20), bool)
    runs = {noise: nw.run_null_world(mask, n_experiments=60, n_perm=100, random_state=5,
                                     methods=["rft_cluster", "cluster"], cdt_p=0.01,
                                     noise=noise)
            for noise in ("gaussian", "long_tailed")}
    for res in runs.values():
        assert stats.binomtest(res.fwer(0.2)["cluster"].n_false, 60, 0.2).pvalue > 0.001
    gauss, tail = runs["gaussian"], runs["long_tailed"]
    # same estimated smoothness, so RFT asks for the same cluster size in both worlds...
    np.testing.assert_allclose(tail.estimated_fwhm(), gauss.estimated_fwhm(), rtol=0.1)
    rft_g = np.median(gauss.cluster_thresholds(0.05)["rft_cluster"])
    rft_t = np.median(tail.cluster_thresholds(0.05)["rft_cluster"])
    assert rft_t == pytest.approx(rft_g, rel=0.15)
    # ...while chance makes larger clusters in the long-tailed world: permutation, which
    # learns that from the data, asks for larger ones
    perm_g = np.median(gauss.cluster_thresholds(0.05)["cluster"])
    perm_t = np.median(tail.cluster_thresholds(0.05)["cluster"])
    assert perm_t > 1.25 * perm_g


def test_summary_table_and_sentence_come_from_the_numbers():
    res = nw.run_null_world(ball(14, 6.5), n_experiments=20, n_perm=50, random_state=3,
                            methods=["rft", "rft_cluster", "cluster"], cdt_p=0.01,
                            noise="long_tailed")
    summary = res.summary()
    assert "long-tailed ACF" in summary and "p < 0.01" in summary
    assert f"|t| > {cdt_from_p(0.01, 15):.2f}" in summary
    fx = res.estimated_fwhm()[0]
    assert f"{fx:.1f} x" in summary
    table = res.table(0.05)
    sizes = res.cluster_thresholds(0.05)
    row = table.set_index("method").loc["cluster"]
    assert row.cluster_threshold == np.median(sizes["cluster"])
    for alpha in (0.05, 0.3):
        sentence = nw.cluster_failure_sentence(res, alpha)
        for method in ("rft_cluster", "cluster"):
            e = res.fwer(alpha)[method]
            assert f"{nw.LABELS[method]} found a false positive in {e.n_false} of 20" \
                in sentence
            assert (f"above alpha = {alpha:g}" in sentence) == any(
                res.fwer(alpha)[m].lo > alpha for m in ("rft_cluster", "cluster"))
        perm = np.median(res.cluster_thresholds(alpha)["cluster"])
        assert f"{perm:.0f} voxels to be significant by permutation" in sentence
    assert nw.cluster_failure_sentence(
        nw.run_null_world(ball(6, 2.5), n_experiments=1, n_perm=10)) == ""


@pytest.mark.parametrize("kwargs, match", [
    (dict(cdt_p=3.1), "looks like a t value"),
    (dict(cdt_p=0.0), "between 0 and 1"),
    (dict(noise="pink"), "noise must be one of"),
    (dict(connectivity=8), "connectivity must be 6, 18 or 26"),
])
def test_bad_cluster_input_says_what_to_do(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nw.run_null_world(ball(6, 2.5), n_experiments=1, n_perm=10,
                          methods=["rft_cluster"], **kwargs)


# ---------------------------------------------------------------- the panel, headless
def _lesson(mask, n_subjects=16):
    from types import SimpleNamespace

    from glmteach.widgets.state import LessonState

    state = LessonState(source="embedded")
    state.masked = SimpleNamespace(mask=mask, n_subjects=n_subjects, voxel_size_mm=VOXEL)
    return state


def test_panel_noise_and_cdt_controls_run_what_they_say():
    import html

    from glmteach.widgets.labs import NullWorldPanel

    mask = ball(10, 4.5)
    panel = NullWorldPanel(_lesson(mask), n_experiments=20, n_perm=100, background=False,
                           methods=("rft", "permutation"))
    assert f"|t| &gt; {cdt_from_p(0.001, 15):.2f}" in panel.cdt_label.value
    acf = panel.acf_image.value
    panel.noise_buttons.value = "long_tailed"
    panel.cdt_dropdown.value = 0.01
    assert panel.acf_image.value != acf and panel.result is None  # drawn, not simulated
    assert f"|t| &gt; {cdt_from_p(0.01, 15):.2f}" in panel.cdt_label.value
    panel.extra["rft_cluster"].value = True
    panel.extra["cluster"].value = True
    panel.run_button.click()
    res = panel.result
    assert res.noise == "long_tailed" and res.cdt_p == 0.01
    assert res.methods == ("rft", "permutation", "rft_cluster", "cluster")
    direct = nw.run_null_world(mask, n_experiments=20, n_perm=100, noise="long_tailed",
                               cdt_p=0.01, methods=res.methods, random_state=0)
    np.testing.assert_array_equal(direct.min_p["rft_cluster"], res.min_p["rft_cluster"])
    np.testing.assert_array_equal(direct.cluster_null, res.cluster_null)
    assert f"estimated FWHM {np.mean(res.estimated_fwhm()):.1f} mm" in panel.status.value
    assert html.escape(nw.cluster_failure_sentence(res, 0.05)) in panel.explanation.value
    size = np.median(res.cluster_thresholds(0.05)["cluster"])
    assert f"{size:.0f} voxels</td>" in panel.status.value


def test_panel_refuses_a_t_where_a_p_is_expected():
    from glmteach.widgets.labs import NullWorldPanel

    with pytest.raises(ValueError, match="looks like a t value"):
        NullWorldPanel(_lesson(ball(6, 2.5)), background=False, cdt_p=3.1)
    with pytest.raises(ValueError, match="cdt_p must be one of"):
        NullWorldPanel(_lesson(ball(6, 2.5)), background=False, cdt_p=0.02)
    with pytest.raises(ValueError, match="noise must be one of"):
        NullWorldPanel(_lesson(ball(6, 2.5)), background=False, noise="pink")


def test_fwer_table_has_one_row_per_run_and_method():
    mask = ball(8, 3.5)
    runs = {(noise, p): nw.run_null_world(mask, n_experiments=5, n_perm=20, noise=noise,
                                          cdt_p=p, methods=["rft_cluster", "cluster"])
            for noise in nw.NOISE_MODELS for p in (0.01, 0.001)}
    table = nw.fwer_table(runs, alpha=0.1)
    assert len(table) == 8 and set(table.noise) == set(nw.NOISE_MODELS)
    for row in table.itertuples():
        e = runs[(row.noise, row.cdt_p)].fwer(0.1)[row.method]
        assert (row.fwer, row.ci_low, row.ci_high, row.false_positives, row.studies) == \
            (e.rate, e.lo, e.hi, e.n_false, 5)


@pytest.mark.parametrize("two_sided", [True, False])
@pytest.mark.parametrize("connectivity", [6, 26])
def test_cluster_null_kernel_against_scipy_labelling(two_sided, connectivity):
    from glmteach._flips import sign_flips
    from glmteach._kernels import nullworld as k
    from glmteach._kernels.signflip import pattern_codes, split_groups
    from glmteach.clusters import mask_neighbours
    from reference import one_sample_t

    rng = np.random.default_rng(8)
    mask = ball(12, 5.5)
    n = 9
    Y = ndimage.gaussian_filter(rng.standard_normal((n,) + mask.shape), (0, 1.2, 1.2, 1.2))
    Y = Y[:, mask]
    Ys = (Y / np.sqrt((Y**2).sum(axis=0))).astype(np.float32)
    flips = sign_flips(n, 3000, two_sided, 0)
    starts, sizes = split_groups(n)
    codes = pattern_codes(flips.signs, starts, sizes)
    u = 2.2
    out = np.empty(flips.n_flips, np.int32)
    k.cluster_null_f32(Ys, starts, sizes, codes, np.float32(u * np.sqrt(n / (n - 1 + u * u))),
                       two_sided, 1024, mask_neighbours(mask, connectivity), out)
    structure = ndimage.generate_binary_structure(3, {6: 1, 26: 3}[connectivity])
    expected = []
    for signs in flips.signs:
        t = np.zeros(mask.shape)
        t[mask] = one_sample_t(Y * signs[:, None])
        best = 0
        for side in (t > u, t < -u) if two_sided else (t > u,):
            labels, count = ndimage.label(side, structure)
            if count:
                best = max(best, int(np.bincount(labels.ravel())[1:].max()))
        expected.append(best)
    assert flips.exact and np.mean(out == np.array(expected)) > 0.99  # float32 sums
    assert np.abs(out - np.array(expected)).max() <= 2
