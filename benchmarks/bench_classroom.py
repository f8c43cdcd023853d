"""A whole class on one JupyterHub: N learners open the lesson app at the same time.

A real JupyterHub (from PyPI) with configurable-http-proxy (from npm) runs in a temporary
folder on 127.0.0.1 only, with glmteach's own hub configuration
(``glmteach/jupyter_config/jupyterhub_config.py``: dummy authenticator, one local process
per learner, CPU_LIMIT=1, idle-kernel culling). Then N simulated learners, all at once:

1. log in through the hub's login form and start their server;
2. open the lesson app through the proxy (``/user/NAME/voila/render/app.ipynb``: Voila runs
   the notebook, which loads the data);
3. talk to their kernel as the browser page does, over the kernel's websocket through the
   proxy with the ipywidgets protocol: click Next to the comparison step (which runs the
   permutations), wait for them, then move each slider (the subjects' |t| threshold, the
   uncorrected p, alpha, n_perm) a few times, timing each move from the message to the
   kernel's idle answer (the redrawn pictures have then been sent).

Why no browser: 8 Chromium pages on a 2-core machine would measure the browsers, which run
on the learners' own computers in class; the hub's side (proxy, servers, kernels) is what
a class shares. ``tests/e2e`` covers the browser.

Then it reads each learner's kernel memory (USS: memory only that kernel holds, what each
additional learner costs; PSS) and CPU time, closes the pages as a browser does (Voila's
shutdown beacon: each kernel must go), stops the servers through the hub's API, stops the
hub and checks that nothing it started is left (every process seen under the hub, by PID;
survivors are killed and reported as orphans).

Usage: ``python benchmarks/bench_classroom.py [--learners 8] [--moves 3] [--timeout 900]``
(needs ``pip install -e ".[test]"`` and ``npm install --prefix benchmarks/.node
configurable-http-proxy``, or GLMTEACH_CHP=path). Prints one line per learner, then
``class: N learners, F failures, max memory per learner M MB, p95 slider T ms``.
"""

import argparse
import contextlib
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
MAX_LEARNERS = 64
#: Sliders moved, by description, and the values each move goes through in turn.
SLIDERS = {"show |t| >": [2.5, 3.0, 3.5, 4.0], "p <": [1e-2, 1e-4, 1e-5, 1e-3],
           "alpha": [0.05, 0.08, 0.12, 0.15], "n_perm": "index"}


def find_chp():
    """configurable-http-proxy: GLMTEACH_CHP, else on PATH, else benchmarks/.node."""
    candidates = [os.environ.get("GLMTEACH_CHP"), shutil.which("configurable-http-proxy"),
                  str(ROOT / "benchmarks" / ".node" / "node_modules" / ".bin" /
                      "configurable-http-proxy")]
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    raise FileNotFoundError(
        "configurable-http-proxy not found: run `npm install --prefix benchmarks/.node "
        "configurable-http-proxy` (Node.js >= 18) or set GLMTEACH_CHP to its path.")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def private_memory(pid):
    """(USS, PSS) of a process in MB."""
    info = psutil.Process(pid).memory_full_info()
    return info.uss / MB, getattr(info, "pss", info.uss) / MB


# ----------------------------------------------------------------------------- the hub


