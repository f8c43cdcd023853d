"""Two conditions per subject: the checkerboard loader (fake nilearn cache, offline), the
SIMULATED cohort, and the lesson's designs against glm_ttest / permutation_test."""

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

import glmteach as gt
from glmteach.data import CHECKERBOARDS, DataUnavailableError, _contrast_file

from conftest import small_maps


def write_checkerboard_cache(data_dir, n_subjects=4):
    """Lay out both checkerboard contrasts where fetch_localizer_contrasts looks."""
    root = Path(data_dir) / "brainomics_localizer"
    index = {}
    for c, contrast in enumerate(CHECKERBOARDS):
        name = _contrast_file(contrast)
        for i, img in enumerate(small_maps(n_subjects, seed=10 + c)):
            sid = f"S{i + 1:02d}"
            rel = Path("brainomics_data", sid, f"cmaps_{name}.nii.gz")
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            img.to_filename(root / rel)
            key = (f"/localizer/derivatives/spm_1st_level/sub-{sid}/sub-{sid}_task-localizer"
                   f"_acq-{name}_cmaps.nii.gz")
            index[key] = f"/fake{sid}{name}"
    index["/localizer/participants.tsv"] = "/fakeparticipants"
    index["/localizer/phenotype/behavioural.tsv"] = "/fakebehavioural"
    (root / "download").write_text(json.dumps(index))
    ids = [f"S{i + 1:02d}" for i in range(n_subjects)]
    (root / "brainomics_data" / "participants.tsv").write_text(
        "participant_id\tage\n" + "".join(f"{s}\t{30 + 2 * k}\n" for k, s in enumerate(ids)))
    (root / "brainomics_data" / "phenotype").mkdir(exist_ok=True)
    (root / "brainomics_data" / "phenotype" / "behavioural.tsv").write_text(
        "participant_id\tscore\n" + "".join(f"{s}\t{k}\n" for k, s in enumerate(ids)))
    return root


def test_auto_uses_the_cached_real_maps_offline(tmp_path, offline, capsys):
    root = write_checkerboard_cache(tmp_path)
    maps = gt.load_checkerboards(n_subjects=4, data_dir=tmp_path)
    assert maps.source == "nilearn" and not maps.is_simulated
    assert "cache" in maps.notice and maps.notice in capsys.readouterr().out
    assert maps.first.subjects == maps.second.subjects == ["S01", "S02", "S03", "S04"]
    np.testing.assert_array_equal(maps.covariates["age"], [30, 32, 34, 36])
    written = nib.load(root / "brainomics_data/S03/cmaps_HorizontalCheckerboard.nii.gz")
    np.testing.assert_array_equal(maps.second.imgs[2].get_fdata(), written.get_fdata())
    stacked = maps.stacked()
    assert stacked.n_subjects == 8 and stacked.subjects[4] == "S01 horizontal checkerboard"


def test_auto_falls_back_to_the_simulated_cohort_with_a_reason(tmp_path, offline):
    maps = gt.load_checkerboards(n_subjects=3, data_dir=tmp_path, verbose=0)
    assert maps.is_simulated and "SIMULATED" in maps.description
    assert "SIMULATED" in maps.notice and "unreachable" in maps.notice
    assert "SIMULATED" in maps.first.description and "SIMULATED" in maps.stacked().description


def test_nilearn_source_offline_without_cache_is_one_line(tmp_path, offline):
    with pytest.raises(DataUnavailableError) as info:
        gt.load_checkerboards(n_subjects=2, source="nilearn", data_dir=tmp_path, verbose=0)
    assert "source='embedded'" in str(info.value) and "\n" not in str(info.value)


def test_bad_arguments():
    with pytest.raises(ValueError, match="source must be"):
        gt.load_checkerboards(source="osf")
    with pytest.raises(ValueError, match="n_subjects must be between 2 and 100"):
        gt.load_checkerboards(n_subjects=1, source="embedded")


@pytest.fixture(scope="module")
def simulated():
    maps = gt.load_checkerboards(n_subjects=12, source="embedded", verbose=0)
    return maps, gt.mask_maps(maps.stacked(), smoothing_fwhm=8.0)


