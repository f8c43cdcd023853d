"""The ``glmteach`` command: demo report, argument checks, one-line failures, fetch, lab."""

import contextlib
import io
import json
import os
from pathlib import Path
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import glmteach as gt
from glmteach import cli
from glmteach.corrections import correct, random_field
from glmteach.data import _CONTRAST_FILE
from glmteach.report import REPORT_FILE, REPORT_MARKER

DEMO_SETTINGS = dict(n_subjects=8, n_perm=500, alpha=0.05, smoothing_fwhm=6.0, seed=3)
FIGURES = ("subjects_tmaps.png", "uncorrected_p001.png", "bonferroni_fwer.png",
           "rft_fwer.png", "permutation_fwer.png", "null_histogram.png")
ROW_NAMES = {"uncorrected p < 0.001": "uncorrected", "Bonferroni": "bonferroni",
             "random field theory": "rft", "permutation max-t": "permutation"}


def run_main(argv):
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def demo_argv(out_dir, source="embedded", **overrides):
    settings = {**DEMO_SETTINGS, **overrides}
    return ["demo", "--source", source, "--out", str(out_dir),
            "--n-subjects", str(settings["n_subjects"]), "--n-perm", str(settings["n_perm"]),
            "--alpha", str(settings["alpha"]),
            "--smoothing-fwhm", str(settings["smoothing_fwhm"]),
            "--seed", str(settings["seed"])]


def parse_table(stdout):
    """{row key: (threshold or inf, n_survivors)} from the printed table (None if n/a)."""
    rows = {}
    for line in stdout.splitlines():
        for name, key in ROW_NAMES.items():
            match = re.match(
                rf"^{re.escape(name)}\s+(\S+(?: can)?)\s+([\d,]+|n/a) / ([\d,]+)$", line)
            if match and match[2] == "n/a":
                rows[key] = None
            elif match:
                threshold = np.inf if match[1] == "none can" else float(match[1])
                rows[key] = (threshold, int(match[2].replace(",", "")))
    return rows


def api_results(maps, settings):
    """The same analysis through the public API (what the table must match)."""
    masked = gt.mask_maps(maps, smoothing_fwhm=settings["smoothing_fwhm"])
    tt = gt.one_sample_ttest(masked.Y)
    field = random_field(masked.Y, masked.mask, masked.voxel_size_mm)
    alpha = settings["alpha"]
    unc = correct(tt, "uncorrected", alpha=0.001)
    bonf = correct(tt, "bonferroni", alpha=alpha)
    try:
        rft = correct(tt, "rft", alpha=alpha, field=field)
    except ValueError:  # too few subjects for random field theory: the CLI says n/a
        rft = None
    perm = gt.permutation_test(masked.Y, n_perm=settings["n_perm"],
                               random_state=settings["seed"])
    return {"uncorrected": (unc.threshold, unc.n_survivors),
            "bonferroni": (bonf.threshold, bonf.n_survivors),
            "rft": None if rft is None else (rft.threshold, rft.n_survivors),
            "permutation": (perm.threshold(alpha), perm.n_survivors(alpha))}