class Hub:
    """JupyterHub + configurable-http-proxy in ``folder``, on loopback ports."""

    def __init__(self, folder, cull_idle_timeout=None, cull_interval=None):
        self.folder = Path(folder)
        self.port, self.api_token = free_port(), secrets.token_hex(24)
        self.password = secrets.token_hex(12)
        self.notebooks = self.folder / "notebooks"
        shutil.copytree(ROOT / "notebooks", self.notebooks,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        for name in ("nilearn_data", "mpl", "homes"):
            (self.folder / name).mkdir()
        self.env = dict(os.environ)
        self.env.update(
            GLMTEACH_HUB_DIR=str(self.folder), GLMTEACH_HUB_PORT=str(self.port),
            GLMTEACH_HUB_API_PORT=str(free_port()), GLMTEACH_PROXY_API_PORT=str(free_port()),
            GLMTEACH_CHP=find_chp(), GLMTEACH_HUB_PASSWORD=self.password,
            GLMTEACH_HUB_API_TOKEN=self.api_token, GLMTEACH_NOTEBOOKS=str(self.notebooks),
            GLMTEACH_HUB_HOMES=str(self.folder / "homes"),
            # offline: the simulated cohort, and no download attempt
            NILEARN_DATA=str(self.folder / "nilearn_data"), GLMTEACH_OFFLINE="1",
            MPLCONFIGDIR=str(self.folder / "mpl"),
            PATH=os.pathsep.join([str(Path(sys.executable).parent),
                                  os.environ.get("PATH", "")]),
            CONFIGPROXY_AUTH_TOKEN=secrets.token_hex(24),
        )
        if cull_idle_timeout is not None:
            self.env["GLMTEACH_HUB_CULL_IDLE_TIMEOUT"] = str(cull_idle_timeout)
            self.env["GLMTEACH_HUB_CULL_INTERVAL"] = str(cull_interval or 5)
        self.process, self.seen, self._log = None, {}, None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=120):
        import requests

        from glmteach.jupyter_config import CONFIG_DIR

        # a class server builds matplotlib's font cache once, not in every learner's kernel
        subprocess.run([sys.executable, "-c", "import matplotlib.pyplot"], env=self.env,
                       check=True, timeout=300, capture_output=True)
        self._log = open(self.folder / "jupyterhub.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f",
             str(CONFIG_DIR / "jupyterhub_config.py")],
            cwd=self.folder, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.record()
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterHub exited with code {self.process.returncode}; "
                                   f"log:\n{self.log_tail()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + "/hub/api", timeout=5).ok:
                    return self
            time.sleep(0.5)
        raise RuntimeError(f"JupyterHub did not answer within {timeout} s; log:\n"
                           f"{self.log_tail()}")

    def log_tail(self, n=40):
        with contextlib.suppress(OSError):
            return "\n".join((self.folder / "jupyterhub.log").read_text(
                errors="replace").splitlines()[-n:])
        return ""

    def api(self, method, path, **kwargs):
        import requests

        return requests.request(method, f"{self.url}/hub/api{path}", timeout=60,
                                headers={"Authorization": f"token {self.api_token}"},
                                **kwargs)

    def record(self):
        """Remember every process under the hub (to check that all are gone at the end)."""
        if self.process is None:
            return
        with contextlib.suppress(psutil.Error):
            hub = psutil.Process(self.process.pid)
            for proc in [hub] + hub.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    key = (proc.pid, proc.create_time())
                    self.seen.setdefault(key, " ".join(proc.cmdline()[:4])[:120])

    def server_process(self, user):
        """The learner's single-user server (a child of the hub), or None."""
        hub = psutil.Process(self.process.pid)
        for proc in hub.children(recursive=False):
            with contextlib.suppress(psutil.Error):
                if proc.environ().get("JUPYTERHUB_USER") == user:
                    return proc
        return None

    def kernels_of(self, user):
        """{kernel id: process} of a learner's kernels (the server's ipykernel children)."""
        server = self.server_process(user)
        kernels = {}
        for proc in server.children(recursive=True) if server else []:
            with contextlib.suppress(psutil.Error):
                line = " ".join(proc.cmdline())
                match = re.search(r"kernel-([0-9a-f-]{36})\.json", line)
                if "ipykernel" in line and match:
                    kernels[match[1]] = proc
        return kernels

    def stop_servers(self, users, timeout=120):
        """Stop every learner's server through the hub's API; return the ones still up."""
        for user in users:
            self.api("DELETE", f"/users/{user}/server")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            running = [u for u in users
                       if self.api("GET", f"/users/{u}").json().get("servers")]
            if not running:
                return []
            time.sleep(1)
        return running

    def stop(self, timeout=60):
        """SIGTERM the hub (it stops servers and proxy); kill survivors by PID.

        Returns the orphans: processes seen under the hub still alive after it exited.
        """
        self.record()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        orphans = []
        deadline = time.monotonic() + 10  # children may need a moment after the hub
        for (pid, created), line in self.seen.items():
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(pid)
                while proc.create_time() == created and proc.is_running() \
                        and proc.status() != psutil.STATUS_ZOMBIE \
                        and time.monotonic() < deadline:
                    time.sleep(0.2)
                if proc.create_time() == created and proc.is_running() \
                        and proc.status() != psutil.STATUS_ZOMBIE:
                    orphans.append(f"{pid} {line}")
                    proc.kill()
        if self._log is not None:
            self._log.close()
        return orphans


