"""End-to-end fixtures: Debian's Chromium (driven by Playwright) against real servers.

Servers (Voila, JupyterLab) run on 127.0.0.1 on a free port, started and stopped here
with bounded waits; the browser gets a fresh profile per test and may only talk to
loopback (anything else is aborted and listed in the test's log). Screenshots and server
logs go to ``tests/e2e/artifacts/`` (git-ignored).

Without Chromium (or Playwright) the tests skip with how to install it, except in CI
(``CI=true``) where that is a failure. Playwright never downloads a browser here.
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from ._ui import ARTIFACTS

REPO = Path(__file__).resolve().parents[2]
#: Where the lesson notebooks live (override to try the tests on other notebooks).
NOTEBOOKS = Path(os.environ.get("GLMTEACH_E2E_NOTEBOOKS", REPO / "notebooks"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-quic", "--disable-dev-shm-usage"]
SERVER_START_TIMEOUT = 60  # s until the port answers
INSTALL_HINT = ("install Debian's Chromium with `sudo apt-get install chromium` (or point "
                "GLMTEACH_CHROMIUM at a Chromium binary); `playwright install` is not needed")


def in_ci():
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable(reason):
    """Skip on a developer machine, fail in CI: the browser tests must run there."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(reason)


def find_chromium():
    """Path of a Chromium binary (``GLMTEACH_CHROMIUM`` if set, else Debian's), or None."""
    if os.environ.get("GLMTEACH_CHROMIUM"):
        candidates = [os.environ["GLMTEACH_CHROMIUM"]]
    else:
        candidates = ["/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path, n_lines=40):
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n_lines:])


class Server:
    """A server process on 127.0.0.1:``port``, its output in ``log_path``."""

    def __init__(self, name, args, port, cwd, env, log_path):
        self.name, self.args, self.port = name, args, port
        self.cwd, self.env, self.log_path = cwd, env, Path(log_path)
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=SERVER_START_TIMEOUT):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(self.args, cwd=self.cwd, env=self.env,
                                        stdout=self._log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with code {self.process.returncode} "
                                   f"before listening; its log ({self.log_path}):\n"
                                   f"{tail(self.log_path)}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{self.name} did not listen on port {self.port} within "
                           f"{timeout} s; its log ({self.log_path}):\n{tail(self.log_path)}")

    def stop(self, timeout=15):
        """SIGTERM (servers shut their kernels down), then SIGKILL its process group."""
        if self.process is None or self.process.poll() is not None:
            self._close_log()
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        self._close_log()

    def _close_log(self):
        log = getattr(self, "_log", None)
        if log is not None and not log.closed:
            log.close()


