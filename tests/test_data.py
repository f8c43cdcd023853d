"""The data layer: real-data loading through nilearn (no network), the simulated cohort,
users' own maps, and a one-line error for every bad input."""

import gzip
import json
import os

import nibabel as nib
import numpy as np
import pytest
from scipy import stats

import glmteach as gt
from glmteach.data import _CONTRAST_FILE, DataUnavailableError

from conftest import small_maps


# ----------------------------------------------------------------------------- nilearn source

def test_nilearn_source_reads_cached_files_without_network(localizer_cache, offline):
    maps = gt.load_localizer(n_subjects=4, source="nilearn", data_dir=localizer_cache)
    assert maps.source == "nilearn" and not maps.is_simulated
    assert maps.subjects == ["S01", "S02", "S03", "S04"]
    expected = small_maps(4, seed=1)
    for img, tmap, ref in zip(maps.imgs, maps.tmaps, expected):
        assert img.shape == ref.shape and np.allclose(img.affine, ref.affine)
        np.testing.assert_allclose(np.asarray(img.dataobj), np.asarray(ref.dataobj), rtol=1e-6)
        np.testing.assert_allclose(np.asarray(tmap.dataobj), 2 * np.asarray(ref.dataobj), rtol=1e-6)


def test_nilearn_source_is_what_nilearn_fetcher_returns(localizer_cache, offline):
    from nilearn.datasets import fetch_localizer_contrasts

    bunch = fetch_localizer_contrasts(["left vs right button press"], n_subjects=3,
                                      get_tmaps=True, data_dir=localizer_cache, verbose=0)
    maps = gt.load_localizer(n_subjects=3, source="nilearn", data_dir=localizer_cache)
    for img, path in zip(maps.imgs, bunch["cmaps"]):
        np.testing.assert_array_equal(np.asarray(img.dataobj), nib.load(path).get_fdata())


def test_auto_prefers_cached_real_data(localizer_cache, offline, capsys):
    maps = gt.load_localizer(n_subjects=4, source="auto", data_dir=localizer_cache)
    assert maps.source == "nilearn"
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "real" in out[0] and "cache" in out[0]


def test_auto_falls_back_to_embedded_offline_with_one_line(tmp_path, offline, capsys):
    maps = gt.load_localizer(n_subjects=3, source="auto", data_dir=tmp_path)
    assert maps.source == "embedded" and maps.is_simulated
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "SIMULATED" in out[0] and "unreachable" in out[0]
    assert "glmteach fetch" in out[0]


def test_glmteach_offline_skips_the_network(tmp_path, monkeypatch, capsys):
    def no_probe(*args, **kwargs):
        raise AssertionError("the network was probed although GLMTEACH_OFFLINE=1")

    monkeypatch.setenv("GLMTEACH_OFFLINE", "1")
    monkeypatch.setattr("socket.create_connection", no_probe)
    maps = gt.load_localizer(n_subjects=2, source="auto", data_dir=tmp_path)
    assert maps.source == "embedded" and "GLMTEACH_OFFLINE" in capsys.readouterr().out


def test_network_down_with_nilearn_source_says_what_to_do(tmp_path, offline):
    with pytest.raises(DataUnavailableError) as err:
        gt.load_localizer(n_subjects=2, source="nilearn", data_dir=tmp_path)
    message = str(err.value)
    assert "\n" not in message and "source='embedded'" in message and "glmteach fetch" in message
    assert isinstance(err.value, ConnectionError)