# ----------------------------------------------------------------------------- a learner


@dataclass
class Learner:
    """One simulated learner's results."""

    name: str
    ready_s: float = float("nan")  # login -> the app rendered (data loaded)
    permutations_s: float = float("nan")  # Next to comparison -> permutations done
    latencies_ms: list = field(default_factory=list)
    kernel_uss: float = float("nan")
    kernel_pss: float = float("nan")
    server_uss: float = float("nan")
    cpu_s: float = float("nan")  # CPU time of the learner's kernel + server so far
    kernel_id: str = ""
    failures: list = field(default_factory=list)

    def line(self):
        lat = np.asarray(self.latencies_ms)
        p50, p95 = (np.percentile(lat, [50, 95]) if lat.size else (np.nan, np.nan))
        fails = "; ".join(self.failures) if self.failures else "none"
        return (f"{self.name:10s} ready {self.ready_s:6.1f} s  permutations "
                f"{self.permutations_s:5.1f} s  kernel USS {self.kernel_uss:5.0f} MB "
                f"(PSS {self.kernel_pss:4.0f}, server USS {self.server_uss:4.0f})  CPU "
                f"{self.cpu_s:4.0f} s  slider "
                f"p50 {p50:5.0f} ms p95 {p95:5.0f} ms ({lat.size} moves)  failures: {fails}")


class KernelChannel:
    """A kernel's websocket as the Voila page uses it (JSON messages, one session)."""

    def __init__(self, url, cookies, timeout):
        from websockets.sync.client import connect

        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        self.session = uuid.uuid4().hex
        self.ws = connect(f"{url}?session_id={self.session}", open_timeout=timeout,
                          legacy=True,
                          additional_headers={"Cookie": cookie}, max_size=2**28)
        self.models = {}  # model id -> state (kept up to date from the kernel's updates)
        self.updates = 0  # widget updates received from the kernel so far

    def close(self):
        with contextlib.suppress(Exception):
            self.ws.close()

    def send(self, msg_type, content, channel="shell", metadata=None):
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": msg_type, "username": "learner",
                       "session": self.session, "date": "", "version": "5.3"},
            "parent_header": {}, "metadata": metadata or {}, "content": content,
            "buffers": [],
            "channel": channel}))
        return msg_id

    def comm(self, comm_id, data):
        return self.send("comm_msg", {"comm_id": comm_id, "data": data})

    def receive(self, timeout):
        """The next message (dict), with model states applied; None on timeout."""
        from websockets.exceptions import ConnectionClosed

        try:
            raw = self.ws.recv(timeout=timeout)
        except TimeoutError:
            return None
        except ConnectionClosed as exc:
            raise RuntimeError(f"the kernel's websocket closed ({exc})") from None
        if isinstance(raw, bytes):  # a message with buffers (pictures): JSON part first
            n_parts = struct.unpack("!I", raw[:4])[0]
            offsets = struct.unpack(f"!{n_parts}I", raw[4:4 + 4 * n_parts]) + (len(raw),)
            raw = raw[offsets[0]:offsets[1]]
        msg = json.loads(raw)
        msg["msg_type"] = msg.get("msg_type") or msg["header"]["msg_type"]
        content = msg.get("content", {})
        if msg["msg_type"] == "comm_msg":
            data = content.get("data", {})
            if data.get("method") == "update" and content.get("comm_id") in self.models:
                self.models[content["comm_id"]].update(data.get("state", {}))
                self.updates += 1
            elif data.get("method") == "update_states":
                for model_id, model in data.get("states", {}).items():
                    self.models[model_id] = dict(model.get("state", {}),
                                                 _model_name=model.get("model_name"))
        elif msg["msg_type"] == "comm_open":
            data = content.get("data", {})
            self.models[content.get("comm_id")] = dict(data.get("state", {}))
        return msg

    def wait_for(self, condition, timeout, what):
        """Receive until ``condition(msg)``; RuntimeError naming ``what`` on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self.receive(min(5.0, max(0.05, deadline - time.monotonic())))
            if msg is not None and condition(msg):
                return msg
        raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")

    def wait_idle(self, msg_id, timeout, what):
        return self.wait_for(lambda m: m["msg_type"] == "status"
                             and m["parent_header"].get("msg_id") == msg_id
                             and m["content"].get("execution_state") == "idle", timeout, what)

    def request_states(self, timeout):
        """All widget models' states (ipywidgets 8's control comm, as the page does)."""
        control = uuid.uuid4().hex
        from ipywidgets._version import __control_protocol_version__

        self.send("comm_open", {"comm_id": control, "target_name": "jupyter.widget.control",
                                "data": {}}, metadata={"version": __control_protocol_version__})
        self.comm(control, {"method": "request_states"})
        self.wait_for(lambda m: m["msg_type"] == "comm_msg" and
                      m["content"].get("data", {}).get("method") == "update_states",
                      timeout, "the widgets' states")

    def find(self, description, model_name=None):
        """Model ids whose description is ``description`` (and model class)."""
        return [mid for mid, st in self.models.items()
                if st.get("description") == description
                and (model_name is None or st.get("_model_name") == model_name)]


def _xsrf(session):
    """The hub's current ``_xsrf`` cookie value (the last one set)."""
    values = [c.value for c in session.cookies if c.name == "_xsrf"]
    return values[-1] if values else ""