def server_env(tmp_path):
    """Environment of a server: the venv first, empty nilearn/Jupyter user dirs."""
    dirs = {name: tmp_path / name for name in ("nilearn_data", "jupyter_runtime",
                                               "lab_settings", "lab_workspaces",
                                               "jupyter_config", "jupyter_data",
                                               "ipython")}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    # JupyterLab: no news, no update check (no network; no toast over the notebook).
    notifications = dirs["lab_settings"] / "@jupyterlab" / "apputils-extension"
    notifications.mkdir(parents=True, exist_ok=True)
    (notifications / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}')
    # Every cell in the DOM (no windowing), so that all outputs can be checked; the
    # notebook's kernel starts without a "Select Kernel" dialog.
    notebook = dirs["lab_settings"] / "@jupyterlab" / "notebook-extension"
    notebook.mkdir(parents=True, exist_ok=True)
    (notebook / "tracker.jupyterlab-settings").write_text(
        '{"windowingMode": "none", "autoStartDefaultKernel": true}')
    env = dict(os.environ)
    env.update(
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        # source="auto" must pick the simulated cohort: nothing cached here, and no
        # download on a machine with internet (data.py skips the network probe)
        NILEARN_DATA=str(dirs["nilearn_data"]),
        GLMTEACH_OFFLINE="1",
        JUPYTER_RUNTIME_DIR=str(dirs["jupyter_runtime"]),
        JUPYTER_CONFIG_DIR=str(dirs["jupyter_config"]),
        JUPYTER_DATA_DIR=str(dirs["jupyter_data"]),  # no user kernelspec named python3
        JUPYTERLAB_SETTINGS_DIR=str(dirs["lab_settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["lab_workspaces"]),
        IPYTHONDIR=str(dirs["ipython"]),
        JUPYTER_PLATFORM_DIRS="1",
        PYTHONUNBUFFERED="1",
        MPLBACKEND="Agg",
    )
    return env


@pytest.fixture
def notebook_copy(tmp_path):
    """The notebooks folder copied to a temporary dir (running cells writes outputs)."""
    if not NOTEBOOKS.is_dir():
        pytest.fail(f"no notebooks folder at {NOTEBOOKS}", pytrace=False)
    target = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, target, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return target


def require_notebook(folder, name):
    path = Path(folder) / name
    if not path.is_file():
        pytest.fail(f"{name} is missing from {NOTEBOOKS}: the e2e test needs it",
                    pytrace=False)
    return path


@pytest.fixture
def voila_server(tmp_path, notebook_copy):
    """``voila notebooks/app.ipynb`` on 127.0.0.1 (a copy of the notebooks folder)."""
    notebook = require_notebook(notebook_copy, "app.ipynb")
    port = free_port()
    args = [sys.executable, "-m", "voila", "--no-browser", f"--port={port}",
            "--Voila.ip=127.0.0.1", "--Voila.port_retries=0",
            "--VoilaConfiguration.show_tracebacks=True", str(notebook)]
    server = Server("voila", args, port, notebook_copy, server_env(tmp_path),
                    ARTIFACTS / "voila.log").start()
    yield server
    server.stop()


@pytest.fixture
def lab_server(tmp_path, notebook_copy):
    """JupyterLab on 127.0.0.1 with a random token, rooted at the notebooks copy."""
    port, token = free_port(), secrets.token_hex(16)
    args = [sys.executable, "-m", "jupyterlab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
            "--ServerApp.open_browser=False", f"--ServerApp.root_dir={notebook_copy}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements"
            ".NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly", "--ServerApp.terminals_enabled=False"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
        args.append("--ServerApp.allow_root=True")
    server = Server("jupyterlab", args, port, notebook_copy, server_env(tmp_path),
                    ARTIFACTS / "jupyterlab.log").start()
    server.token = token
    server.root = notebook_copy
    yield server
    server.stop()


@pytest.fixture(scope="session")
def playwright_session():
    chromium = find_chromium()
    if chromium is None:
        unavailable(f"no Chromium found for the browser tests: {INSTALL_HINT}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the browser tests need Playwright: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        yield playwright, chromium


@pytest.fixture
def page(playwright_session, tmp_path, request):
    """A Chromium page with a fresh profile that can only reach 127.0.0.1.

    ``page.glmteach_log`` collects console errors, page errors and blocked requests; it is
    written to ``artifacts/<test>.browser.log``, with a screenshot if the test failed.
    """
    playwright, chromium = playwright_session
    try:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "chromium-profile"), executable_path=chromium,
            headless=True, args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000})
    except Exception as exc:  # e.g. a Chromium too old or too new for this Playwright
        unavailable(f"Chromium at {chromium} did not start ({str(exc).splitlines()[0]}): "
                    f"{INSTALL_HINT}")
    log = []

    def route(route_):
        host = urllib.parse.urlsplit(route_.request.url).hostname
        if host in ("127.0.0.1", "localhost") or route_.request.url.startswith(
                ("data:", "blob:")):
            route_.continue_()
        else:
            log.append(f"blocked (not loopback): {route_.request.url}")
            route_.abort()

    context.route("**/*", route)
    page_ = context.pages[0] if context.pages else context.new_page()
    page_.on("console", lambda msg: log.append(f"console.{msg.type}: {msg.text}")
             if msg.type in ("error", "warning") else None)
    page_.on("pageerror", lambda exc: log.append(f"pageerror: {exc}"))
    page_.glmteach_log = log
    name = request.node.name
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}-failure.png").unlink(missing_ok=True)
    yield page_
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        try:
            page_.screenshot(path=str(ARTIFACTS / f"{name}-failure.png"), full_page=True)
        except Exception:
            pass
    (ARTIFACTS / f"{name}.browser.log").write_text("\n".join(log) + "\n")
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep the call's report on the item so the page fixture knows if the test failed."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report
