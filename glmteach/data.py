"""Where the subjects' maps come from: the only module that downloads.

Three sources of the seed example's "left vs right button press" contrast maps:

``"nilearn"``
    The real Brainomics/Localizer maps through
    :func:`nilearn.datasets.fetch_localizer_contrasts` (cached files are used offline).
``"embedded"``
    A SIMULATED cohort that needs no network: each subject is its own gain times the group
    map nilearn ships inside its package (NeuroVault image 10426, the same contrast) plus
    spatially smooth noise, seeded. Always labelled as simulated.
``"auto"``
    The real maps when cached or reachable, else the simulated cohort, with a one-line
    notice saying which and why.

A learner's own maps enter through :func:`load_maps`.
"""

from dataclasses import dataclass, field
import glob as _glob
import os
from pathlib import Path
import socket
import threading

import numpy as np

from ._images import load_3d_maps, load_volumes, check_same_grid, subject_name
from ._cohort import simulate_localizer_cohort

CONTRAST = "left vs right button press"
_CONTRAST_FILE = "LeftAuditory&VisualClickVsRightAuditory&VisualClick"  # nilearn's file name
_DATASET = "brainomics_localizer"
_HOST = "osf.io"
MAX_LOCALIZER_SUBJECTS = 94
MAX_EMBEDDED_SUBJECTS = 100


class DataUnavailableError(ConnectionError):
    """The real localizer maps are neither cached nor downloadable."""


@dataclass
class GroupMaps:
    """Subjects' first-level contrast maps, ready for a group analysis.

    Attributes
    ----------
    imgs : list of nibabel.Nifti1Image
        One 3D contrast (effect) map per subject, all on the same grid.
    subjects : list of str
        Subject labels, in the order of ``imgs``.
    source : {"nilearn", "embedded", "user"}
        Where the maps came from.
    description : str
        One line for display; says SIMULATED for the embedded cohort.
    tmaps : list of nibabel.Nifti1Image or None
        First-level t-maps when the source has them (the seed example shows these
        thresholded at t = 2).
    notice : str
        Why ``source="auto"`` chose this source ("" otherwise).
    """

    imgs: list
    subjects: list
    source: str
    description: str
    tmaps: list = None
    notice: str = ""
    paths: list = field(default=None, repr=False)

    @property
    def n_subjects(self):
        return len(self.imgs)

    @property
    def is_simulated(self):
        return self.source == "embedded"

    def __repr__(self):
        return f"GroupMaps({self.n_subjects} subjects, source={self.source!r}: {self.description})"


# ----------------------------------------------------------------------------- public API


def load_localizer(n_subjects=16, source="auto", data_dir=None, random_state=0, verbose=1):
    """Load the seed example's "left vs right button press" maps.

    Parameters
    ----------
    n_subjects : int
        2 .. 94 for the real data, 2 .. 100 for the simulated cohort.
    source : {"auto", "nilearn", "embedded"}
        See the module docstring. ``"auto"`` decides within a few seconds when offline.
    data_dir : str or Path, optional
        nilearn's data directory (default: ``$NILEARN_DATA`` or ``~/nilearn_data``).
    random_state : int
        Seed of the simulated cohort (the same seed gives the same maps).
    verbose : int
        0 prints nothing; 1 prints the one-line notice of ``"auto"`` and downloads.

    Returns
    -------
    GroupMaps
    """
    if source not in ("auto", "nilearn", "embedded"):
        raise ValueError(
            f"source must be 'auto', 'nilearn' or 'embedded', got {source!r}."
        )
    limit = MAX_EMBEDDED_SUBJECTS if source == "embedded" else MAX_LOCALIZER_SUBJECTS
    _check_n_subjects(n_subjects, limit)
    if source == "embedded":
        return load_embedded(n_subjects, random_state)
    if source == "nilearn":
        return _load_nilearn(n_subjects, data_dir, verbose)
    return _load_auto(n_subjects, data_dir, random_state, verbose)


