"""The ``glmteach`` command: ``demo`` (the whole lesson as a report), ``fetch``, ``lab``.

Exit codes: 0 success, 1 failure (one line on stderr: ``glmteach: error: ...``), 2 bad
arguments, 130 interrupted (Ctrl-C).
"""

import argparse
import math
import os
from pathlib import Path
import secrets
import shutil
import subprocess
import sys
import time

import numpy as np

DESCRIPTION = """\
glmteach: learn how group-level fMRI statistics control false positives.

16 subjects pressed a button with the left or the right hand. Each subject's brain map
shows "left minus right". Which voxels respond in the group, without being fooled by
tens of thousands of simultaneous tests? glmteach compares Bonferroni, random field
theory and sign-flip permutations on these maps.

commands:
  glmteach demo    run the whole analysis and write an HTML report with figures
  glmteach fetch   download the real data of every lesson once (instructors: before class)
  glmteach lab     open the lesson notebooks in JupyterLab

Run 'glmteach COMMAND --help' for the options of a command."""

DEMO_HELP = """\
Run the seed example's analysis without any clicking: load the maps, compute the group
mask, run a voxelwise one-sample t-test, correct it with Bonferroni, random field theory
and a sign-flip permutation max-t test, print a table of the voxels that survive and write
DIR/report.html with the figures. Works offline: with --source auto (the default) the real
maps are used when cached (see 'glmteach fetch'), else a SIMULATED cohort."""

FETCH_HELP = """\
Download the real localizer maps: "left vs right button press" (notebooks 01-05, 07 and
'glmteach demo') and the same subjects' "vertical checkerboard" and "horizontal
checkerboard" maps (notebook 06, groups and covariates), from osf.io via nilearn, and
check that every file can be read. Run this once before class, where there is internet;
the lessons then use the cached copy offline. Files go to nilearn's data folder
($NILEARN_DATA, else ~/nilearn_data) unless --data-dir is given."""