def test_simulated_cohort_is_seeded_and_has_the_described_effects(simulated):
    maps, masked = simulated
    again = gt.load_checkerboards(n_subjects=12, source="embedded", verbose=0)
    np.testing.assert_array_equal(again.first.imgs[5].get_fdata(), maps.first.imgs[5].get_fdata())
    ages = maps.covariates["age"].to_numpy()
    assert ages.min() >= 20 and ages.max() <= 60 and len(set(ages)) == 12
    # the vertical - horizontal effect sits at the hand-placed occipital blobs
    tt = gt.glm_ttest(masked.Y[:12] - masked.Y[12:], np.ones((12, 1)), [1])
    peak = np.argmax(tt.t)
    xyz = masked.affine[:3, :3] @ np.argwhere(masked.mask)[peak] + masked.affine[:3, 3]
    assert tt.t[peak] > 6 and xyz[1] < -60  # occipital


@pytest.mark.parametrize("kind", ["paired", "two-sample", "one-sample + age", "age effect"])
def test_designs_test_what_they_say(simulated, kind):
    maps, masked = simulated
    design = gt.group_design(kind, maps.covariates)
    Y = design.data(masked.Y[:, :400])
    res = design.test(masked.Y[:, :400], n_perm=200)
    np.testing.assert_allclose(res.t, gt.glm_ttest(Y, design.matrix, design.contrast).t)
    diff = masked.Y[:12, :400] - masked.Y[12:, :400]
    if kind == "paired":  # = the one-sample t of the differences, sign flips = swaps
        assert res.flips.errors == "exchangeable" and design.blocks is not None
        np.testing.assert_allclose(res.t, gt.one_sample_ttest(diff).t, rtol=1e-9)
    elif kind == "two-sample":
        assert Y.shape[0] == 24 and res.df == 22 and res.flips.errors == "exchangeable"
    elif kind == "one-sample + age":
        assert res.flips.errors == "symmetric" and res.df == 10
    else:
        age = maps.covariates["age"].to_numpy()
        r = [np.corrcoef(age, diff[:, v])[0, 1] for v in range(3)]
        np.testing.assert_allclose(res.t[:3], np.array(r) * np.sqrt(10 / (1 - np.square(r))))


def test_group_design_bad_input(simulated):
    maps, masked = simulated
    with pytest.raises(ValueError, match="kind must be one of"):
        gt.group_design("anova", maps.covariates)
    no_age = maps.covariates.assign(age=np.nan)
    with pytest.raises(ValueError, match="no age"):
        gt.group_design("age effect", no_age)
    with pytest.raises(ValueError, match="stacked"):
        gt.group_design("paired", maps.covariates).data(masked.Y[:5])


def test_comparison_sentence_is_generated_from_the_numbers(simulated):
    from scipy import stats

    from glmteach.designs import compare_with_parametric

    maps, masked = simulated
    design = gt.group_design("paired", maps.covariates)
    res = design.test(masked.Y[:, :2000], n_perm=500)
    out = compare_with_parametric(design, res, alpha=0.05)
    bonf = stats.t.isf(0.05 / 2 / 2000, res.df)
    assert out["bonferroni_threshold"] == pytest.approx(bonf)
    assert out["permutation_voxels"] == res.n_survivors(0.05)
    assert out["bonferroni_voxels"] == int((np.abs(res.t) > bonf).sum())
    text = out["sentence"]
    assert f"{out['permutation_threshold']:.2f}" in text and f"{bonf:.2f}" in text
    assert ("less strict" in text) == (out["permutation_threshold"] < bonf)
    assert "500 random rearrangements" in text


def test_glm_null_world_table_and_sentence():
    from glmteach.glm_nullworld import confounded_design, run_glm_null_world

    X = confounded_design(12, 0.6, np.random.default_rng(0))
    assert np.corrcoef(X[:, 1], X[:, 2])[0, 1] == pytest.approx(0.6)
    world = run_glm_null_world(methods=("freedman_lane", "manly"), n_studies=12,
                               n_subjects=10, n_voxels=5, n_perm=50)
    table = world.table(alpha=0.1)
    for row in table.itertuples(index=False):
        key = {"Freedman-Lane": "freedman_lane", "Manly": "manly"}[row.method]
        assert row[1] == int((world.min_p[key] <= 0.1).sum())
        assert f"found a false positive in {row[1]} " in world.sentence(alpha=0.1)
    with pytest.raises(ValueError, match="unknown method"):
        run_glm_null_world(methods=("kennedy",))