def check_report(out_dir, figures=FIGURES):
    """Every figure exists as a PNG and the HTML refers to each by a relative path."""
    html = (out_dir / REPORT_FILE).read_text()
    sources = re.findall(r"<img src='([^']+)'", html)
    assert sorted(sources) == sorted(figures)
    for name in figures:
        data = (out_dir / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, name
    assert (out_dir / REPORT_MARKER).is_file()
    return html


@pytest.fixture(scope="module")
def embedded_demo(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("demo") / "report"
    code, stdout, stderr = run_main(demo_argv(out_dir))
    return out_dir, code, stdout, stderr


def test_demo_writes_the_report_with_every_figure(embedded_demo):
    out_dir, code, stdout, stderr = embedded_demo
    assert code == 0, stderr
    html = check_report(out_dir)
    assert "class='simulated'" in html and "SIMULATED DATA" in html
    assert "Mask:" in stdout and "voxels in the group mask" in stdout
    assert "resels" in stdout  # the random field summary
    assert "100%" in stderr and "\r" in stderr  # the progress bar reached the end


def test_demo_table_matches_the_api(embedded_demo):
    _, code, stdout, _ = embedded_demo
    assert code == 0
    printed = parse_table(stdout)
    maps = gt.load_localizer(DEMO_SETTINGS["n_subjects"], source="embedded",
                             random_state=DEMO_SETTINGS["seed"], verbose=0)
    expected = api_results(maps, DEMO_SETTINGS)
    assert printed.keys() == expected.keys()
    for key, (threshold, count) in expected.items():
        assert printed[key][1] == count, key
        assert printed[key][0] == pytest.approx(threshold, abs=0.006), key
    assert printed["uncorrected"][0] < printed["bonferroni"][0]
    assert expected["uncorrected"][1] > expected["bonferroni"][1]  # the lesson's point


def test_demo_on_real_layout_is_not_labelled_simulated(tmp_path, monkeypatch, offline,
                                                       localizer_cache):
    """The nilearn source (from a fake cache, no network): figures, no SIMULATED banner."""
    monkeypatch.setenv("NILEARN_DATA", str(localizer_cache))
    out_dir = tmp_path / "real"
    code, stdout, stderr = run_main(demo_argv(out_dir, source="nilearn", n_subjects=4,
                                              n_perm=100, smoothing_fwhm=0))
    assert code == 0, stderr
    rft_missing = parse_table(stdout)["rft"] is None  # 3 df: RFT may not apply
    html = check_report(out_dir, [f for f in FIGURES if not (rft_missing and "rft" in f)])
    assert "SIMULATED" not in html and "SIMULATED" not in stdout
    # 4 subjects have 8 distinct flips: an exact test where no voxel can reach p <= 0.05
    assert parse_table(stdout)["permutation"] == (np.inf, 0)
    maps = gt.load_localizer(4, source="nilearn", verbose=0)
    expected = api_results(maps, {**DEMO_SETTINGS, "n_perm": 100, "smoothing_fwhm": 0})
    assert parse_table(stdout).keys() == expected.keys()
    for key, value in expected.items():
        printed = parse_table(stdout)[key]
        assert (printed is None) == (value is None), key
        assert value is None or printed[1] == value[1], key


def test_demo_refuses_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    code, stdout, stderr = run_main(demo_argv(tmp_path))
    assert code == 1
    assert stderr.count("\n") == 1 and stderr.startswith("glmteach: error: ")
    assert "--force" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis.tex"]


def test_prepare_out_dir_rules(tmp_path):
    fresh = cli.prepare_out_dir(tmp_path / "new")
    (fresh / "old.png").write_bytes(b"x")
    assert cli.prepare_out_dir(fresh) == fresh  # ours (marker): reused
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("x")
    with pytest.raises(FileExistsError, match="--force"):
        cli.prepare_out_dir(other)
    assert (cli.prepare_out_dir(other, force=True) / REPORT_MARKER).is_file()
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="is a file"):
        cli.prepare_out_dir(tmp_path / "file")


@pytest.mark.parametrize("argv, expected", [
    (["demo", "--n-subjects", "1"], "n-subjects"),
    (["demo", "--n-subjects", "101"], "n-subjects"),
    (["demo", "--n-subjects", "abc"], "whole number"),
    (["demo", "--n-perm", "0"], "n-perm"),
    (["demo", "--n-perm", "1000001"], "n-perm"),
    (["demo", "--alpha", "0"], "alpha"),
    (["demo", "--alpha", "1"], "alpha"),
    (["demo", "--alpha", "nan"], "alpha"),
    (["demo", "--smoothing-fwhm", "-1"], "smoothing-fwhm"),
    (["demo", "--smoothing-fwhm", "1e6"], "smoothing-fwhm must be in [0, 50]"),
    (["demo", "--smoothing-fwhm", "1e300"], "smoothing-fwhm must be in [0, 50]"),
    (["demo", "--source", "osf"], "invalid choice"),
    (["demo", "--bogus"], "unrecognized"),
    (["fetch", "--n-subjects", "95"], "n-subjects"),
    (["lab", "--port", "70000"], "port"),
    (["teach"], "invalid choice"),
])
def test_bad_arguments_exit_2_with_one_line(argv, expected):
    code, stdout, stderr = run_main(argv)
    assert code == 2
    assert stderr.count("\n") == 1 and "error:" in stderr and expected in stderr
    assert stdout == ""


def test_no_command_prints_help_and_exits_2():
    code, _, stderr = run_main([])
    assert code == 2 and "glmteach demo" in stderr


def test_real_source_offline_fails_with_one_line(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("NILEARN_DATA", str(tmp_path / "empty"))
    code, _, stderr = run_main(demo_argv(tmp_path / "out", source="nilearn"))
    assert code == 1
    assert stderr.count("\n") == 1 and stderr.startswith("glmteach: error: ")
    assert "Traceback" not in stderr and "embedded" in stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("source", ["nilearn", "auto"])
def test_real_source_with_too_many_subjects_fails_with_one_line(tmp_path, source):
    code, _, stderr = run_main(demo_argv(tmp_path / "out", source=source, n_subjects=95))
    assert code == 1 and stderr.count("\n") == 1 and "--source embedded" in stderr
    assert not (tmp_path / "out").exists()  # a failed run leaves no folder behind


def test_fetch_offline_fails_with_one_line(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("NILEARN_DATA", str(tmp_path))
    code, stdout, stderr = run_main(["fetch", "--n-subjects", "2"])
    assert code == 1
    assert stderr.count("\n") == 1 and stderr.startswith("glmteach: error: ")
    assert "nothing fetched" in stderr and "checkerboard" in stderr and "osf.io" in stderr
    assert "--source" not in stderr and "source=" not in stderr  # fetch takes no source
    assert "checkerboard" in stdout and "OK" not in stdout  # both were tried, none got


def test_fetch_into_a_folder_it_cannot_create(tmp_path, offline):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code, _, stderr = run_main(["fetch", "--n-subjects", "2",
                                "--data-dir", str(blocker / "data")])
    assert code == 1 and stderr.count("\n") == 1
    assert "cannot create the data folder" in stderr and str(blocker) in stderr
    assert "nothing fetched" in stderr
    assert "--data-dir" in stderr and "--source" not in stderr and "but: ;" not in stderr


def write_both_caches(data_dir, n_subjects=4):
    """The button-press and the checkerboard maps in one nilearn folder, one index."""
    from conftest import write_localizer_cache
    from test_two_conditions import write_checkerboard_cache

    root = write_localizer_cache(data_dir, n_subjects)
    index = json.loads((root / "download").read_text())
    write_checkerboard_cache(data_dir, n_subjects)
    index.update(json.loads((root / "download").read_text()))
    (root / "download").write_text(json.dumps(index))
    return root


def test_fetch_finds_and_verifies_cached_maps(tmp_path, offline):
    write_both_caches(tmp_path)
    code, stdout, stderr = run_main(["fetch", "--n-subjects", "4", "--data-dir", str(tmp_path)])
    assert code == 0, stderr
    assert "4 subjects' contrast and t-maps" in stdout and str(tmp_path) in stdout
    assert "4 subjects' vertical and horizontal checkerboard maps" in stdout
    # what fetch verified is what the lessons then load offline: real maps, not SIMULATED
    assert not gt.load_localizer(n_subjects=4, data_dir=tmp_path, verbose=0).is_simulated
    boards = gt.load_checkerboards(n_subjects=4, data_dir=tmp_path, verbose=0)
    assert boards.source == "nilearn" and not boards.is_simulated


def test_fetch_with_only_the_button_press_maps_cached_says_what_is_missing(tmp_path, offline):
    root = write_both_caches(tmp_path)  # nilearn's index lists both; only one was downloaded
    for path in (root / "brainomics_data").rglob("cmaps_*Checkerboard.nii.gz"):
        path.unlink()
    code, stdout, stderr = run_main(["fetch", "--n-subjects", "4", "--data-dir", str(tmp_path)])
    assert code == 1 and stderr.count("\n") == 1
    assert "fetched the button-press maps but not the checkerboard maps" in stderr
    assert "4 subjects' contrast and t-maps read and verified" in stdout
    assert "--source" not in stderr and "NILEARN_DATA" in stderr


def test_fetch_with_only_the_checkerboards_cached_says_what_is_missing(tmp_path, offline):
    root = write_both_caches(tmp_path, n_subjects=3)
    for path in (root / "brainomics_data").rglob(f"*maps_{_CONTRAST_FILE}.nii.gz"):
        path.unlink()
    code, stdout, stderr = run_main(["fetch", "--n-subjects", "3", "--data-dir", str(tmp_path)])
    assert code == 1 and stderr.count("\n") == 1
    assert "fetched the checkerboard maps but not the button-press maps" in stderr
    assert "3 subjects' vertical and horizontal checkerboard maps read" in stdout


def _fake_call(calls, code=0):
    """A stand-in for subprocess.call that records (command, env)."""
    return lambda command, env=None: calls.append((command, env)) or code


def test_lab_binds_localhost_with_a_token(monkeypatch):
    from glmteach.jupyter_config import CONFIG_DIR

    calls = []
    monkeypatch.setattr(cli.subprocess, "call", _fake_call(calls, 7))
    code, stdout, _ = run_main(["lab", "--port", "9999", "--no-browser"])
    assert code == 7  # JupyterLab's own exit code is passed on
    ((command, env),) = calls
    assert command[:4] == [sys.executable, "-m", "jupyter", "lab"]
    assert "--ServerApp.ip=127.0.0.1" in command and "--no-browser" in command
    assert "--ServerApp.port=9999" in command
    token = env["JUPYTER_TOKEN"]
    assert len(token) >= 32
    assert not [c for c in command if token in c or "token" in c.lower()]  # not in argv
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep)[0] == str(CONFIG_DIR)  # culling
    root = Path([c for c in command if c.startswith("--ServerApp.root_dir=")][0].split("=", 1)[1])
    assert root.is_dir()
    assert root == cli.notebooks_dir()
    assert f"http://127.0.0.1:9999/lab/tree/00_start_here.ipynb?token={token}" \
        in stdout  # Jupyter hides a token it was given: we print the address to open


def test_lab_picks_a_free_port_by_default(monkeypatch):
    import socket

    calls = []
    monkeypatch.setattr(cli.subprocess, "call", _fake_call(calls))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        assert cli.free_port(taken) != taken  # a port in use is skipped
        code, _, _ = run_main(["lab", "--no-browser"])
    assert code == 0
    command = calls[0][0]
    port = int([c for c in command if c.startswith("--ServerApp.port=")][0].split("=")[1])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # it was free (and Jupyter will not retry others)
    assert "--ServerApp.port_retries=0" in command


@pytest.mark.slow
def test_lab_token_is_required_and_not_visible_to_ps(tmp_path):
    """A real JupyterLab from lab_command: the token works, is needed, and no other local
    user can read it in the process list (/proc/PID/cmdline is world-readable; environ is
    not), and the server reads glmteach's culling configuration."""
    import json
    import socket
    import urllib.error
    import urllib.request

    port = cli.free_port(18888)
    command, env, token = cli.lab_command(port, no_browser=True)
    env.update(JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), HOME=str(tmp_path),
               JUPYTER_DATA_DIR=str(tmp_path / "data"), JUPYTER_PLATFORM_DIRS="1")
    log = open(tmp_path / "lab.log", "w")
    server = subprocess.Popen(command + ["--ServerApp.log_level=DEBUG"], env=env, stdout=log,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, (tmp_path / "lab.log").read_text()[-3000:]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "JupyterLab did not listen in 90 s"
                time.sleep(0.5)
        cmdline = Path(f"/proc/{server.pid}/cmdline").read_bytes().decode()
        assert token not in cmdline
        url = f"http://127.0.0.1:{port}/api/status"
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(url, timeout=30)
        assert denied.value.code == 403
        request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 200 and "started" in json.loads(answer.read())
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
        log.close()
    from glmteach.jupyter_config import SERVER_CONFIG

    assert str(SERVER_CONFIG) in (tmp_path / "lab.log").read_text()  # "Loaded config file"


def test_progress_bar_draws_in_place():
    stream = io.StringIO()
    bar = cli.ProgressBar(1000, stream=stream, width=10)
    for fraction in (0.0, 0.5, 1.0):
        bar(fraction)
    bar.close()
    frames = stream.getvalue().split("\r")[1:]
    assert len(frames) == 3
    assert "[#####-----]" in frames[1] and "500/1,000" in frames[1]
    assert "[##########]" in frames[2] and frames[2].endswith("\n")


def test_help_in_a_subprocess_explains_the_commands():
    script = Path(sys.executable).with_name("glmteach")  # the installed entry point
    command = [str(script)] if script.exists() else [sys.executable, "-m", "glmteach.cli"]
    result = subprocess.run(command + ["--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for words in ("glmteach demo", "glmteach fetch", "glmteach lab", "button"):
        assert words in result.stdout


def _folder_bytes(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_interrupted_rerun_keeps_the_old_complete_report(embedded_demo, monkeypatch, tmp_path):
    out_dir, code, _, _ = embedded_demo
    assert code == 0
    out = tmp_path / "report"
    shutil.copytree(out_dir, out)
    (out / "my_notes.txt").write_text("kept")  # a file of the user's in the folder
    before = _folder_bytes(out)
    from glmteach import report

    real_figure = report.glass_brain_figure
    calls = []

    def interrupt_after_one(*args, **kwargs):  # Ctrl-C in the middle of the figures
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        return real_figure(*args, **kwargs)

    monkeypatch.setattr(report, "glass_brain_figure", interrupt_after_one)
    code, _, stderr = run_main(demo_argv(out, n_perm=100))
    assert code == 130 and "interrupted" in stderr
    assert _folder_bytes(out) == before  # the old complete report, nothing of the new
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # no partial left
    check_report(out)
    monkeypatch.setattr(report, "glass_brain_figure", real_figure)
    code, _, stderr = run_main(demo_argv(out, n_perm=100))  # the rerun completes
    assert code == 0, stderr
    html = check_report(out)
    assert "<code>100</code>" in html  # the new settings
    assert (out / "my_notes.txt").read_text() == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_unwritable_out_fails_before_the_analysis(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code, _, stderr = run_main(demo_argv(blocker / "report"))
    assert code == 1 and stderr.count("\n") == 1 and "cannot write the report" in stderr
    assert "Permutations" not in stderr and blocker.read_text() == "x"


def test_demo_prints_generated_comparison_and_spm_row(embedded_demo):
    _, code, stdout, _ = embedded_demo
    assert code == 0
    assert "SPM (min of RFT, Bonferroni)" in stdout
    assert "has the lowest |t| threshold" in stdout and "SPM" in stdout
    assert "can use a lower threshold" not in stdout