LAB_HELP = """\
Start JupyterLab on the lesson notebooks (00_start_here.ipynb first), reachable only from
this computer (127.0.0.1) and protected by a token printed in the address (passed to
JupyterLab in its environment, not on its command line, where other users could read
it). A notebook's kernel left without an open tab is shut down after 10 idle minutes.
Stop it with Ctrl-C."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line error messages (exit code 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _number(kind, low, high, low_open=False, high_open=False, name="value"):
    """An argparse ``type`` checking ``low <= x <= high`` (or strict where open)."""

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'a whole number' if kind is int else 'a number'}") from None
        too_low = value <= low if low_open else value < low
        too_high = value >= high if high_open else value > high
        if not math.isfinite(value) or too_low or too_high:
            left, right = "(" if low_open else "[", ")" if high_open else "]"
            span = f"{left}{low:,}, {high:,}{right}" if high != math.inf else f">= {low}"
            raise argparse.ArgumentTypeError(f"{name} must be in {span}, got {text}")
        return value

    parse.__name__ = name  # argparse names the type in some messages
    return parse


def build_parser():
    """The ``glmteach`` argument parser (sub-commands demo, fetch, lab)."""
    parser = _Parser(prog="glmteach", description=DESCRIPTION,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    from . import __version__

    parser.add_argument("--version", action="version", version=f"glmteach {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_demo(commands)
    _add_fetch(commands)
    _add_lab(commands)
    return parser


def _add_demo(commands):
    demo = commands.add_parser("demo", help="run the whole analysis, write an HTML report",
                               description=DEMO_HELP,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    demo.add_argument("--source", choices=("auto", "nilearn", "embedded"), default="auto",
                      help="where the maps come from: 'nilearn' = the real data (cached or "
                           "downloaded), 'embedded' = a SIMULATED cohort that needs no "
                           "network, 'auto' = real if available, else simulated (default)")
    demo.add_argument("--n-subjects", type=_number(int, 2, 100, name="n-subjects"),
                      default=16, metavar="N", help="number of subjects, 2..100 (real data: "
                      "up to 94; default: 16)")
    demo.add_argument("--n-perm", type=_number(int, 1, 1_000_000, name="n-perm"),
                      default=10000, metavar="N",
                      help="number of sign flips for the permutation test, 1..1,000,000 "
                           "(default: 10000; 16 subjects have 32,768 distinct flips)")
    demo.add_argument("--alpha", type=_number(float, 0, 1, True, True, name="alpha"),
                      default=0.05, metavar="A",
                      help="family-wise error rate to control, between 0 and 1 (default: 0.05)")
    demo.add_argument("--smoothing-fwhm", type=_number(float, 0, 50, name="smoothing-fwhm"),
                      default=8.0, metavar="F",
                      help="Gaussian smoothing of each map in mm, 0..50, 0 = none "
                           "(default: 8)")
    demo.add_argument("--out", default="glmteach_report", metavar="DIR",
                      help="folder for report.html and its figures (default: ./glmteach_report)")
    demo.add_argument("--force", action="store_true",
                      help="write into DIR even if it holds files not made by glmteach")
    demo.add_argument("--seed", type=_number(int, 0, 2**32 - 1, name="seed"), default=0,
                      metavar="S", help="random seed of the sign flips and of the simulated "
                      "cohort: the same seed gives the same results (default: 0)")
    demo.set_defaults(run=run_demo)


def _add_fetch(commands):
    fetch = commands.add_parser("fetch", help="download the real data (before class)",
                                description=FETCH_HELP,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    fetch.add_argument("--n-subjects", type=_number(int, 2, 94, name="n-subjects"),
                       default=16, metavar="N", help="number of subjects, 2..94 (default: 16)")
    fetch.add_argument("--data-dir", metavar="D",
                       help="where to store the files (default: nilearn's data folder)")
    fetch.set_defaults(run=run_fetch)


def _add_lab(commands):
    lab = commands.add_parser("lab", help="open the lesson notebooks in JupyterLab",
                              description=LAB_HELP,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    lab.add_argument("--port", type=_number(int, 1, 65535, name="port"), default=None,
                     metavar="P", help="port to listen on (default: the first free one "
                                       "from 8888)")
    lab.add_argument("--no-browser", action="store_true",
                     help="do not open a browser; just print the address")
    lab.set_defaults(run=run_lab)


# ----------------------------------------------------------------------------- main


def main(argv=None):
    """Entry point of the ``glmteach`` command; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or bad arguments (2)
        return exc.code if isinstance(exc.code, int) else 0
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("\nglmteach: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, ConnectionError, FileNotFoundError, OSError) as exc:
        print(f"glmteach: error: {_one_line(exc)}", file=sys.stderr)
        return 1


def _one_line(exc):
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    # the library speaks Python; on the command line the same fix is an option
    return line.replace("source='embedded'", "--source embedded")


# ----------------------------------------------------------------------------- demo


class ProgressBar:
    """A text bar redrawn in place with ``\\r``: ``[#####-----]  50%  5,000/10,000 flips``.

    Call it with the fraction done (0..1), as ``permutation_test(progress=...)`` does.
    """

    def __init__(self, total, label="flips", stream=None, width=30):
        self.total, self.label, self.width = total, label, width
        self.stream = sys.stderr if stream is None else stream
        self.start = time.perf_counter()

    def __call__(self, fraction):
        fraction = min(max(float(fraction), 0.0), 1.0)
        filled = int(round(fraction * self.width))
        done = int(round(fraction * self.total))
        elapsed = time.perf_counter() - self.start
        self.stream.write(f"\r  [{'#' * filled}{'-' * (self.width - filled)}] "
                          f"{fraction:4.0%}  {done:,}/{self.total:,} {self.label}  "
                          f"{elapsed:.1f} s")
        self.stream.flush()

    def close(self):
        self.stream.write("\n")
        self.stream.flush()


def check_out_dir(out, force=False):
    """Raise ``FileExistsError`` if a report may not be written into ``out``; return a Path."""
    from .report import REPORT_MARKER

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} is a file, not a folder; choose another --out.")
    if (out.is_dir() and any(out.iterdir()) and not (out / REPORT_MARKER).exists()
            and not force):
        raise FileExistsError(
            f"folder {out} is not empty and was not made by glmteach demo; choose another "
            "--out or pass --force to write into it anyway.")
    return out


def prepare_out_dir(out, force=False):
    """Create ``out`` (or accept it) for a report; refuse to clobber someone else's files.

    A folder is accepted when it does not exist, is empty, holds the marker file of an
    earlier report, or ``force`` is set. The marker is written in it.
    """
    from .report import REPORT_MARKER

    out = check_out_dir(out, force)
    out.mkdir(parents=True, exist_ok=True)
    (out / REPORT_MARKER).write_text("made by glmteach demo; safe to overwrite\n")
    return out