def load_embedded(n_subjects=16, random_state=0):
    """The SIMULATED cohort built from nilearn's packaged group map (no network)."""
    _check_n_subjects(n_subjects, MAX_EMBEDDED_SUBJECTS)
    cohort = simulate_localizer_cohort(n_subjects, random_state)
    return GroupMaps(
        imgs=cohort.imgs,
        subjects=cohort.subjects,
        source="embedded",
        description=(
            f"SIMULATED cohort of {n_subjects} subjects: gain x nilearn's group map of "
            f"'{CONTRAST}' (NeuroVault 10426) + smooth noise, seed {random_state}"
        ),
        tmaps=cohort.tmaps,
    )


def load_maps(paths_or_glob, resample=False, subjects=None):
    """Load a user's own 3D maps (one per subject), e.g. exported from SPM, FSL or nilearn.

    Parameters
    ----------
    paths_or_glob : str, Path, or list of (str, Path or Nifti1Image)
        A glob pattern such as ``"maps/sub-*_con.nii.gz"`` or a list of files. A 4D image
        counts as one map per volume (as nilearn's ``SecondLevelModel``).
    resample : bool
        If the maps are on different grids, resample them all onto the first map's grid
        (continuous interpolation) instead of raising an error.
    subjects : list of str, optional
        Labels; default: the file names without extension.

    Returns
    -------
    GroupMaps with ``source="user"``.
    """
    paths = _expand_paths(paths_or_glob)
    imgs, names = load_volumes(paths)  # a 4D image gives one map per volume (as nilearn)
    if len(imgs) < 2:
        raise ValueError(
            f"a group analysis needs at least 2 maps, got {len(imgs)} ({_describe_origin(paths)}"
            "); pass one map per subject: a glob such as 'maps/sub-*_con.nii.gz', a list of "
            "files, or one 4D image with a volume per subject."
        )
    imgs = check_same_grid(imgs, names, resample=resample)
    if subjects is None:
        subjects = names
    elif len(subjects) != len(imgs):
        raise ValueError(
            f"got {len(subjects)} subject labels for {len(imgs)} maps; give one label per map."
        )
    return GroupMaps(
        imgs=imgs,
        subjects=list(subjects),
        source="user",
        description=f"{len(imgs)} maps loaded from {_describe_origin(paths)}",
        paths=[p if not isinstance(p, (str, Path)) else str(p) for p in paths],
    )


def download_localizer(n_subjects=16, data_dir=None, verbose=1):
    """Download (or find cached) and verify the real maps; return their :class:`GroupMaps`.

    Used by ``glmteach fetch`` before a class and by Binder's ``postBuild``.
    """
    _check_n_subjects(n_subjects, MAX_LOCALIZER_SUBJECTS)
    return _load_nilearn(n_subjects, data_dir, verbose, advice=_FETCH_ADVICE)


_LESSON_ADVICE = ("use source='embedded' for the simulated cohort, or run `glmteach fetch` "
                  "where there is internet and copy its nilearn_data folder here (set "
                  "NILEARN_DATA).")
_FETCH_ADVICE = ("run it where osf.io is reachable, then copy the nilearn_data folder to "
                 "this machine (set NILEARN_DATA).")


def localizer_cache_dir(data_dir=None):
    """The folder holding a complete cached copy of the maps, or None.

    Looks where nilearn looks (``data_dir``, ``$NILEARN_SHARED_DATA``, ``$NILEARN_DATA``,
    ``~/nilearn_data``) without creating anything.
    """
    return _find_cache(MAX_LOCALIZER_SUBJECTS, data_dir, any_size=True)


# ----------------------------------------------------------------------------- nilearn source


def _localizer_files(n_subjects):
    files = ["download", "brainomics_data/participants.tsv",
             "brainomics_data/phenotype/behavioural.tsv"]
    for s in range(1, n_subjects + 1):
        for kind in ("cmaps", "tmaps"):
            files.append(f"brainomics_data/S{s:02d}/{kind}_{_CONTRAST_FILE}.nii.gz")
    return files


def _find_cache(n_subjects, data_dir, any_size=False):
    from nilearn.datasets import get_data_dirs

    for root in get_data_dirs(data_dir):
        folder = Path(root) / _DATASET
        needed = _localizer_files(1 if any_size else n_subjects)
        if all((folder / name).is_file() for name in needed):
            return folder
    return None