def run_learner(hub, learner, start_barrier, moves, deadline):
    """One learner's whole session; failures are recorded, never raised."""
    import requests

    session = requests.Session()
    base = f"{hub.url}"
    left = lambda: max(1.0, deadline - time.monotonic())  # noqa: E731
    channel = None
    try:
        start_barrier.wait(timeout=left())
        t0 = time.monotonic()
        session.get(f"{base}/hub/login", timeout=left()).raise_for_status()
        answer = session.post(f"{base}/hub/login", timeout=left(), allow_redirects=False,
                              data={"username": learner.name, "password": hub.password,
                                    "_xsrf": _xsrf(session)})
        if answer.status_code not in (302, 303):
            raise RuntimeError(f"login refused (HTTP {answer.status_code})")
        # the hub's XSRF token is tied to the login: read the new one from its home page
        session.get(f"{base}/hub/home", timeout=left()).raise_for_status()
        xsrf = _xsrf(session)
        answer = session.post(f"{base}/hub/api/users/{learner.name}/server", timeout=left(),
                              headers={"X-XSRFToken": xsrf})
        if answer.status_code not in (201, 202):
            raise RuntimeError(f"server start refused (HTTP {answer.status_code}: "
                               f"{answer.text[:200]})")
        while True:
            user = session.get(f"{base}/hub/api/users/{learner.name}", timeout=left(),
                               headers={"X-XSRFToken": xsrf}).json()
            server = user.get("servers", {}).get("")
            if server and server.get("ready"):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start in time")
            time.sleep(0.5)
        prefix = f"{base}/user/{learner.name}"
        page = session.get(f"{prefix}/voila/render/app.ipynb", timeout=left())
        page.raise_for_status()
        match = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', page.text)
        if not match:
            raise RuntimeError("the app page names no kernel (did the notebook fail?)")
        if "Traceback" in page.text or "There was an error when executing" in page.text:
            raise RuntimeError("the app page shows an error")
        learner.kernel_id = match[1]
        learner.ready_s = time.monotonic() - t0
        ws_url = (prefix.replace("http://", "ws://")
                  + f"/api/kernels/{learner.kernel_id}/channels")
        channel = KernelChannel(ws_url, session.cookies.get_dict(), left())
        drive_lesson(channel, learner, moves, deadline)
    except Exception as exc:  # a learner's failure is a result, not a crash
        learner.failures.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                                if str(exc) else type(exc).__name__)
    return channel, session