#: Files a report consists of (an earlier report's copies are replaced, never kept).
REPORT_FILES = ("report.html", ".glmteach-report", "subjects_tmaps.png",
                "uncorrected_p001.png", "bonferroni_fwer.png", "rft_fwer.png",
                "permutation_fwer.png", "null_histogram.png")


def _partial_dir(out):
    """The sibling folder a new report is written into before it replaces ``out``."""
    return out.parent / f".{out.name}.partial"


def start_partial(out):
    """Create the (empty) partial folder for ``out``: proves ``--out`` is writable."""
    from .report import REPORT_MARKER

    partial = _partial_dir(out)
    try:
        if partial.exists():  # left by a run that was killed: ours, safe to remove
            shutil.rmtree(partial)
        partial.mkdir(parents=True)
        (partial / REPORT_MARKER).write_text("made by glmteach demo; safe to overwrite\n")
    except OSError as exc:
        raise OSError(f"cannot write the report to --out {out} ({exc.strerror or exc}); "
                      "choose a folder you can write to.") from None
    return partial


def publish(partial, out):
    """Replace ``out`` by the complete report in ``partial`` (renames, never a mix).

    Files of ``out`` that are not part of a report (e.g. with ``--force``) are kept.
    """
    if not out.exists():
        os.replace(partial, out)
        return out
    old = out.parent / f".{out.name}.old"
    if old.exists():
        shutil.rmtree(old)
    os.replace(out, old)
    os.replace(partial, out)
    for entry in old.iterdir():  # the user's own files stay
        if entry.name not in REPORT_FILES and not (out / entry.name).exists():
            os.replace(entry, out / entry.name)
    shutil.rmtree(old)
    return out


def run_demo(args):
    """``glmteach demo``: the seed pipeline, a table on stdout, a report on disk.

    The report is written into a sibling folder and then renamed to ``--out``, so that
    the folder always holds one complete report (the old one if the run fails or is
    interrupted); ``--out`` is checked before the analysis.
    """
    if args.source != "embedded" and args.n_subjects > 94:
        raise ValueError(f"the real data have 94 subjects, got --n-subjects "
                         f"{args.n_subjects}; use at most 94 or --source embedded.")
    out = check_out_dir(args.out, args.force)  # before the work: a refusal comes at once
    partial = start_partial(out)
    try:
        return _demo(args, out, partial)
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)


def _demo(args, out, partial):
    from .report import format_table, write_report

    _use_agg()
    results = analyse(args)
    print()
    for line in format_table(results.rows, results.masked.n_voxels):
        print(line)
    for row in results.rows:
        if row.note:
            print(f"  {row.method}: {row.note}")
    print()
    for sentence in results.sentences:
        print(sentence)
    tic = time.perf_counter()
    write_report(results, partial)
    results.timings["figures"] = time.perf_counter() - tic
    path = publish(partial, out) / Path(REPORT_FILES[0])
    print(f"\nReport: {path.resolve()}  (figures {results.timings['figures']:.1f} s)")
    if results.maps.is_simulated:
        print("Note: SIMULATED data (no real maps cached); run 'glmteach fetch' online to "
              "use the real ones.")
    return 0


def _use_agg():
    """Draw off-screen (unless pyplot is already in use, e.g. inside a notebook)."""
    if "matplotlib.pyplot" not in sys.modules:
        import matplotlib

        matplotlib.use("Agg")