def _network_reason(timeout=3.0):
    """'' when the data host answers, else a short reason (never waits more than timeout).

    ``GLMTEACH_OFFLINE=1`` in the environment skips the probe (tests, offline classrooms).
    """
    if os.environ.get("GLMTEACH_OFFLINE", "").strip().lower() in ("1", "true", "yes"):
        return "GLMTEACH_OFFLINE is set"
    outcome = {}

    def probe():  # name resolution has no timeout of its own: the thread gets one
        try:
            with socket.create_connection((_HOST, 443), timeout=timeout):
                outcome["reason"] = ""
        except OSError as exc:
            outcome["reason"] = (f"{_HOST} is unreachable "
                                 f"({exc.strerror or type(exc).__name__})")

    thread = threading.Thread(target=probe, daemon=True, name="glmteach-network-probe")
    thread.start()
    thread.join(timeout)
    return outcome.get("reason", f"{_HOST} did not answer within {timeout:g} s")


def _fetch(n_subjects, data_dir, verbose, advice=_LESSON_ADVICE):
    from nilearn.datasets import fetch_localizer_contrasts

    try:
        return fetch_localizer_contrasts(
            [CONTRAST], n_subjects=n_subjects, get_tmaps=True, data_dir=data_dir,
            verbose=verbose,
        )
    except (OSError, ValueError, KeyError) as exc:  # requests' ConnectionError: OSError
        text = " ".join(str(exc).split())  # nilearn's messages span lines: keep them all
        if "tried to store the dataset" in text:
            where = text.split("but:", 1)[-1].strip(" -")
            raise DataUnavailableError(
                f"cannot create the data folder: {where[:200]}; choose a folder you can "
                "write to (glmteach fetch --data-dir D, or data_dir= in Python) or set "
                "NILEARN_DATA."
            ) from None
        reason = text or type(exc).__name__
        if "Name or service not known" in reason or "resolve" in reason:
            reason = f"{_HOST} is unreachable (no network?)"
        raise DataUnavailableError(
            f"could not get the localizer maps from nilearn: {reason[:160]}; {advice}"
        ) from None


def _load_nilearn(n_subjects, data_dir, verbose, advice=_LESSON_ADVICE, refetch=True):
    cached = _find_cache(n_subjects, data_dir)
    bunch = _fetch(n_subjects, data_dir, verbose if cached is None else 0, advice)
    cmaps, tmaps = _listed_maps(bunch, n_subjects), list(bunch.get("tmaps") or [])
    try:
        imgs = load_3d_maps(cmaps, cache=True)
        tmap_imgs = load_3d_maps(tmaps, cache=True) if tmaps else None
    except ValueError as exc:
        if "corrupt" not in str(exc) or not refetch:
            raise
        imgs, tmap_imgs = _refetch_after_corruption(n_subjects, data_dir, verbose, cmaps + tmaps)
    subjects = [Path(p).parent.name for p in cmaps]
    names = [f"{Path(p).parent.name}/{Path(p).name}" for p in cmaps]
    imgs = check_same_grid(imgs, names)  # a map of the wrong shape fails here, named
    if tmap_imgs is not None:
        tmap_imgs = check_same_grid([imgs[0]] + tmap_imgs, ["first map"] + list(tmaps))[1:]
    return GroupMaps(
        imgs=imgs,
        subjects=subjects,
        source="nilearn",
        description=(
            f"Brainomics/Localizer '{CONTRAST}' contrast maps, {len(imgs)} subjects "
            "(nilearn.datasets.fetch_localizer_contrasts)"
        ),
        tmaps=tmap_imgs,
        paths=cmaps,
    )


def _refetch_after_corruption(n_subjects, data_dir, verbose, paths):
    """Move unreadable cached files aside (kept as *.corrupt) and download them again."""
    moved = []
    for path in paths:
        try:
            load_3d_maps([path], cache=True)
        except ValueError:
            os.replace(path, path + ".corrupt")
            moved.append(path)
    try:
        bunch = _fetch(n_subjects, data_dir, verbose)
    except DataUnavailableError:
        raise DataUnavailableError(
            f"cached file {moved[0]} is truncated or corrupt (kept as {Path(moved[0]).name}"
            ".corrupt) and could not be downloaded again; connect to the internet and run "
            "`glmteach fetch`, or use source='embedded'."
        ) from None
    tmaps = list(bunch.get("tmaps") or [])
    return (load_3d_maps(_listed_maps(bunch, n_subjects), cache=True),
            load_3d_maps(tmaps, cache=True) if tmaps else None)