def close_page(hub, learner, channel, session):
    """Close the app's tab as the browser does: the websocket, then Voila's shutdown
    beacon (a form carrying the server's _xsrf cookie, which glmteach's prelaunch_hook
    gives the page; without it the server answers 403 and the kernel stays)."""
    channel.close()
    prefix = f"/user/{learner.name}/"
    xsrf = [c.value for c in session.cookies if c.name == "_xsrf" and
            (c.path or "").startswith(prefix)]
    try:
        answer = session.post(f"{hub.url}{prefix}voila/api/shutdown/{learner.kernel_id}",
                              files={"_xsrf": (None, xsrf[-1] if xsrf else "")}, timeout=60)
        if answer.status_code != 204:
            learner.failures.append(f"closing the page did not shut its kernel down "
                                    f"(HTTP {answer.status_code})")
    except Exception as exc:  # noqa: BLE001  (a failure to report, not to raise)
        learner.failures.append(f"closing the page: {type(exc).__name__}")


def wait_for_kernels_to_go(hub, learners, timeout=60):
    """Every closed page's kernel must be gone (shut down by its beacon)."""
    deadline = time.monotonic() + timeout
    left = [lr for lr in learners if lr.kernel_id]
    while left and time.monotonic() < deadline:
        left = [lr for lr in left if lr.kernel_id in hub.kernels_of(lr.name)]
        time.sleep(0.5)
    for learner in left:
        learner.failures.append("its kernel was still running after the page was closed")


