"""One model of the lesson: the data, the statistics and the learner's choices.

Panels observe a :class:`LessonState`; they never talk to each other. The work is done by
methods (:meth:`~LessonState.load`, :meth:`~LessonState.mask`, :meth:`~LessonState.test`,
:meth:`~LessonState.permute`) so a notebook or the CLI can drive a lesson without widgets::

    state = LessonState(source="embedded", n_subjects=16)
    state.permute()                     # loads, masks and tests first if needed
    state.comparison(alpha=0.1)         # {method: MethodResult}, cached

Statistics are cached: changing ``alpha``, ``p_threshold`` or ``n_perm`` never recomputes a
t-test or a permutation null (the null is computed once at :attr:`n_perm_max` flips and
``n_perm`` takes prefixes of it).
"""

import threading

import numpy as np
from traitlets import Any, Bool, Enum, Float, HasTraits, Int, List, Unicode, observe, validate

from .._memory import release_freed_memory
from . import _methods
from ..picking import KEY_STEPS, Cursor, mm_to_voxel, step_voxel

#: The n_perm slider's stops (flips, the observed one included).
N_PERM_STOPS = (100, 200, 500, 1000, 2000, 5000, 10000)
#: Exact enumeration is offered (and computed) up to this many distinct flips (n <= 17).
EXACT_LIMIT = 2 ** 16
#: Cluster and TFCE nulls cost ~100x more per flip than max-t: they stop at this many.
CLUSTER_N_PERM = 1000