def _listed_maps(bunch, n_subjects, what="localizer"):
    """The contrast maps' paths of a nilearn fetch, all ``n_subjects`` of them or an error
    that names the fix (an index file that lost entries gives a bunch without them)."""
    paths = list(bunch.get("cmaps") or [])
    if len(paths) < n_subjects:
        raise DataUnavailableError(
            f"nilearn's index of the {what} data lists {len(paths)} of the {n_subjects} "
            "contrast maps asked for (its 'download' file is incomplete); run `glmteach "
            "fetch` online to download them again, or use source='embedded'.")
    return paths


def _load_auto(n_subjects, data_dir, random_state, verbose):
    return _auto(
        lambda v, cached: _load_nilearn(n_subjects, data_dir, v, refetch=not cached),
        lambda: load_embedded(n_subjects, random_state),
        _find_cache(n_subjects, data_dir), "localizer maps", "embedded cohort", verbose,
        aside=lambda: _set_aside_files(data_dir))


def _auto(load_real, load_simulated, cache, real, simulated, verbose, aside=lambda: ""):
    """``source="auto"``, for every loader: nilearn's cache, else a download when online,
    else the SIMULATED data, with one line saying which and why (``maps.notice``).

    ``load_real(verbose, cached)`` reads nilearn's files (a cached read is quiet and
    repairs nothing: no file is downloaded, moved or deleted); ``real`` / ``simulated``
    name the data in the notice. A broken cache, a failed or odd download (any error:
    corrupt index, tsv, map, missing index entries) falls back on every run, naming the
    error, so that a class never meets a traceback.
    """
    maps, reason = None, ""
    if cache is not None:
        try:
            maps = load_real(0, True)
            maps.notice = f"glmteach: using the real {real} found in nilearn's data cache."
        except Exception as exc:
            broken = _first_clause(exc)
            maps = load_simulated()
            maps.notice = (
                f"glmteach: using the SIMULATED {simulated} because the cached real maps in "
                f"{cache} cannot be read ({broken[:200].rstrip('.;')}); run `glmteach fetch` "
                "online to repair them.")
    else:
        reason = _network_reason()
        if not reason:
            try:
                maps = load_real(verbose, False)
                maps.notice = f"glmteach: downloaded the real {real} from {_HOST}."
            except Exception as exc:
                reason = _first_clause(exc)
        if maps is None:
            maps = load_simulated()
            maps.notice = (
                f"glmteach: using the SIMULATED {simulated} because the real {real} are not "
                f"cached{aside()} and {reason}; run `glmteach fetch` online to get them.")
    if verbose:
        print(maps.notice)
    return maps


def _first_clause(exc):
    """An error's message up to its first ';' on one line (the cause, not the advice)."""
    return " ".join(str(exc).split(";")[0].split()) or type(exc).__name__


def _set_aside_files(data_dir):
    """' (N corrupt file(s) set aside in FOLDER)' or '' (what an earlier run moved)."""
    from nilearn.datasets import get_data_dirs

    for root in get_data_dirs(data_dir):
        folder = Path(root) / _DATASET
        if folder.is_dir():
            moved = list(folder.rglob("*.corrupt"))
            if moved:
                return (f" ({len(moved)} corrupt file{'s' if len(moved) > 1 else ''} set "
                        f"aside as *.corrupt in {folder})")
    return ""


# ----------------------------------------------------------------------------- helpers


def _check_n_subjects(n_subjects, limit):
    if isinstance(n_subjects, bool) or not isinstance(n_subjects, (int, np.integer)):
        raise ValueError(f"n_subjects must be a whole number, got {n_subjects!r}.")
    if not 2 <= n_subjects <= limit:
        raise ValueError(
            f"n_subjects must be between 2 and {limit} for this source, got {n_subjects}."
        )


