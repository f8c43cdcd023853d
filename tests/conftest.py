"""Shared fixtures: small NIfTI data made on the fly, a fake nilearn cache, no network."""

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from glmteach.data import _CONTRAST_FILE

SMALL_SHAPE = (12, 14, 10)
SMALL_AFFINE = np.diag([4.0, 4.0, 4.0, 1.0])
SMALL_AFFINE[:3, 3] = [-24.0, -28.0, -20.0]


def small_maps(n_subjects=6, seed=0, shape=SMALL_SHAPE, affine=SMALL_AFFINE, effect=2.0):
    """Smooth noise plus a positive blob, zero outside an ellipsoid 'brain'."""
    rng = np.random.default_rng(seed)
    grid = np.indices(shape).astype(float)
    centre = (np.array(shape) - 1) / 2
    brain = (((grid - centre[:, None, None, None]) / (centre[:, None, None, None] + 0.5)) ** 2).sum(0) < 1
    blob = np.exp(-(((grid - (centre + [2, 0, 0])[:, None, None, None]) ** 2).sum(0)) / 4.0)
    imgs = []
    for _ in range(n_subjects):
        noise = gaussian_filter(rng.standard_normal(shape), 1.0)
        noise /= noise.std()
        data = np.where(brain, effect * blob + noise, 0).astype(np.float32)
        imgs.append(nib.Nifti1Image(data, affine))
    return imgs


@pytest.fixture
def map_files(tmp_path):
    """Six small subject maps written as sub-XX_con.nii.gz; returns their paths."""
    paths = []
    for i, img in enumerate(small_maps(6)):
        path = tmp_path / f"sub-{i + 1:02d}_con.nii.gz"
        img.to_filename(path)
        paths.append(str(path))
    return paths


@pytest.fixture
def offline(monkeypatch):
    """No network, whatever the machine: nilearn's downloads and our probe both fail."""
    import requests

    def refuse(*args, **kwargs):
        raise requests.ConnectionError("Failed to resolve 'osf.io' (offline for this test)")

    monkeypatch.setattr(requests.sessions.Session, "send", refuse)
    monkeypatch.setattr("glmteach.data._network_reason",
                        lambda timeout=3.0: "osf.io is unreachable (offline for this test)")


def write_localizer_cache(data_dir, n_subjects=4, seed=1):
    """Lay out files exactly where fetch_localizer_contrasts looks for them."""
    root = Path(data_dir) / "brainomics_localizer"
    index = {}
    for i, img in enumerate(small_maps(n_subjects, seed=seed)):
        sid = f"S{i + 1:02d}"
        for kind, scale in (("cmaps", 1.0), ("tmaps", 2.0)):
            rel = Path("brainomics_data", sid, f"{kind}_{_CONTRAST_FILE}.nii.gz")
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            nib.Nifti1Image(np.asarray(img.dataobj) * scale, img.affine).to_filename(root / rel)
            key = (f"/localizer/derivatives/spm_1st_level/sub-{sid}/sub-{sid}_task-localizer"
                   f"_acq-{_CONTRAST_FILE}_{kind}.nii.gz")
            index[key] = f"/fake{sid}{kind}"
    index["/localizer/participants.tsv"] = "/fakeparticipants"
    index["/localizer/phenotype/behavioural.tsv"] = "/fakebehavioural"
    (root / "download").write_text(json.dumps(index))
    ids = [f"S{i + 1:02d}" for i in range(n_subjects)]
    (root / "brainomics_data" / "participants.tsv").write_text(
        "participant_id\tage\n" + "".join(f"{s}\t{20 + k}\n" for k, s in enumerate(ids)))
    (root / "brainomics_data" / "phenotype").mkdir(exist_ok=True)
    (root / "brainomics_data" / "phenotype" / "behavioural.tsv").write_text(
        "participant_id\tscore\n" + "".join(f"{s}\t{k}\n" for k, s in enumerate(ids)))
    return root


@pytest.fixture
def localizer_cache(tmp_path):
    write_localizer_cache(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def embedded16():
    """The default lesson data: 16 simulated subjects, masked and smoothed at 8 mm."""
    import glmteach as gt

    maps = gt.load_localizer(n_subjects=16, source="embedded")
    return maps, gt.mask_maps(maps, smoothing_fwhm=8.0)


LESSON_SUBJECTS = 8  # 2**7 = 128 distinct flips: the exact null takes a fraction of a second


def lesson_state():
    """A lesson at the embedded data's first 8 subjects, fetched and permuted (all flips)."""
    from glmteach.widgets import LessonState

    state = LessonState(source="embedded", n_subjects=LESSON_SUBJECTS)
    state.fetch()
    state.permute()
    return state


def lesson_reference(state):
    """The same analysis as ``state``'s, done directly with the statistics API."""
    import glmteach as gt
    from glmteach import corrections, glm, masking, permutation
    from glmteach._flips import n_distinct_flips

    maps = gt.load_localizer(n_subjects=LESSON_SUBJECTS, source="embedded", verbose=0)
    masked = masking.mask_maps(maps, smoothing_fwhm=state.smoothing_fwhm)
    tt = glm.one_sample_ttest(masked.Y)
    field = corrections.random_field(masked.Y, masked.mask, masked.voxel_size_mm)
    perm = permutation.permutation_test(masked.Y, n_perm=n_distinct_flips(LESSON_SUBJECTS))
    return masked, tt, field, perm