def error_message(exc):
    """One line for a learner: the exception's first line (never a traceback)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class Interrupted(Exception):
    """Raised inside a background task when the learner pressed Stop."""


class LessonState(HasTraits):
    """The lesson's data, results and choices (traitlets: panels observe them)."""

    # the learner's choices
    source = Enum(["auto", "nilearn", "embedded"], default_value="auto")
    n_subjects = Int(16)
    smoothing_fwhm = Float(8.0)
    display_threshold = Float(2.0, help="t threshold of the subjects' maps (fetch step)")
    p_threshold = Float(0.001, help="uncorrected p threshold (t-test step)")
    alpha = Float(0.10, help="family-wise error rate (comparison step)")
    n_perm = Int(10000, help="flips used by the permutation test (a prefix of the null)")
    cluster_cdt_p = Float(0.001, help="cluster-defining threshold, an uncorrected p")
    methods = List(Unicode(), default_value=list(_methods.DEFAULT_METHODS))
    two_sided = Bool(True)
    random_state = Int(0)

    # results (None until computed; upstream changes reset downstream ones)
    maps = Any(None)
    masked = Any(None)
    ttest = Any(None)
    field = Any(None)
    permutation = Any(None)
    clusters = Any(None, help="cluster size/mass and TFCE nulls (only if asked for)")

    # the voxel pointed at (a glmteach.picking.Cursor: indices on the masked grid and mm)
    cursor = Any(None, help="shared by every picture: set it with point_at / move_cursor")

    # activity
    busy = Unicode("", help="name of the running task ('' when idle)")
    progress = Float(0.0)
    error = Unicode("", help="last error, one line ('' when the last task succeeded)")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._cache = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None

    # ------------------------------------------------------------------ the work
    def load(self, source=None, n_subjects=None):
        """Load the localizer maps (``load_localizer``); on failure nothing changes."""
        from .. import data

        source = self.source if source is None else source
        n_subjects = self.n_subjects if n_subjects is None else n_subjects
        maps = data.load_localizer(n_subjects=n_subjects, source=source,
                                   random_state=self.random_state, verbose=0)
        with self.hold_trait_notifications():
            self.source, self.n_subjects = source, int(n_subjects)
        self.set_maps(maps)
        return maps

    def load_maps(self, paths_or_glob):
        """Use a learner's own maps (``load_maps``); on failure nothing changes."""
        from .. import data

        maps = data.load_maps(paths_or_glob)
        self.set_maps(maps)
        return maps

    def set_maps(self, maps):
        """Start over from new maps: downstream results are dropped."""
        self._reset("masked")
        self.maps = maps

    def mask(self):
        """Mask and smooth the maps at :attr:`smoothing_fwhm` (loads first if needed)."""
        from .. import masking

        if self.maps is None:
            self.load()
        masked = masking.mask_maps(self.maps, smoothing_fwhm=self.smoothing_fwhm or None)
        self._reset("ttest")
        self.masked = masked
        return masked

    def test(self):
        """One-sample t-test and random-field smoothness estimate (masks first if needed)."""
        from .. import glm

        if self.masked is None:
            self.mask()
        ttest = glm.one_sample_ttest(self.masked.Y, two_sided=self.two_sided)
        field = _methods.random_field(self.masked)
        self._reset("permutation")
        self.field = field
        self.ttest = ttest
        return ttest

    def permute(self, progress=None):
        """Sign-flip max-|t| null at :attr:`n_perm_max` flips (tests first if needed)."""
        from .. import permutation

        if self.ttest is None:
            self.test()
        masked = self.masked
        wants_clusters = any(_methods.METHODS[m].depends_on == "clusters" for m in self.methods)
        if self.permutation is not None and self.permutation.n_flips == self.n_perm_max:
            if wants_clusters and self.clusters is None:  # only the cluster nulls are new
                self.cluster_test(progress)
            return self.permutation
        result = permutation.permutation_test(
            masked.Y, n_perm=self.n_perm_max, two_sided=self.two_sided,
            random_state=self.random_state, progress=self._reporter(progress),
        )
        if self.masked is masked:  # the data did not change meanwhile
            self._drop_cache("permutation")
            self.permutation = result
        if wants_clusters:
            self.cluster_test(progress)
        return result

    def cluster_test(self, progress=None):
        """Cluster-size/mass and TFCE nulls (same flips as :meth:`permute`)."""
        from .. import clusters

        if self.ttest is None:
            self.test()
        masked = self.masked
        result = clusters.cluster_permutation_test(
            masked.Y, masked.mask, masked.affine,
            n_perm=min(self.n_perm_max, CLUSTER_N_PERM), cluster_threshold=self.cluster_cdt_p,
            two_sided=self.two_sided, random_state=self.random_state,
            progress=self._reporter(progress))
        if self.masked is masked:
            self._drop_cache("clusters")
            self.clusters = result
        return result

    def fetch(self):
        """What the Fetch button does: load, then mask and test (progress 0.1 .. 1).

        If loading fails, the source and subject controls go back to the maps on screen.
        """
        self.progress = 0.1
        try:
            self.load()
        except Exception:
            maps = self.maps
            if maps is not None and maps.source in ("nilearn", "embedded"):
                with self.hold_trait_notifications():
                    self.n_subjects = maps.n_subjects
                    if self.source != "auto":  # "auto" chose maps.source itself
                        self.source = maps.source
            raise
        self.progress = 0.6
        self.remask()

    def fetch_maps(self, paths_or_glob):
        """What the panel's Load button does: a learner's own maps, masked and tested."""
        self.progress = 0.1
        self.load_maps(paths_or_glob)
        self.progress = 0.6
        self.remask()

    def remask(self):
        """Mask at the current smoothing, then test (the smoothing slider)."""
        self.mask()
        self.progress = max(self.progress, 0.8)
        self.test()

    def _reporter(self, progress):
        """Progress callback: updates :attr:`progress`, stops when :meth:`stop` was asked."""
        def report(fraction):
            if self._stop.is_set():
                raise Interrupted("stopped; the previous result is kept")
            self.progress = float(fraction)
            if progress is not None:
                progress(fraction)
        return report

    # ------------------------------------------------------------------ background runs
    def start(self, task, *args, background=True, **kwargs):
        """Run ``getattr(self, task)`` in a thread; refuse (return False) if one is running.

        Errors end in :attr:`error` (one line), never in a traceback; the state keeps what
        it had before the failing task.
        """
        with self._lock:
            if self.busy:  # refused: the running task's own error state is left alone
                return False
            self.busy, self.progress, self.error = task, 0.0, ""
            self._stop.clear()
        if not background:
            self._run(task, args, kwargs)
            return True
        self._thread = threading.Thread(target=self._run, args=(task, args, kwargs),
                                        daemon=True, name=f"glmteach-{task}")
        self._thread.start()
        return True

    def _run(self, task, args, kwargs):
        try:
            getattr(self, task)(*args, **kwargs)
            self.progress = 1.0
        except (Interrupted, KeyboardInterrupt) as exc:
            self.error = error_message(exc) if isinstance(exc, Interrupted) else "stopped"
        except Exception as exc:  # the learner sees one line; the state is unchanged
            self.error = error_message(exc)
        finally:
            release_freed_memory()  # the task's temporaries: back to the class server
            self.busy = ""

    def stop(self):
        """Ask the running task to stop at its next progress report."""
        self._stop.set()

    def wait(self, timeout=None):
        """Block until the background task (if any) has finished."""
        if self._thread is not None:
            self._thread.join(timeout)

    # ------------------------------------------------------------------ derived, cached
    @property
    def n_distinct(self):
        """Number of distinct sign flips for the current cohort (Python int)."""
        from .._flips import n_distinct_flips

        n = self.masked.n_subjects if self.masked is not None else self.n_subjects
        return n_distinct_flips(n, self.two_sided)

    @property
    def exact_available(self):
        return self.n_distinct <= EXACT_LIMIT

    @property
    def n_perm_max(self):
        """Flips computed once: all of them when few enough, else the largest stop."""
        return self.n_distinct if self.exact_available else max(N_PERM_STOPS)

    def n_perm_options(self):
        """(label, n_flips) pairs for the n_perm slider, e.g. ``("all 32,768 (exact)", 32768)``."""
        options = [(f"{n:,}", n) for n in N_PERM_STOPS if n < self.n_distinct]
        if self.exact_available:
            options.append((f"all {self.n_distinct:,} (exact)", self.n_distinct))
        return options

    def effective_n_perm(self, n_perm=None):
        """``n_perm`` clipped to the flips available."""
        n_perm = self.n_perm if n_perm is None else int(n_perm)
        return int(min(max(n_perm, 1), self.n_perm_max))

    def uncorrected(self, p_threshold=None):
        """Voxels with uncorrected p <= threshold: (mask, |t| threshold, |z| threshold)."""
        from scipy import stats

        p_threshold = self.p_threshold if p_threshold is None else float(p_threshold)
        tt = self.ttest
        tail = p_threshold / 2 if tt.two_sided else p_threshold
        return (tt.p <= p_threshold, float(stats.t.isf(tail, tt.df)),
                float(stats.norm.isf(tail)))

    def comparison(self, alpha=None, n_perm=None, methods=None):
        """Corrected results per method: ``{name: MethodResult}`` (cached per setting)."""
        alpha = self.alpha if alpha is None else float(alpha)
        n_perm = self.effective_n_perm(n_perm)
        out = {}
        for name in self.methods if methods is None else methods:
            method = _methods.METHODS[name]
            if not method.available(self):
                continue
            key = (method.depends_on, name, alpha, n_perm if method.uses_n_perm else None)
            if key not in self._cache:
                self._cache[key] = method.compute(self, alpha, n_perm)
            out[name] = self._cache[key]
        return out

    # ------------------------------------------------------------------ the cursor
    def cursor_grid(self):
        """``(affine, shape)`` of the grid the cursor lives on (masked maps, else maps)."""
        if self.masked is not None:
            return self.masked.affine, self.masked.mask.shape
        if self.maps is not None:
            img = self.maps.imgs[0]
            return img.affine, img.shape[:3]
        return None

    def point_at(self, xyz_mm, source="mm"):
        """Move the cursor to the voxel nearest ``xyz_mm`` (clipped to the grid)."""
        grid = self.cursor_grid()
        if grid is None:
            raise ValueError("no data yet: fetch the maps before pointing at a voxel.")
        affine, shape = grid
        ijk = np.clip(mm_to_voxel(affine, xyz_mm), 0, np.array(shape) - 1)
        return self.point_at_voxel(ijk, source)

    def point_at_voxel(self, ijk, source=""):
        """Move the cursor to voxel ``ijk`` of :meth:`cursor_grid`."""
        affine, _ = self.cursor_grid()
        self.cursor = Cursor(ijk, affine, source)
        return self.cursor

    def move_cursor(self, key):
        """One voxel along x, y or z: a key of ``picking.KEY_STEPS`` (e.g. "ArrowRight")."""
        from nibabel.orientations import io_orientation

        if self.cursor is None or key not in KEY_STEPS:
            return self.cursor
        affine, shape = self.cursor_grid()
        return self.point_at_voxel(step_voxel(self.cursor.ijk, key, io_orientation(affine),
                                              shape), "key")

    @property
    def cursor_column(self):
        """Column of ``masked.Y`` under the cursor, or None (no cursor, outside the mask)."""
        if self.cursor is None or self.masked is None:
            return None
        key = ("masked", "columns")
        if key not in self._cache:
            columns = np.full(self.masked.mask.shape, -1, dtype=np.int64)
            columns[self.masked.mask] = np.arange(self.masked.n_voxels)
            self._cache[key] = columns
        columns = self._cache[key]
        if not all(0 <= v < n for v, n in zip(self.cursor.ijk, columns.shape)):
            return None
        column = int(columns[self.cursor.ijk])
        return column if column >= 0 else None

    @observe("masked", "ttest")
    def _on_new_grid(self, change):
        """A new t-test starts at its peak; a new grid keeps the cursor's mm position."""
        if change["new"] is None:
            return
        if change["name"] == "ttest" and self.cursor is None and self.masked is not None:
            peak = int(np.argmax(np.abs(change["new"].t)))
            self.point_at_voxel(np.argwhere(self.masked.mask)[peak], "peak")
        elif change["name"] == "masked" and self.cursor is not None:
            self.point_at(self.cursor.xyz, self.cursor.source)

    # ------------------------------------------------------------------ text
    def summary(self):
        """One line for a notebook: the last error if a task failed, else what is loaded.

        ``state.start("fetch", background=False); print(state.summary())`` shows the
        one-line reason of a failed fetch instead of failing on a missing result.
        """
        if self.error:
            return f"Failed: {self.error}"
        if self.maps is None:
            return "Nothing loaded yet: run state.start('fetch', background=False)."
        line = self.maps.description
        if getattr(self.maps, "notice", ""):
            line += f"\n{self.maps.notice}"
        if self.masked is not None:
            line += f"\n{self.masked.summary()}"
        return line

    def settings_text(self, alpha=None, n_perm=None):
        """The settings behind the numbers shown: alpha, flips used, smoothing, subjects."""
        alpha = self.alpha if alpha is None else float(alpha)
        parts = [f"alpha = {alpha:g}"]
        if self.permutation is not None:
            n = self.effective_n_perm(n_perm)
            kind = ("all distinct flips: exact" if self.permutation.exact
                    and n >= self.permutation.n_flips else "random flips")
            parts.append(f"n_perm = {n:,} of {self.n_distinct:,} distinct flips ({kind})")
        if self.masked is not None:
            parts.append(f"smoothing FWHM {self.masked.smoothing_fwhm or 0:g} mm")
            parts.append(f"{self.masked.n_subjects} subjects")
        if self.maps is not None and self.maps.is_simulated:
            parts.append("SIMULATED data")
        return ", ".join(parts)

    def comparison_text(self, alpha=None, n_perm=None):
        """The generated sentences comparing the methods at these settings (narrative)."""
        from .. import narrative

        if self.ttest is None:
            return self.summary()
        alpha = self.alpha if alpha is None else float(alpha)
        results = self.comparison(alpha=alpha, n_perm=n_perm)
        return narrative.comparison_paragraph(
            results, alpha, df=self.ttest.df, field=self.field,
            two_sided=self.ttest.two_sided, n_perm=self.effective_n_perm(n_perm))

    # ------------------------------------------------------------------ invalidation
    _CHAIN = ("maps", "masked", "ttest", "permutation")

    def _reset(self, first):
        """Drop ``first`` and every result downstream of it."""
        names = list(self._CHAIN[self._CHAIN.index(first):])
        if "ttest" in names:
            names += ["clusters", "field"]
        for name in names:
            setattr(self, name, None)
            self._drop_cache(name)

    def _drop_cache(self, name):
        self._cache = {k: v for k, v in self._cache.items() if k[0] != name}

    @validate("cluster_cdt_p")
    def _check_cluster_cdt_p(self, proposal):
        from ..rft import check_cdt_p

        return check_cdt_p(proposal["value"], "cluster_cdt_p")  # a t is refused

    @observe("cluster_cdt_p")
    def _on_cluster_cdt(self, change):
        if self.clusters is not None:  # clusters at another CDT: compute them again
            self.clusters = None
            self._drop_cache("clusters")

    @observe("maps", "masked")
    def _on_new_cohort(self, change):
        if change["new"] is not None and self.n_perm > self.n_perm_max:
            self.n_perm = self.n_perm_max