def _expand_paths(paths_or_glob):
    if isinstance(paths_or_glob, (str, Path)):
        pattern = str(paths_or_glob)
        if _glob.has_magic(pattern):
            paths = sorted(_glob.glob(os.path.expanduser(pattern)))
            if not paths:
                raise FileNotFoundError(
                    f"no file matches {pattern!r} (working directory {os.getcwd()}); "
                    "check the folder and the pattern."
                )
            return paths
        path = os.path.expanduser(pattern)
        if os.path.isdir(path):
            found = sorted(_glob.glob(os.path.join(path, "*.nii*")))
            example = os.path.join(pattern, "*.nii.gz")
            raise ValueError(
                f"{pattern} is a folder ({len(found)} NIfTI file(s) in it); pass a glob of "
                f"the maps inside it, e.g. load_maps({example!r})."
            )
        return [pattern]
    try:
        return list(paths_or_glob)
    except TypeError:
        raise TypeError(
            "load_maps takes a glob string or a list of NIfTI paths, got "
            f"{type(paths_or_glob).__name__}."
        ) from None


def _describe_origin(paths):
    folders = {str(Path(p).parent) for p in paths if isinstance(p, (str, Path))}
    return folders.pop() if len(folders) == 1 else "several folders"


# ----------------------------------------------------------------------------- two conditions

CHECKERBOARDS = ("vertical checkerboard", "horizontal checkerboard")


@dataclass
class TwoConditionMaps:
    """Two contrast maps per subject (nilearn's paired / two-sample example).

    Attributes
    ----------
    first, second : GroupMaps
        The maps of each condition, subjects in the same order.
    conditions : tuple of str
        Condition names, e.g. ("vertical checkerboard", "horizontal checkerboard").
    covariates : pandas.DataFrame
        One row per subject: ``subject`` and ``age`` (years).
    source, description, notice : str
        As :class:`GroupMaps` (the description says SIMULATED for the embedded cohort).
    """

    first: GroupMaps
    second: GroupMaps
    conditions: tuple
    covariates: object
    source: str
    description: str
    notice: str = ""

    @property
    def n_subjects(self):
        return self.first.n_subjects

    @property
    def is_simulated(self):
        return self.source == "embedded"

    def stacked(self):
        """Both conditions as one :class:`GroupMaps` (first condition's subjects first),
        so that one group mask serves both (``gt.mask_maps(maps.stacked())``)."""
        labels = [f"{s} {c}" for c, maps in zip(self.conditions, (self.first, self.second))
                  for s in maps.subjects]
        return GroupMaps(imgs=self.first.imgs + self.second.imgs, subjects=labels,
                         source=self.source, description=self.description,
                         notice=self.notice)

    def __repr__(self):
        return (f"TwoConditionMaps({self.n_subjects} subjects x {self.conditions}, "
                f"source={self.source!r}: {self.description})")


def load_checkerboards(n_subjects=16, source="auto", data_dir=None, random_state=0,
                       verbose=1):
    """Load "vertical checkerboard" and "horizontal checkerboard" maps of the same subjects.

    Parameters
    ----------
    n_subjects : int
        2 .. 94 (real data) or 2 .. 100 (simulated).
    source : {"auto", "nilearn", "embedded"}
        As :func:`load_localizer`: ``"auto"`` uses nilearn's cache, else downloads when
        online, else the SIMULATED cohort, with a one-line notice saying which and why.
    data_dir : str or Path, optional
    random_state : int
        Seed of the simulated cohort.
    verbose : int

    Returns
    -------
    TwoConditionMaps
    """
    if source not in ("auto", "nilearn", "embedded"):
        raise ValueError(f"source must be 'auto', 'nilearn' or 'embedded', got {source!r}.")
    limit = MAX_EMBEDDED_SUBJECTS if source == "embedded" else MAX_LOCALIZER_SUBJECTS
    _check_n_subjects(n_subjects, limit)
    if source == "embedded":
        return _embedded_checkerboards(n_subjects, random_state)
    if source == "nilearn":
        return _nilearn_checkerboards(n_subjects, data_dir, verbose)
    return _auto(lambda v, cached: _nilearn_checkerboards(n_subjects, data_dir, v),
                 lambda: _embedded_checkerboards(n_subjects, random_state),
                 _find_contrast_cache(CHECKERBOARDS, n_subjects, data_dir),
                 "checkerboard maps", "two-condition cohort", verbose)