def test_corrupt_cached_file_is_kept_aside_and_explained(localizer_cache, offline):
    path = localizer_cache / f"brainomics_localizer/brainomics_data/S02/cmaps_{_CONTRAST_FILE}.nii.gz"
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])  # a download cut in the middle
    with pytest.raises(DataUnavailableError) as err:
        gt.load_localizer(n_subjects=4, source="nilearn", data_dir=localizer_cache)
    assert "corrupt" in str(err.value) and "\n" not in str(err.value)
    assert (path.parent / (path.name + ".corrupt")).read_bytes() == raw[: len(raw) // 2]


def test_corrupt_cached_file_is_fetched_again_when_online(localizer_cache, monkeypatch):
    path = localizer_cache / f"brainomics_localizer/brainomics_data/S01/tmaps_{_CONTRAST_FILE}.nii.gz"
    good = path.read_bytes()
    path.write_bytes(good[:100])

    def fake_download(url, data_dir, **kwargs):  # the server sends the good file again
        out = data_dir / os.path.basename(url.rstrip("/"))
        out.write_bytes(good)
        return out

    import nilearn.datasets._utils as utils
    real_fetch_files = utils.fetch_files

    def fetch_files(data_dir, files, **kwargs):
        for rel, url, opts in files:
            if not (data_dir / rel).exists():
                (data_dir / rel).write_bytes(good)
        return real_fetch_files(data_dir, files, **kwargs)

    monkeypatch.setattr("nilearn.datasets.func.fetch_files", fetch_files)
    maps = gt.load_localizer(n_subjects=4, source="nilearn", data_dir=localizer_cache)
    assert maps.tmaps[0].shape == maps.imgs[0].shape


# ----------------------------------------------------------------------------- embedded source

def _motor_rois(masked):
    ijk = np.argwhere(masked.mask)
    xyz = ijk @ masked.affine[:3, :3].T + masked.affine[:3, 3]
    box = (np.abs(xyz[:, 0]) > 20) & (np.abs(xyz[:, 0]) < 65) & (xyz[:, 1] > -45) & \
          (xyz[:, 1] < 5) & (xyz[:, 2] > 30) & (xyz[:, 2] < 75)
    return box & (xyz[:, 0] > 0), box & (xyz[:, 0] < 0)


def test_embedded_cohort_tells_the_seed_story(embedded16):
    maps, masked = embedded16
    assert maps.is_simulated and "SIMULATED" in maps.description
    assert len(maps.imgs) == len(maps.tmaps) == 16
    t, p = stats.ttest_1samp(masked.Y, 0.0)
    right, left = _motor_rois(masked)
    significant = p < 0.001
    # right motor cortex positive, left negative, and not the other way round
    assert (significant & right & (t > 0)).sum() > 300
    assert (significant & left & (t < 0)).sum() > 300
    assert (significant & right & (t < 0)).sum() == 0
    assert (significant & left & (t > 0)).sum() < 0.02 * (significant & left).sum()
    # the effect is also visible in each subject's t-map at t = 2
    for tmap in maps.tmaps:
        values = np.asarray(tmap.dataobj)[masked.mask]
        elsewhere = np.mean(np.abs(values[~(right | left)]) > 2)
        assert np.mean(values[right] > 2) > 3 * elsewhere


def test_embedded_is_deterministic_and_nested():
    a = gt.load_localizer(n_subjects=3, source="embedded", random_state=5)
    b = gt.load_localizer(n_subjects=5, source="embedded", random_state=5)
    c = gt.load_localizer(n_subjects=3, source="embedded", random_state=6)
    for x, y in zip(a.imgs, b.imgs):
        np.testing.assert_array_equal(np.asarray(x.dataobj), np.asarray(y.dataobj))
    assert not np.array_equal(np.asarray(a.imgs[0].dataobj), np.asarray(c.imgs[0].dataobj))
    assert a.subjects == ["sim-01", "sim-02", "sim-03"]
    assert a.imgs[0].shape == (53, 63, 46)
    np.testing.assert_allclose(np.diag(a.imgs[0].affine)[:3], [-3, 3, 3])


@pytest.mark.parametrize("n", [1, 101, 2.5, "16"])
def test_embedded_subject_count_limits(n):
    with pytest.raises(ValueError, match="n_subjects"):
        gt.load_localizer(n_subjects=n, source="embedded")


def test_unknown_source():
    with pytest.raises(ValueError, match="'auto', 'nilearn' or 'embedded'"):
        gt.load_localizer(source="openneuro")


# ----------------------------------------------------------------------------- user maps

def test_load_maps_list_and_glob_agree(map_files, tmp_path):
    by_list = gt.load_maps(map_files)
    by_glob = gt.load_maps(str(tmp_path / "sub-*_con.nii.gz"))
    assert by_glob.subjects == by_list.subjects == [f"sub-{i:02d}_con" for i in range(1, 7)]
    assert by_list.source == "user" and str(tmp_path) in by_list.description
    for img, path in zip(by_glob.imgs, map_files):
        np.testing.assert_array_equal(np.asarray(img.dataobj), nib.load(path).get_fdata())


def _one_line(excinfo):
    assert "\n" not in str(excinfo.value)
    return str(excinfo.value)


def test_missing_file(map_files):
    with pytest.raises(FileNotFoundError) as err:
        gt.load_maps(map_files + ["/nowhere/sub-99.nii.gz"])
    assert "/nowhere/sub-99.nii.gz" in _one_line(err)


def test_glob_without_match(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        gt.load_maps(str(tmp_path / "*.nii.gz"))
    assert "no file matches" in _one_line(err)


def test_not_nifti(map_files, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("these are my notes, not a brain map")
    with pytest.raises(ValueError) as err:
        gt.load_maps(map_files[:2] + [str(bad)])
    assert "not a NIfTI image" in _one_line(err)


def test_truncated_user_file(map_files):
    raw = open(map_files[1], "rb").read()
    with open(map_files[1], "wb") as f:
        f.write(raw[: len(raw) // 2])
    with pytest.raises(ValueError) as err:
        gt.load_maps(map_files)
    assert "truncated or corrupt" in _one_line(err) and map_files[1] in str(err.value)


def test_4d_image_with_3d_maps(map_files, tmp_path):
    four_d = tmp_path / "all_subjects.nii.gz"
    nib.concat_images([nib.load(p) for p in map_files[:3]]).to_filename(four_d)
    maps = gt.load_maps([str(four_d), map_files[3]])  # volumes count as maps, as nilearn
    assert maps.n_subjects == 4 and maps.subjects[-1] == "sub-04_con"


def test_different_grids_error_then_resample(map_files, tmp_path):
    odd = tmp_path / "odd.nii.gz"
    nib.Nifti1Image(np.ones((8, 8, 8), np.float32), np.diag([5.0, 5, 5, 1])).to_filename(odd)
    with pytest.raises(ValueError) as err:
        gt.load_maps(map_files + [str(odd)])
    assert "resample=True" in _one_line(err) and "odd" in str(err.value)
    maps = gt.load_maps(map_files + [str(odd)], resample=True)
    assert all(img.shape == maps.imgs[0].shape for img in maps.imgs)
    assert np.allclose(maps.imgs[-1].affine, maps.imgs[0].affine)


def test_fewer_than_two_subjects(map_files):
    with pytest.raises(ValueError) as err:
        gt.load_maps(map_files[:1])
    assert "at least 2" in _one_line(err)


def test_gzip_header_but_garbage(tmp_path, map_files):
    bad = tmp_path / "sub-07_con.nii.gz"
    bad.write_bytes(gzip.compress(b"garbage" * 10))
    with pytest.raises(ValueError) as err:
        gt.load_maps(map_files + [str(bad)])
    assert str(bad) in _one_line(err)


# ----------------------------------------------------------------------------- broken caches

def _break_index(root):
    (root / "download").write_text("{not json at all")


def _break_participants(root):
    (root / "brainomics_data" / "participants.tsv").write_bytes(b"\x00\xff\x13garbage\n\t\t\x00")


def _truncate_map(root):
    path = root / f"brainomics_data/S02/cmaps_{_CONTRAST_FILE}.nii.gz"
    path.write_bytes(path.read_bytes()[:200])


def _wrong_shape_map(root):
    path = root / f"brainomics_data/S03/cmaps_{_CONTRAST_FILE}.nii.gz"
    nib.Nifti1Image(np.ones((5, 6, 7), np.float32), np.eye(4)).to_filename(path)


def _drop_map_entries(root):  # nilearn's index forgot the contrast maps: no "cmaps" at all
    index = json.loads((root / "download").read_text())
    (root / "download").write_text(json.dumps({k: v for k, v in index.items()
                                               if "cmaps" not in k}))


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("breaker", [_break_index, _break_participants, _truncate_map,
                                     _wrong_shape_map, _drop_map_entries])
def test_auto_with_broken_cache_falls_back_every_time(localizer_cache, offline, capsys,
                                                      breaker):
    root = localizer_cache / "brainomics_localizer"
    breaker(root)
    before = _snapshot(root)
    notices = []
    for _ in range(2):  # the first run and every later one
        maps = gt.load_localizer(n_subjects=4, source="auto", data_dir=localizer_cache)
        assert maps.source == "embedded" and maps.is_simulated
        out = capsys.readouterr().out.strip().splitlines()
        assert len(out) == 1 and "SIMULATED" in out[0] and "glmteach fetch" in out[0]
        notices.append(out[0])
    assert notices[0] == notices[1] and "cannot be read" in notices[0]
    after = _snapshot(root)
    # nothing of the user's cache is deleted (or changed)
    assert all(after.get(name) == content for name, content in before.items())


def test_index_without_the_maps_names_the_fix(localizer_cache, offline):
    _drop_map_entries(localizer_cache / "brainomics_localizer")
    with pytest.raises(DataUnavailableError) as info:
        gt.load_localizer(n_subjects=4, source="nilearn", data_dir=localizer_cache)
    message = str(info.value)
    assert "lists 0 of the 4 contrast maps" in message and "glmteach fetch" in message
    assert "\n" not in message


def test_network_probe_deadline_covers_name_resolution(monkeypatch):
    import socket
    import threading

    from glmteach.data import _network_reason

    monkeypatch.delenv("GLMTEACH_OFFLINE", raising=False)
    release = threading.Event()

    def dead_resolver(*args, **kwargs):  # a resolver that never answers
        release.wait(30)
        raise socket.gaierror("no answer")

    monkeypatch.setattr(socket, "getaddrinfo", dead_resolver)
    try:
        reason = _network_reason(timeout=0.2)
    finally:
        release.set()
    assert "did not answer within 0.2 s" in reason


def test_fetch_into_unwritable_folder_says_so(tmp_path, offline):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(DataUnavailableError) as err:
        gt.data.download_localizer(n_subjects=2, data_dir=blocker / "data")
    message = str(err.value)
    assert "\n" not in message and "cannot create the data folder" in message
    assert str(blocker) in message and "--data-dir" in message
    assert "source" not in message and "but: ;" not in message


def test_load_maps_on_a_folder_names_the_glob(map_files, tmp_path):
    with pytest.raises(ValueError) as err:
        gt.load_maps(str(tmp_path))
    assert "is a folder" in _one_line(err) and "*.nii.gz" in str(err.value)
    assert "6 NIfTI" in str(err.value)


def test_one_4d_image_is_one_map_per_volume(map_files, tmp_path):
    four_d = tmp_path / "all_subjects.nii.gz"
    nib.concat_images([nib.load(p) for p in map_files]).to_filename(four_d)
    maps = gt.load_maps(str(four_d))
    assert maps.n_subjects == 6 and maps.subjects[0] == "all_subjects[0]"
    for img, path in zip(maps.imgs, map_files):
        np.testing.assert_array_equal(np.asarray(img.dataobj), nib.load(path).get_fdata())


def test_single_3d_map_names_the_fix(map_files):
    with pytest.raises(ValueError) as err:
        gt.load_maps(map_files[0])
    assert "at least 2" in _one_line(err) and "glob" in str(err.value)


@pytest.mark.parametrize("breaker", ["index", "map", "entries"])
def test_checkerboards_with_broken_cache_fall_back_every_time(tmp_path, offline, breaker):
    from test_two_conditions import write_checkerboard_cache

    root = write_checkerboard_cache(tmp_path)
    if breaker == "index":
        (root / "download").write_text("{corrupt")
    elif breaker == "entries":
        _drop_map_entries(root)
    else:
        path = root / "brainomics_data/S02/cmaps_VerticalCheckerboard.nii.gz"
        path.write_bytes(path.read_bytes()[:300])
    before = _snapshot(root)
    notices = [gt.load_checkerboards(n_subjects=4, data_dir=tmp_path, verbose=0).notice
               for _ in range(2)]
    assert notices[0] == notices[1] and "SIMULATED" in notices[0]
    assert "cannot be read" in notices[0] and "\n" not in notices[0]
    assert "'cmaps'" not in notices[0]  # the cause in words, not a bare KeyError
    assert _snapshot(root) == before
