"""Private memory of a learner's kernel: the app lesson and each notebook 00-05.

Each notebook runs top to bottom in its own fresh kernel (nbclient, offline: the simulated
cohort), like a learner opening it in JupyterLab; the app notebook is then driven through
its whole lesson (every step, the permutations, every slider moved). With the kernel still
alive, its memory is read with psutil:

- USS (unique set size): memory only this kernel holds, freed when it is shut down. The
  figure to budget per learner (shared libraries are counted once per machine).
- PSS: USS plus its share of pages shared with other processes.
- peak RSS (VmHWM): the most resident memory it ever had, shared pages included.

Usage: ``python benchmarks/bench_memory.py [--notebooks 00 03 app] [--keep-all]``.
Each figure is read right after its notebook ran, with the kernels before it still alive
under ``--keep-all`` (else alone: its libraries' pages then count as its own).
``--keep-all`` keeps every kernel alive until the end (a learner who never shuts one
down), reads each again and prints their total: what a Binder session holds besides the
libraries' shared pages (counted once) and the Jupyter server.
Prints one line per kernel and last ``memory: max per kernel M MB (name), all together T MB``.
"""

import argparse
import contextlib
import os
from pathlib import Path
import shutil
import sys
import tempfile
import time

import nbformat
import psutil

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
MB = 1024 * 1024

#: Appended to app.ipynb: what a learner does in the app (all steps, the null, sliders).
APP_LEARNER = """
import gc
from glmteach.widgets import Lesson
_lesson = next(o for o in gc.get_objects() if isinstance(o, Lesson))
for _i in range(len(_lesson.steps)):
    _lesson.go(_i)
_lesson.state.wait(600)
_panels = {type(p).__name__: p for p in _lesson.panels}
for _v in (2.5, 3.0, 3.5):
    _panels["FetchPanel"].threshold_slider.value = _v
for _v in (1e-2, 1e-4, 1e-5):
    _panels["TTestPanel"].p_slider.value = _v
_cmp = _panels["ComparisonPanel"]
for _v in (0.05, 0.08, 0.12):
    _cmp.alpha_slider.value = _v
for _k in (0, len(_cmp.n_perm_slider.options) // 2, len(_cmp.n_perm_slider.options) - 1):
    _cmp.n_perm_slider.index = _k
assert not _lesson.state.error, _lesson.state.error
"""


def private_memory(pid):
    """``{"uss", "pss", "peak_rss"}`` in MB of process ``pid`` (peak from /proc VmHWM)."""
    process = psutil.Process(pid)
    info = process.memory_full_info()
    peak = info.rss
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) * 1024
    return {"uss": info.uss / MB, "pss": getattr(info, "pss", info.uss) / MB,
            "peak_rss": peak / MB}


def offline_env(folder):
    """Environment of the kernels: the simulated cohort, no network, private caches."""
    env = dict(os.environ)
    for name in ("nilearn_data", "mpl", "ipython"):
        (folder / name).mkdir(exist_ok=True)
    env.update(NILEARN_DATA=str(folder / "nilearn_data"), GLMTEACH_OFFLINE="1",
               MPLCONFIGDIR=str(folder / "mpl"), IPYTHONDIR=str(folder / "ipython"),
               HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9",
               http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9",
               PYDEVD_DISABLE_FILE_VALIDATION="1")
    return env


class KernelRun:
    """One notebook executed in its own kernel, which stays alive until :meth:`close`."""

    def __init__(self, path, env, cwd, extra=None, timeout=600):
        from jupyter_client.manager import KernelManager
        from nbclient import NotebookClient

        self.name = Path(path).stem
        self.notebook = nbformat.read(path, as_version=4)
        if extra:
            self.notebook.cells.append(nbformat.v4.new_code_cell(extra))
        self.manager = KernelManager(kernel_name="python3")
        self.client = NotebookClient(self.notebook, km=self.manager, timeout=timeout,
                                     resources={"metadata": {"path": str(cwd)}})
        self._env, self._cwd = env, cwd

    def run(self):
        """Execute every cell; return seconds taken. The kernel is left running."""
        start = time.perf_counter()
        self.client.start_new_kernel(env=self._env, cwd=str(self._cwd))
        self.client.start_new_kernel_client()
        for index, cell in enumerate(self.notebook.cells):
            self.client.execute_cell(cell, index)
        return time.perf_counter() - start

    @property
    def pid(self):
        return self.manager.provisioner.process.pid

    def memory(self):
        return private_memory(self.pid)

    def close(self):
        with contextlib.suppress(Exception):
            self.client._cleanup_kc()  # noqa: SLF001  (nbclient has no public way)
        with contextlib.suppress(Exception):
            self.manager.shutdown_kernel(now=False)


def measure(names, keep_all=False, timeout=600):
    """Run each notebook; return ``[(name, seconds, memory dict)]``."""
    rows, alive = [], []
    with tempfile.TemporaryDirectory(prefix="glmteach-memory-") as tmp:
        tmp = Path(tmp)
        work = tmp / "notebooks"
        shutil.copytree(NOTEBOOKS, work, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        env = offline_env(tmp)
        try:
            for name in names:
                path = next(work.glob(f"{name}*.ipynb"))
                run = KernelRun(path, env, work, APP_LEARNER if path.stem == "app" else None,
                                timeout)
                alive.append(run)
                seconds = run.run()
                memory = run.memory()
                rows.append((path.stem, seconds, memory))
                print(f"{path.stem:32s} {seconds:6.1f} s  USS {memory['uss']:6.0f} MB  "
                      f"PSS {memory['pss']:6.0f} MB  peak RSS {memory['peak_rss']:6.0f} MB",
                      flush=True)
                if not keep_all:
                    run.close()
                    alive.remove(run)
            together = None
            if keep_all:  # now that all are alive, shared library pages count in none
                print("all kernels alive, USS of each:", ", ".join(
                    f"{run.name} {run.memory()['uss']:.0f} MB" for run in alive))
                together = sum(run.memory()["uss"] for run in alive)
        finally:
            for run in alive:
                run.close()
    return rows, together


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebooks", nargs="+",
                        default=["app", "00", "01", "02", "03", "04", "05"],
                        help="notebook name prefixes (default: app 00 01 02 03 04 05)")
    parser.add_argument("--keep-all", action="store_true",
                        help="keep every kernel alive and print their total USS")
    args = parser.parse_args(argv)
    print(f"threads per kernel: {os.environ.get('GLMTEACH_NUM_THREADS', 'default')}; "
          f"load: {os.getloadavg()[0]:.1f}")
    rows, together = measure(args.notebooks, args.keep_all)
    name, _, worst = max(rows, key=lambda row: row[2]["uss"])
    total = f"{together:.0f} MB" if together is not None else "n/a (--keep-all)"
    print(f"memory: max per kernel {worst['uss']:.0f} MB USS ({name}), "
          f"all together {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