def _contrast_file(contrast):
    return contrast.title().replace(" ", "")  # as fetch_localizer_contrasts names files


def _find_contrast_cache(contrasts, n_subjects, data_dir):
    """nilearn's dataset folder when it holds every needed file (nothing is created)."""
    from nilearn.datasets import get_data_dirs

    needed = ["download", "brainomics_data/participants.tsv",
              "brainomics_data/phenotype/behavioural.tsv"]
    needed += [f"brainomics_data/S{s:02d}/cmaps_{_contrast_file(c)}.nii.gz"
               for s in range(1, n_subjects + 1) for c in contrasts]
    for root in get_data_dirs(data_dir):
        folder = Path(root) / _DATASET
        if all((folder / name).is_file() for name in needed):
            return folder
    return None


def _nilearn_checkerboards(n_subjects, data_dir, verbose):
    from nilearn.datasets import fetch_localizer_contrasts

    groups = []
    for contrast in CHECKERBOARDS:
        try:
            bunch = fetch_localizer_contrasts([contrast], n_subjects=n_subjects,
                                              data_dir=data_dir, verbose=verbose)
        except (OSError, ValueError, KeyError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DataUnavailableError(
                f"could not get the checkerboard maps from nilearn: {reason[:160]}; use "
                "source='embedded' for the simulated cohort, or fetch them where there is "
                "internet and copy the nilearn_data folder here (set NILEARN_DATA)."
            ) from None
        paths = _listed_maps(bunch, n_subjects, what=f"'{contrast}'")
        groups.append(GroupMaps(
            imgs=load_3d_maps(paths, cache=True), subjects=[Path(p).parent.name for p in paths],
            source="nilearn", description=f"Brainomics/Localizer '{contrast}' maps",
            paths=paths))
    ext = bunch.get("ext_vars")
    ages = (np.asarray(ext["age"], dtype=float) if ext is not None and "age" in ext
            else np.full(n_subjects, np.nan))
    return TwoConditionMaps(
        first=groups[0], second=groups[1], conditions=CHECKERBOARDS,
        covariates=_covariates(groups[0].subjects, ages), source="nilearn",
        description=(f"Brainomics/Localizer 'vertical checkerboard' and 'horizontal "
                     f"checkerboard' maps, {groups[0].n_subjects} subjects "
                     "(nilearn.datasets.fetch_localizer_contrasts)"))


def _embedded_checkerboards(n_subjects, random_state):
    from ._cohort import simulate_checkerboard_cohort

    _check_n_subjects(n_subjects, MAX_EMBEDDED_SUBJECTS)
    cohort = simulate_checkerboard_cohort(n_subjects, random_state)
    description = (f"SIMULATED two-condition cohort of {n_subjects} subjects: hand-placed "
                   "occipital blobs, a vertical-minus-horizontal effect that shrinks with "
                   f"age, smooth subject and map noise, seed {random_state}")
    groups = [GroupMaps(imgs=imgs, subjects=list(cohort.subjects), source="embedded",
                        description=f"{description} ({condition})")
              for imgs, condition in ((cohort.vertical, CHECKERBOARDS[0]),
                                      (cohort.horizontal, CHECKERBOARDS[1]))]
    return TwoConditionMaps(first=groups[0], second=groups[1], conditions=CHECKERBOARDS,
                            covariates=_covariates(cohort.subjects, cohort.ages),
                            source="embedded", description=description)


def _covariates(subjects, ages):
    import pandas as pd

    return pd.DataFrame({"subject": list(subjects), "age": np.asarray(ages, dtype=float)})


def download_checkerboards(n_subjects=16, data_dir=None, verbose=1):
    """Download (or find cached) and read the two checkerboard conditions' maps.

    Used by ``glmteach fetch`` and Binder's ``postBuild`` so that notebook 06 finds the real
    maps offline. Returns the :class:`TwoConditionMaps`; a failure is one line naming the fix.
    """
    _check_n_subjects(n_subjects, MAX_LOCALIZER_SUBJECTS)
    try:
        return _nilearn_checkerboards(n_subjects, data_dir, verbose)
    except DataUnavailableError as exc:
        raise DataUnavailableError(f"{_first_clause(exc)}; {_FETCH_ADVICE}") from None
