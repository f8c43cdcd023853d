"""Memory of the app lesson step by step, in one process driven as a hub learner drives it.

The app notebook's cell (fetch, then ``Lesson(state)``: every panel drawn), Next to steps
2, 3 and 4 (the permutations), each slider moved three times (as bench_classroom.py does),
then every stop of every slider and a few cursor moves. After each step (and a garbage
collection) it prints this process's memory:

- USS alone: pages only this process holds, the libraries' pages included (in a class
  they are shared by every learner's kernel and count once);
- anonymous: its heap (arrays, Python objects, compiled numba code), what each extra
  learner costs, close to the kernel USS that ``bench_classroom.py`` reports.

To attribute a step's memory, run with ``python -X importtime`` or tracemalloc around it.
Usage: ``python benchmarks/bench_lesson_memory.py``; prints one line per step and last
``lesson memory: anonymous A MB, USS alone U MB after the hub learner's steps``.
"""

import gc
import os
from pathlib import Path

import numpy as np
import psutil

MB = 1024 * 1024


def memory():
    """(USS, anonymous) of this process in MB, after a garbage collection."""
    gc.collect()
    anonymous = 0.0
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith("Anonymous:"):
            anonymous = int(line.split()[1]) / 1024
    return psutil.Process().memory_full_info().uss / MB, anonymous


def main():
    os.environ.setdefault("GLMTEACH_OFFLINE", "1")  # the simulated cohort: no network
    rows = []

    def mark(name):
        rows.append((name, *memory()))
        print(f"{name:44s} USS alone {rows[-1][1]:5.0f} MB   anonymous {rows[-1][2]:5.0f} MB",
              flush=True)

    import ipykernel  # noqa: F401  (what a kernel has loaded before the notebook runs)
    import ipywidgets  # noqa: F401

    mark("kernel libraries (ipykernel, ipywidgets)")
    from glmteach.widgets import Lesson, LessonState

    mark("import glmteach.widgets")
    state = LessonState(source="auto", n_subjects=16)
    state.start("fetch", background=False)
    mark("app cell: fetch (load, mask, t-test)")
    lesson = Lesson(state)
    mark("app cell: Lesson(state), every panel drawn")
    for index, name in enumerate(("mask", "t-test", "comparison (permutations)"), 1):
        lesson.go(index)
        state.wait(600)
        mark(f"Next: step {index + 1}, {name}")
    panels = {type(p).__name__: p for p in lesson.panels}
    fetch, ttest, comparison = (panels[k] for k in ("FetchPanel", "TTestPanel",
                                                     "ComparisonPanel"))
    n_stops = len(comparison.n_perm_slider.options)
    for value in (2.5, 3.0, 3.5):
        fetch.threshold_slider.value = value
    for value in (1e-2, 1e-4, 1e-5):
        ttest.p_slider.value = value
    for value in (0.05, 0.08, 0.12):
        comparison.alpha_slider.value = value
    for index in (0, n_stops // 2, n_stops - 1):
        comparison.n_perm_slider.index = index
    mark("each slider moved 3 times (the hub learner)")
    learner = rows[-1]
    for value in np.linspace(0.01, 0.2, 20):
        comparison.alpha_slider.value = float(round(value, 2))
    for index in range(n_stops):
        comparison.n_perm_slider.index = index
    for value in np.linspace(1.0, 5.0, 41):
        fetch.threshold_slider.value = float(round(value, 1))
    for value in np.logspace(-6, -1, 51):
        ttest.p_slider.value = float(value)
    for xyz in [(-40, -20, 50), (40, -20, 50), (0, 0, 0)]:
        state.point_at(xyz)
    mark("every stop of every slider, 3 cursor moves")
    if state.error:
        print(f"the lesson reported an error: {state.error}")
        return 1
    print(f"lesson memory: anonymous {learner[2]:.0f} MB, USS alone {learner[1]:.0f} MB "
          "after the hub learner's steps")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