def analyse(args):
    """Load, mask, test and correct as the seed example does; return ``DemoResults``."""
    import glmteach as gt
    from .corrections import correct, random_field
    from .report import DemoResults

    timings = {}
    tic = time.perf_counter()
    maps = gt.load_localizer(n_subjects=args.n_subjects, source=args.source,
                             random_state=args.seed, verbose=1)
    print(f"Data: {maps.description}")
    masked = gt.mask_maps(maps, smoothing_fwhm=args.smoothing_fwhm or None)
    print(f"Mask: {masked.summary()}")
    timings["load + mask"] = time.perf_counter() - tic

    tic = time.perf_counter()
    tt = gt.one_sample_ttest(masked.Y)
    field = random_field(masked.Y, masked.mask, masked.voxel_size_mm)
    print(f"Smoothness: {field.summary()}")
    corrections = {"uncorrected": correct(tt, "uncorrected", alpha=0.001),
                   "bonferroni": correct(tt, "bonferroni", alpha=args.alpha),
                   "rft": None}
    rft_problem = ""
    try:
        corrections["rft"] = correct(tt, "rft", alpha=args.alpha, field=field)
    except ValueError as exc:  # e.g. too few subjects for the random field formulas
        rft_problem = f"not available for these data: {_one_line(exc)}"
        print(f"Random field theory: {rft_problem}")
    timings["t-test + corrections"] = time.perf_counter() - tic

    print(f"Permutations ({args.n_perm:,} sign flips, max |t| over the brain; the very "
          "first run also compiles the numba kernels, 10-20 s):", file=sys.stderr)
    bar = ProgressBar(args.n_perm)
    bar(0.0)  # show the bar at once, before the first chunk (and any compilation)
    tic = time.perf_counter()
    try:
        perm = gt.permutation_test(masked.Y, n_perm=args.n_perm, random_state=args.seed,
                                   progress=bar)
    finally:
        bar.close()
    timings["permutations"] = time.perf_counter() - tic
    settings = {"source": maps.source, "n_subjects": maps.n_subjects, "n_perm": args.n_perm,
                "alpha": args.alpha, "smoothing_fwhm (mm)": args.smoothing_fwhm,
                "seed": args.seed, "test": "one-sample t, two-sided"}
    return DemoResults(maps=maps, masked=masked, tt=tt, corrections=corrections,
                       field=field, perm=perm, alpha=args.alpha,
                       rows=method_rows(corrections, perm, args.alpha, rft_problem),
                       settings=settings,
                       timings=timings,
                       sentences=comparison_sentences(corrections, perm, args.alpha, tt,
                                                      field))


def comparison_sentences(corrections, perm, alpha, tt, field):
    """The generated sentences comparing the methods (:mod:`glmteach.narrative`)."""
    from . import narrative

    results = {"bonferroni": corrections["bonferroni"], "rft": corrections["rft"],
               "permutation": narrative.Outcome("permutation", perm.threshold(alpha),
                                                perm.n_survivors(alpha))}
    sentences = narrative.comparison_sentences(
        results, alpha, df=tt.df, field=field if corrections["rft"] is not None else None,
        two_sided=tt.two_sided, n_perm=perm.n_flips)
    if not perm.exact:
        sentences.append(narrative.mc_error_note(perm.n_flips, perm.flips.n_distinct)
                         .replace("&plusmn;", "+/-"))
    return sentences


def method_rows(corrections, perm, alpha, rft_problem=""):
    """The table: uncorrected p < 0.001, then the three family-wise error methods."""
    from .report import MethodRow

    fwer = f"FWER {alpha:g}"
    lo, hi = perm.threshold_interval(alpha)
    flips = f"{perm.n_flips:,} {'flips, exact' if perm.exact else 'random flips'}"
    note = (f"{flips}; 95% Monte-Carlo interval of the threshold [{lo:.2f}, {hi:.2f}]"
            if np.isfinite(lo) and lo != hi else flips)
    rows = [
        MethodRow("uncorrected p < 0.001", corrections["uncorrected"].threshold,
                  corrections["uncorrected"].n_survivors, "nothing (each voxel at 0.1%)"),
        MethodRow("Bonferroni", corrections["bonferroni"].threshold,
                  corrections["bonferroni"].n_survivors, fwer),
        MethodRow("random field theory", np.inf, 0, fwer, rft_problem, available=False)
        if corrections["rft"] is None else
        MethodRow("random field theory", corrections["rft"].threshold,
                  corrections["rft"].n_survivors, fwer),
        MethodRow("permutation max-t", perm.threshold(alpha), perm.n_survivors(alpha),
                  fwer, note),
    ]
    if corrections["rft"] is not None:
        from .narrative import spm_outcome

        spm = spm_outcome(corrections["rft"], corrections["bonferroni"])
        which = ("Bonferroni" if corrections["bonferroni"].threshold
                 <= corrections["rft"].threshold else "random field theory")
        rows.insert(3, MethodRow("SPM (min of RFT, Bonferroni)", spm.threshold,
                                 spm.n_survivors, fwer, f"uses {which}'s threshold here",
                                 key="spm"))
    return rows


# ----------------------------------------------------------------------------- fetch