def drive_lesson(channel, learner, moves, deadline):
    """Next to the comparison (permutations), then move every slider ``moves`` times."""
    left = lambda: max(1.0, deadline - time.monotonic())  # noqa: E731
    channel.request_states(min(120, left()))
    (next_id,) = channel.find("Next", "ButtonModel") or [None]
    (run_id,) = channel.find("Run permutations", "ButtonModel") or [None]
    if next_id is None or run_id is None:
        raise RuntimeError("the app shows no Next or Run permutations button")
    t0 = time.monotonic()
    for _ in range(3):  # fetch -> mask -> t-test -> comparison (starts the permutations)
        msg_id = channel.comm(next_id, {"method": "custom", "content": {"event": "click"}})
        channel.wait_idle(msg_id, left(), "a Next click")
    run = channel.models[run_id]
    if run.get("disabled"):  # running: wait until the button comes back
        channel.wait_for(lambda m: not channel.models[run_id].get("disabled"), left(),
                         "the permutations to finish")
    learner.permutations_s = time.monotonic() - t0
    tables = [st.get("value", "") for st in channel.models.values()
              if "<table" in str(st.get("value", "")) and "ermutation" in str(st.get("value"))]
    if not tables:
        raise RuntimeError("no results table with the permutation row after the permutations")
    for description, values in SLIDERS.items():
        ids = channel.find(description)
        if not ids:
            learner.failures.append(f"no slider {description!r}")
            continue
        model = channel.models[ids[0]]
        if values == "index":  # a SelectionSlider: move through its options
            count = len(model.get("_options_labels", [])) or 1
            states = [{"index": i % count} for i in (0, count // 2, count - 1, 1)]
        else:
            states = [{"value": v} for v in values]
        for state in (states * moves)[:moves]:
            start, updates = time.perf_counter(), channel.updates
            msg_id = channel.comm(ids[0], {"method": "update", "state": state,
                                           "buffer_paths": []})
            channel.wait_idle(msg_id, min(120, left()), f"the {description} slider")
            learner.latencies_ms.append((time.perf_counter() - start) * 1000)
            if channel.updates == updates:
                learner.failures.append(f"moving {description!r} to {state} changed nothing")


# ----------------------------------------------------------------------------- the class


def run_class(n_learners=8, moves=3, timeout=900, cull_idle_timeout=None,
              cull_interval=None, out=print):
    """Run the whole load test; return ``(learners, orphans, leftover kernels)``."""
    if not 1 <= n_learners <= MAX_LEARNERS:
        raise ValueError(f"learners must be in [1, {MAX_LEARNERS}], got {n_learners}")
    deadline = time.monotonic() + timeout
    learners = [Learner(f"learner{i + 1:02d}") for i in range(n_learners)]
    with tempfile.TemporaryDirectory(prefix="glmteach-classroom-") as folder:
        hub = Hub(folder, cull_idle_timeout, cull_interval)
        orphans, leftover = [], []
        try:
            hub.start()
            out(f"hub: {hub.url} (JupyterHub + configurable-http-proxy, loopback only); "
                f"{n_learners} learners start together")
            barrier = threading.Barrier(n_learners)
            channels = [(None, None)] * n_learners

            def session(i):
                channels[i] = run_learner(hub, learners[i], barrier, moves, deadline)

            threads = [threading.Thread(target=session, args=(i,), daemon=True)
                       for i in range(n_learners)]
            for thread in threads:
                thread.start()
            while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
                hub.record()
                time.sleep(1)
            for learner, thread in zip(learners, threads):
                if thread.is_alive():
                    learner.failures.append("still running at the time limit")
            hub.record()
            measure_memory(hub, learners)
            for learner, (channel, session) in zip(learners, channels):
                if channel is not None:  # the learners close their tabs
                    close_page(hub, learner, channel, session)
            wait_for_kernels_to_go(hub, learners)
            still_up = hub.stop_servers([lr.name for lr in learners])
            leftover = [f"server of {u} still running" for u in still_up]
            hub.record()
        finally:
            orphans = hub.stop()
    return learners, orphans, leftover


def measure_memory(hub, learners):
    """Each learner's kernel (the app's) and server memory, all of them alive, and the CPU
    time both used (user + system, every thread)."""
    def cpu(proc):
        times = proc.cpu_times()
        return times.user + times.system

    for learner in learners:
        with contextlib.suppress(psutil.Error, AttributeError):
            kernels = hub.kernels_of(learner.name)
            server = hub.server_process(learner.name)
            if learner.kernel_id in kernels:
                kernel = kernels[learner.kernel_id]
                learner.kernel_uss, learner.kernel_pss = private_memory(kernel.pid)
                learner.cpu_s = cpu(kernel) + (cpu(server) if server is not None else 0.0)
            elif not learner.failures:
                learner.failures.append("its kernel is not running")
            if server is not None:
                learner.server_uss = private_memory(server.pid)[0]


def summary(learners, orphans, leftover):
    failures = sum(bool(lr.failures) for lr in learners) + len(orphans) + len(leftover)
    latencies = np.concatenate([lr.latencies_ms for lr in learners]
                               + [[]]).astype(float)
    memory = [lr.kernel_uss for lr in learners if np.isfinite(lr.kernel_uss)]
    p95 = np.percentile(latencies, 95) if latencies.size else float("nan")
    return failures, (max(memory) if memory else float("nan")), p95


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=8,
                        help=f"simulated learners, 1..{MAX_LEARNERS} (default: 8)")
    parser.add_argument("--moves", type=int, default=3,
                        help="moves of each slider per learner (default: 3)")
    parser.add_argument("--timeout", type=float, default=900,
                        help="seconds for the whole class (default: 900)")
    args = parser.parse_args(argv)
    print(f"load before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} CPUs)", flush=True)
    start = time.monotonic()
    learners, orphans, leftover = run_class(args.learners, args.moves, args.timeout,
                                            out=lambda s: print(s, flush=True))
    for learner in learners:
        print(learner.line())
    for line in orphans:
        print(f"orphan (killed): {line}")
    for line in leftover:
        print(f"left over: {line}")
    uss = [lr.kernel_uss for lr in learners if np.isfinite(lr.kernel_uss)]
    servers = [lr.server_uss for lr in learners if np.isfinite(lr.server_uss)]
    ready = [lr.ready_s for lr in learners if np.isfinite(lr.ready_s)]
    cpu = [lr.cpu_s for lr in learners if np.isfinite(lr.cpu_s)]
    print(f"total: {time.monotonic() - start:.0f} s; time to ready median "
          f"{np.median(ready) if ready else float('nan'):.0f} s, max "
          f"{max(ready) if ready else float('nan'):.0f} s; kernels' USS sum "
          f"{sum(uss):.0f} MB, servers' USS sum {sum(servers):.0f} MB; CPU per learner "
          f"median {np.median(cpu) if cpu else float('nan'):.0f} s; load after: "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    failures, worst, p95 = summary(learners, orphans, leftover)
    print(f"class: {len(learners)} learners, {failures} failures, max memory per learner "
          f"{worst:.0f} MB, p95 slider {p95:.0f} ms")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