def run_fetch(args):
    """``glmteach fetch``: download and verify the real maps of every lesson."""
    from .data import (CHECKERBOARDS, DataUnavailableError, _find_contrast_cache,
                       download_checkerboards, download_localizer, localizer_cache_dir)

    n, failed = args.n_subjects, None
    print(f"Fetching {n} subjects' maps (left vs right button press) ...")
    try:
        maps = download_localizer(n_subjects=n, data_dir=args.data_dir, verbose=1)
    except (ValueError, OSError) as exc:  # DataUnavailableError is an OSError
        if "cannot create the data folder" in str(exc):  # the same for the checkerboards
            raise DataUnavailableError(f"nothing fetched: {_one_line(exc)}") from None
        failed = exc  # still try the checkerboards, then say what was and wasn't fetched
    else:
        folder = localizer_cache_dir(args.data_dir)
        print(f"OK: {maps.n_subjects} subjects' contrast and t-maps read and verified"
              + (f" in {folder}" if folder else "") + ".")
    print(f"Fetching {n} subjects' checkerboard maps (vertical and horizontal, notebook 06) ...")
    try:
        boards = download_checkerboards(n_subjects=n, data_dir=args.data_dir, verbose=1)
    except (ValueError, OSError) as exc:
        if failed is None:
            raise DataUnavailableError("fetched the button-press maps but not the checkerboard "
                                       f"maps: {_one_line(exc)}") from None
        raise DataUnavailableError("nothing fetched (neither the button-press nor the "
                                   f"checkerboard maps): {_one_line(failed)}") from None
    folder = _find_contrast_cache(CHECKERBOARDS, n, args.data_dir)
    print(f"OK: {boards.n_subjects} subjects' vertical and horizontal checkerboard maps read"
          + (f" in {folder}" if folder else "") + ".")
    if failed is not None:
        raise DataUnavailableError("fetched the checkerboard maps but not the button-press "
                                   f"maps: {_one_line(failed)}")
    print("The lessons and 'glmteach demo' now use them, even offline.")
    return 0


# ----------------------------------------------------------------------------- lab


def notebooks_dir():
    """The lesson notebooks: next to the package source, else ./notebooks, else cwd."""
    import glmteach

    for candidate in (Path(glmteach.__file__).resolve().parents[1] / "notebooks",
                      Path.cwd() / "notebooks"):
        if (candidate / "00_start_here.ipynb").is_file():
            return candidate
    return Path.cwd()


def free_port(start=8888, tries=50):
    """The first port from ``start`` on which 127.0.0.1 can listen."""
    import socket

    for port in range(start, start + tries):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OSError(f"no free port in {start}..{start + tries - 1}; pass --port P.")


def lab_command(port, no_browser=False, token=None):
    """The ``jupyter lab`` command line (a list), its environment and its token.

    The token travels in the environment (``JUPYTER_TOKEN``), never on the command line,
    where any local user could read it with ``ps``. The environment also puts glmteach's
    Jupyter configuration (idle-kernel culling, see ``glmteach/jupyter_config/``) on
    ``JUPYTER_CONFIG_PATH``, below the user's own ``~/.jupyter``, which still wins.
    """
    from .jupyter_config import jupyter_env

    token = token or secrets.token_hex(24)
    command = [sys.executable, "-m", "jupyter", "lab", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--ServerApp.root_dir={notebooks_dir()}"]
    if no_browser:
        command.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # e.g. in a container: Jupyter refuses
        command.append("--ServerApp.allow_root=True")
    env = jupyter_env(os.environ)
    env["JUPYTER_TOKEN"] = token
    return command, env, token


def run_lab(args):
    """``glmteach lab``: JupyterLab on the notebooks, on 127.0.0.1 with a token."""
    import importlib.util

    if importlib.util.find_spec("jupyterlab") is None:
        raise FileNotFoundError("JupyterLab is not installed; run: pip install jupyterlab")
    port = args.port if args.port is not None else free_port()
    command, env, token = lab_command(port, args.no_browser)
    first = "lab/tree/00_start_here.ipynb" if (notebooks_dir() / "00_start_here.ipynb"
                                               ).is_file() else "lab"
    print(f"Starting JupyterLab on {notebooks_dir()}; only this computer can connect.\n"
          f"Open: http://127.0.0.1:{port}/{first}?token={token}\nCtrl-C stops it.")
    return subprocess.call(command, env=env)


if __name__ == "__main__":
    sys.exit(main())
